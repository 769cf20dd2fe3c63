// One sequence per context. Several sequences sharing a context race on llama.cpp's
// shared logits buffer in node-llama-cpp 3.21.1 (a sequence can sample another's logits),
// so each running generation gets a context of its own; contexts are reused, not recreated.
import type { LlamaContext, LlamaContextSequence } from "node-llama-cpp";

/** "negated" contexts compute −z instead of the model's logits z. */
export type Sign = "positive" | "negated";

export interface Slot {
  readonly sign: Sign;
  readonly context: LlamaContext;
  readonly sequence: LlamaContextSequence;
}

export type ContextFactory = (sign: Sign) => Promise<LlamaContext>;

export class ContextPool {
  private readonly idle: Slot[] = [];
  private live = 0;
  private readonly waiters: Array<() => void> = [];
  private disposed = false;

  /** capacity: most contexts alive at once, i.e. how many generations run at the same time. */
  constructor(
    private readonly createContext: ContextFactory,
    private readonly capacity: number,
  ) {}

  /** Waits for a free slot of the given sign, creating or recycling a context as needed. */
  async acquire(sign: Sign, signal?: AbortSignal): Promise<Slot> {
    for (;;) {
      signal?.throwIfAborted();
      if (this.disposed) throw new Error("The engine has been disposed");
      const index = this.idle.findIndex(slot => slot.sign === sign);
      if (index >= 0) return this.idle.splice(index, 1)[0]!;
      if (this.live < this.capacity) return this.create(sign);
      const other = this.idle.shift();
      if (other) {
        // Every idle context has the other sign: swap one for a context of this sign. The
        // slot stays counted as live throughout, so a concurrent acquire cannot overshoot.
        await other.context.dispose();
        this.live--;
        return this.create(sign);
      }
      await this.nextRelease(signal);
    }
  }

  /** Returns a slot after use; its history is cleared before it is handed out again. */
  async release(slot: Slot): Promise<void> {
    if (this.disposed) {
      await slot.context.dispose();
      return;
    }
    try {
      await slot.sequence.clearHistory();
      this.idle.push(slot);
    } catch {
      this.live--; // a context that cannot be cleared is dropped, not reused
      await slot.context.dispose().catch(() => undefined);
    }
    this.waiters.shift()?.();
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    const slots = this.idle.splice(0);
    await Promise.all(slots.map(slot => slot.context.dispose()));
    for (const wake of this.waiters.splice(0)) wake();
  }

  private async create(sign: Sign): Promise<Slot> {
    this.live++;
    try {
      const context = await this.createContext(sign);
      return { sign, context, sequence: context.getSequence() };
    } catch (error) {
      this.live--;
      this.waiters.shift()?.();
      throw error;
    }
  }

  private nextRelease(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const wake = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        this.waiters.splice(this.waiters.indexOf(wake), 1);
        reject(signal!.reason instanceof Error ? signal!.reason : new Error("aborted"));
      };
      this.waiters.push(wake);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}
