// How many namespaces may be in the busy part of a pass at once (reading, planning, applying,
// recording): a thousand namespaces starting together would hold a thousand parsed sets and
// responses in memory at once, and V8 keeps the heap it grew to. A pass gives its slot back when
// it starts waiting for its rollout (a watch: cheap), so a long rollout never holds up the others.

export class Slots {
  private free: number;
  private readonly waiting: ((granted: boolean) => void)[] = [];

  constructor(size: number) {
    this.free = size;
  }

  /**
   * Resolves with a release function (idempotent) once a slot is free; undefined if `signal`
   * aborts first (the waiter leaves the queue holding nothing).
   */
  async take(signal?: AbortSignal): Promise<(() => void) | undefined> {
    if (signal?.aborted) return undefined;
    if (this.free > 0) this.free--;
    else if (!(await this.queue(signal))) return undefined;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next(true);
      else this.free++;
    };
  }

  private queue(signal: AbortSignal | undefined): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const granted = (ok: boolean) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(ok);
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(granted);
        if (i >= 0) this.waiting.splice(i, 1);
        resolve(false);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(granted);
    });
  }
}
