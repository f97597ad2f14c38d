/**
 * A set of strings that is most often one string: kept as is, a Set only from two
 * members on. Most sessions subscribe to one pattern, and many patterns (a user's own
 * channel) have one subscriber: a Set for each would cost more than the session itself.
 * Undefined is the empty set.
 */
export type Members = string | Set<string>

export function hasMember (members: Members | undefined, member: string): boolean {
  return typeof members === 'string' ? members === member : members?.has(member) === true
}

/** `members` with `member` added (not a member yet). */
export function withMember (members: Members | undefined, member: string): Members {
  if (members === undefined) return member
  if (typeof members === 'string') return new Set([members, member])
  return members.add(member)
}

/** `members` without `member`; undefined once none is left. */
export function withoutMember (members: Members, member: string): Members | undefined {
  if (typeof members === 'string') return members === member ? undefined : members
  members.delete(member)
  return members.size === 0 ? undefined : members
}

export function sizeOf (members: Members | undefined): number {
  return typeof members === 'string' ? 1 : members?.size ?? 0
}

export function membersOf (members: Members | undefined): Iterable<string> {
  return typeof members === 'string' ? [members] : members ?? []
}
