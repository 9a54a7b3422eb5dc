// How many namespaces may be in the busy part of a pass at once (reading, planning, applying,
// recording): a thousand namespaces starting together would hold a thousand parsed sets and
// responses in memory at once, and V8 keeps the heap it grew to. A pass gives its slot back when
// it starts waiting for its rollout (a watch: cheap), so a long rollout never holds up the others.

export class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(size: number) {
    this.free = size;
  }

  /** Resolves with a release function (idempotent) once a slot is free. */
  async take(): Promise<() => void> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    };
  }
}
