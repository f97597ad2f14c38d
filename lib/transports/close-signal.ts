/**
 * A link's "the peer went away" signal: listeners are called once, and a listener
 * added after the fact is called at once (a connect whose processing outlived its
 * request must not stay held on it).
 */
export class CloseSignal {
  closed = false
  /** Made on first use: most HTTP requests are never held, so nobody listens. */
  #listeners: Array<() => void> | undefined

  add (listener: () => void): void {
    if (this.closed) listener()
    else (this.#listeners ??= []).push(listener)
  }

  remove (listener: () => void): void {
    const index = this.#listeners?.indexOf(listener) ?? -1
    if (index >= 0) this.#listeners!.splice(index, 1)
  }

  fire (): void {
    if (this.closed) return
    this.closed = true
    const listeners = this.#listeners ?? []
    this.#listeners = undefined
    for (const listener of listeners) listener()
  }
}
