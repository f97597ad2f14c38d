/** A value now, or a promise of it: hooks and engines may answer either way. */
export type MaybePromise<T> = T | Promise<T>
