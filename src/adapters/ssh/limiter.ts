/** A counting semaphore with a FIFO queue; waiting can be aborted. */
export class Limiter {
  readonly #max: number;
  #active = 0;
  readonly #queue: { grant: () => void; signal: AbortSignal; onAbort: () => void }[] = [];

  constructor(max: number) {
    this.#max = max;
  }

  acquire(signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    const release = this.#releaser();
    if (this.#active < this.#max) {
      this.#active++;
      return Promise.resolve(release);
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        signal,
        grant: () => {
          signal.removeEventListener('abort', waiter.onAbort);
          resolve(release);
        },
        onAbort: () => {
          const i = this.#queue.indexOf(waiter);
          if (i !== -1) this.#queue.splice(i, 1);
          reject(signal.reason);
        },
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
      this.#queue.push(waiter);
    });
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#queue.shift();
      if (next === undefined) this.#active--;
      else next.grant(); // the slot passes on
    };
  }
}
