// What one worker process can serve at once: whether its models fit the memory before any is
// loaded, and how many of them generate at the same time so that llama.cpp's threads never
// outnumber the cores (its pool spin-waits, and a thread without a core stalls every step).
import { availableParallelism, freemem } from "node:os";
import { GgufInsights, readGgufFileInfo, type Llama } from "node-llama-cpp";

const MIB = 1024 * 1024;

export interface ModelNeeds {
  id: string;
  /** Bytes of RAM (on the CPU) or VRAM (on a GPU) the model and its contexts take, by node-llama-cpp's estimate. */
  bytes: number;
}

export class NotEnoughMemoryError extends Error {
  constructor(needs: ModelNeeds[], available: number, where: "RAM" | "VRAM") {
    const total = needs.reduce((sum, need) => sum + need.bytes, 0);
    const each = needs.map(need => `${need.id} ${Math.ceil(need.bytes / MIB)} MiB`).join(", ");
    super(
      `These models need about ${Math.ceil(total / MIB)} MiB of ${where} together (${each}), but ${Math.floor(available / MIB)} MiB is free: ` +
        `serve fewer or smaller models in this worker (MODELS), or give each its own worker.`,
    );
    this.name = "NotEnoughMemoryError";
  }
}

/**
 * What each model takes once loaded with its contexts: the weights, and `contexts` contexts
 * of `sequences` sequences each (two on the adapter and copy routes, one per sign; which
 * route a model gets is known only once it is loaded, so this counts two).
 */
export async function estimateNeeds(
  models: Array<{ id: string; path: string }>,
  llama: Llama,
  context: { size: number; sequences: number; contexts?: number },
): Promise<ModelNeeds[]> {
  const onGpu = llama.gpu !== false;
  return Promise.all(
    models.map(async ({ id, path }) => {
      const insights = await GgufInsights.from(await readGgufFileInfo(path), llama);
      // On a GPU every layer is counted there (node-llama-cpp keeps on the CPU what does not fit).
      const gpuLayers = onGpu ? insights.totalLayers : 0;
      const weights = await insights.estimateModelResourceRequirementsV2({ gpuLayers });
      const perContext = await insights.estimateContextResourceRequirementsV2({
        contextSize: Math.min(context.size, insights.trainContextSize ?? context.size),
        modelGpuLayers: gpuLayers,
        sequences: context.sequences,
      });
      const contexts = context.contexts ?? 2;
      const bytes = onGpu
        ? weights.gpuVram + contexts * perContext.gpuVram
        : weights.cpuRam + contexts * perContext.cpuRam;
      return { id, bytes };
    }),
  );
}

/** The memory free for models: RAM (the process's limit included, as in a container) or the GPU's. */
export async function freeMemory(llama: Llama): Promise<{ bytes: number; where: "RAM" | "VRAM" }> {
  if (llama.gpu !== false) return { bytes: (await llama.getVramState()).free, where: "VRAM" };
  return { bytes: process.availableMemory?.() ?? freemem(), where: "RAM" };
}

/** Refuses, before anything is loaded, models that together need more than is free. */
export function checkModelsFit(needs: ModelNeeds[], free: { bytes: number; where: "RAM" | "VRAM" }): void {
  const total = needs.reduce((sum, need) => sum + need.bytes, 0);
  if (total > free.bytes) throw new NotEnoughMemoryError(needs, free.bytes, free.where);
}

/**
 * How many models may generate at once: each running model keeps `threads` llama.cpp threads
 * busy per context (one on the sampler route, one per sign otherwise), and together they leave
 * a core to the event loop, as defaultThreads() does for one model. At least one.
 */
export function defaultModelsAtOnce(threads: number, contextsPerModel: number, cores = availableParallelism()): number {
  return Math.max(1, Math.floor((cores - 1) / (threads * contextsPerModel)));
}

/**
 * Lets at most `capacity` models generate at once. A job of a model that is already running
 * joins it (its generations share the model's contexts, and so its threads); otherwise it
 * waits for a model to finish. Waiting is first come, first served, and a running model takes
 * no new jobs past one that waits, so a busy model cannot starve the others.
 */
export class ModelGate {
  private readonly running = new Map<string, number>();
  private readonly waiting: Array<{ model: string; admit: () => void }> = [];

  constructor(readonly capacity: number) {}

  /** Runs `work` once its model may run; gives up waiting (rejects) if the signal fires first. */
  async run<T>(model: string, work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.enter(model, signal);
    try {
      return await work();
    } finally {
      this.leave(model);
    }
  }

  /** Models generating now, and jobs waiting for their turn (for tests and logs). */
  get state(): { running: string[]; waiting: number } {
    return { running: [...this.running.keys()], waiting: this.waiting.length };
  }

  private mayStart(model: string): boolean {
    return this.running.has(model) || this.running.size < this.capacity;
  }

  private enter(model: string, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.waiting.length === 0 && this.mayStart(model)) {
      this.running.set(model, (this.running.get(model) ?? 0) + 1);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        model,
        admit: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        const at = this.waiting.indexOf(waiter);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(signal!.reason instanceof Error ? signal!.reason : new Error(String(signal!.reason)));
        this.admitWaiting(); // the one that gave up may have held back those behind it
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiting.push(waiter);
    });
  }

  private leave(model: string): void {
    const count = (this.running.get(model) ?? 1) - 1;
    if (count > 0) this.running.set(model, count);
    else this.running.delete(model);
    this.admitWaiting();
  }

  /** Admits waiting jobs in order, stopping at the first that may not start yet. */
  private admitWaiting(): void {
    while (this.waiting.length > 0 && this.mayStart(this.waiting[0]!.model)) {
      const next = this.waiting.shift()!;
      this.running.set(next.model, (this.running.get(next.model) ?? 0) + 1);
      next.admit();
    }
  }
}
