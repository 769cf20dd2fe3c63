// One context per sign (one in all on the "sampler" route), one sequence per running generation. Sequences of one context are
// decoded by llama.cpp as one batch, which is what lets one GPU serve many requests at once.
// node-llama-cpp 3.22.1 guards llama_get_logits with a per-context sampling mutex; in 3.21.1
// sequences sharing a context raced on the shared logits buffer (7–10% of steps read another
// sequence's logits), so a test proves that concurrent output equals one-by-one output.
import type { LlamaContext, LlamaContextSequence } from "node-llama-cpp";

/** "negated" contexts compute −z instead of the model's logits z. */
export type ContextSign = "positive" | "negated";

export interface Slot {
  readonly sign: ContextSign;
  readonly sequence: LlamaContextSequence;
}

/** Makes the context of a sign, with room for the given number of sequences. */
export type ContextFactory = (sign: ContextSign, sequences: number) => Promise<LlamaContext>;

interface SignContext {
  context: Promise<LlamaContext>;
  idle: LlamaContextSequence[];
  busy: number;
  waiters: Array<() => void>;
}

export class ContextPool {
  private readonly contexts = new Map<ContextSign, SignContext>();
  private disposed = false;

  /** capacity: sequences per context, i.e. how many generations of one sign run at the same time. */
  constructor(
    private readonly createContext: ContextFactory,
    readonly capacity: number,
  ) {}

  /** Waits for a free sequence of the given sign; the sign's context is made on first use. */
  async acquire(sign: ContextSign, signal?: AbortSignal): Promise<Slot> {
    for (;;) {
      signal?.throwIfAborted();
      if (this.disposed) throw new Error("The engine has been disposed");
      const entry = this.entryFor(sign);
      const idle = entry.idle.pop();
      if (idle) {
        entry.busy++;
        return { sign, sequence: idle };
      }
      if (entry.busy < this.capacity) {
        entry.busy++;
        try {
          return { sign, sequence: (await entry.context).getSequence() };
        } catch (error) {
          entry.busy--;
          if (this.contexts.get(sign) === entry) this.contexts.delete(sign); // the next acquire tries again
          for (const wake of entry.waiters.splice(0)) wake();
          throw error;
        }
      }
      await this.nextRelease(entry, signal);
    }
  }

  /** Returns a slot after use; its history is cleared before it is handed out again. */
  async release(slot: Slot): Promise<void> {
    const entry = this.contexts.get(slot.sign);
    if (!entry) return;
    try {
      if (this.disposed) return;
      await slot.sequence.clearHistory();
      entry.idle.push(slot.sequence);
    } catch {
      await slot.sequence.dispose().catch(() => undefined); // dropped, not reused; its id is
    } finally {
      entry.busy--;
      entry.waiters.shift()?.();
    }
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    const entries = [...this.contexts.values()];
    this.contexts.clear();
    for (const entry of entries) for (const wake of entry.waiters.splice(0)) wake();
    await Promise.all(
      entries.map(entry =>
        entry.context.then(
          context => context.dispose(),
          () => undefined,
        ),
      ),
    );
  }

  private entryFor(sign: ContextSign): SignContext {
    let entry = this.contexts.get(sign);
    if (!entry) {
      const context = this.createContext(sign, this.capacity);
      context.catch(() => undefined); // reported to the acquire that awaits it
      entry = { context, idle: [], busy: 0, waiters: [] };
      this.contexts.set(sign, entry);
    }
    return entry;
  }

  private nextRelease(entry: SignContext, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const wake = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        entry.waiters.splice(entry.waiters.indexOf(wake), 1);
        reject(signal!.reason instanceof Error ? signal!.reason : new Error("aborted"));
      };
      entry.waiters.push(wake);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}
