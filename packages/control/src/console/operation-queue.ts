/**
 * Runs the console's operations one at a time, in call order: `acquire()`
 * resolves with the release function once every earlier holder released.
 * A caller whose signal aborts while it waits leaves the line (its turn
 * passes at once) and `acquire()` rejects with `signal.reason`.
 */
export class OperationQueue {
  #tail: Promise<void> = Promise.resolve();

  acquire(signal?: AbortSignal): Promise<() => void> {
    let release!: () => void;
    const done = new Promise<void>((resolve) => {
      release = resolve;
    });
    const previous = this.#tail;
    this.#tail = done;
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(signal?.reason);
      if (signal?.aborted) onAbort();
      else signal?.addEventListener("abort", onAbort, { once: true });
      void previous.then(() => {
        signal?.removeEventListener("abort", onAbort);
        if (signal?.aborted) release();
        else resolve(release);
      });
    });
  }
}
