/**
 * A link's "the peer went away" signal: listeners are called once, and a listener
 * added after the fact is called at once (a connect whose processing outlived its
 * request must not stay held on it).
 */
export class CloseSignal {
  closed = false
  #listeners: Array<() => void> = []

  add (listener: () => void): void {
    if (this.closed) listener()
    else this.#listeners.push(listener)
  }

  remove (listener: () => void): void {
    const index = this.#listeners.indexOf(listener)
    if (index >= 0) this.#listeners.splice(index, 1)
  }

  fire (): void {
    if (this.closed) return
    this.closed = true
    for (const listener of this.#listeners.splice(0)) listener()
  }
}
