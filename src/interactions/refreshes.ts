// Follow-up edits that must end on the latest state: a vote button's count, a hall-of-fame
// post's count. Discord applies concurrent responses in no guaranteed order, so each key has
// at most one task in flight; asked again meanwhile, the task runs once more afterwards and
// reads the state then. A burst of clicks thus ends with one edit that saw the last change.

export class Refreshes {
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Map<string, () => Promise<void>>();
  private readonly bursts = new Map<string, { open: number; crowded: boolean }>();
  private holds = 0;
  private waiters: Array<() => void> = [];

  constructor(private readonly onError: (key: string, error: unknown) => void) {}

  /** Runs the task for this key now, or once after the one in flight (the latest task asked wins). */
  schedule(key: string, task: () => Promise<void>): void {
    if (this.running.has(key)) {
      this.again.set(key, task);
      return;
    }
    const run = (async () => {
      let next: (() => Promise<void>) | undefined = task;
      while (next) {
        this.again.delete(key);
        await next().catch((error: unknown) => this.onError(key, error));
        next = this.again.get(key);
      }
    })();
    this.running.set(key, run);
    void run.finally(() => {
      this.running.delete(key);
      this.wake();
    });
  }

  /**
   * Marks a change shown by its own response (a click's update) as in progress for this key.
   * The returned function ends it and says whether anything overlapped it (another change, or
   * a refresh in flight): only then can the responses have landed out of order, so only then
   * is a refresh needed.
   */
  begin(key: string): () => boolean {
    const burst = this.bursts.get(key) ?? { open: 0, crowded: false };
    burst.open++;
    if (burst.open > 1 || this.running.has(key)) burst.crowded = true;
    this.bursts.set(key, burst);
    return () => {
      if (this.running.has(key)) burst.crowded = true;
      if (--burst.open === 0) this.bursts.delete(key);
      return burst.crowded;
    };
  }

  /** Marks work that will schedule a refresh soon (a click being handled); call the result when done. */
  hold(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      this.wake();
    };
  }

  /** Resolves once nothing is held, running or due (for tests and shutdown). */
  async settled(): Promise<void> {
    while (this.holds > 0 || this.running.size > 0) await new Promise<void>(resolve => this.waiters.push(resolve));
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    waiters.forEach(resolve => resolve());
  }
}
