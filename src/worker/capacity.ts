// What one worker process can serve at once: whether its models fit the memory before any is
// loaded, and how many of them generate at the same time so that llama.cpp's threads never
// outnumber the cores (its pool spin-waits, and a thread without a core stalls every step).
import { readFileSync } from "node:fs";
import { availableParallelism, freemem } from "node:os";
import { GgufInsights, readGgufFileInfo, type Llama } from "node-llama-cpp";

const MIB = 1024 * 1024;

export interface ModelNeeds {
  id: string;
  /** Bytes of RAM the model and its contexts take, by node-llama-cpp's estimate. */
  ram: number;
  /** Bytes of VRAM (0 on the CPU). */
  vram: number;
}

export interface FreeMemory {
  ram: number;
  /** Null on the CPU. */
  vram: number | null;
}

/**
 * What each model takes once loaded with its contexts: the weights (with `extraBytes`, what
 * its negation loads besides, see planNegation) and `contexts` contexts of `sequences`
 * sequences. Its layers go where GPU_LAYERS puts them: all ("auto", "max") or that many.
 */
export async function estimateNeeds(
  models: Array<{ id: string; path: string; extraBytes: number; contexts: number }>,
  llama: Llama,
  context: { size: number; sequences: number; gpuLayers: "auto" | "max" | number },
): Promise<ModelNeeds[]> {
  return Promise.all(
    models.map(async ({ id, path, extraBytes, contexts }) => {
      const insights = await GgufInsights.from(await readGgufFileInfo(path), llama);
      const all = insights.totalLayers;
      const gpuLayers =
        llama.gpu === false ? 0 : typeof context.gpuLayers === "number" ? Math.min(context.gpuLayers, all) : all;
      const weights = await insights.estimateModelResourceRequirementsV2({ gpuLayers });
      const perContext = await insights.estimateContextResourceRequirementsV2({
        contextSize: Math.min(context.size, insights.trainContextSize ?? context.size),
        modelGpuLayers: gpuLayers,
        sequences: context.sequences,
      });
      // The extra weights are mostly an output layer: on the GPU when the layers are.
      const extraOnGpu = gpuLayers === all && gpuLayers > 0;
      return {
        id,
        ram: weights.cpuRam + contexts * perContext.cpuRam + (extraOnGpu ? 0 : extraBytes),
        vram: weights.gpuVram + contexts * perContext.gpuVram + (extraOnGpu ? extraBytes : 0),
      };
    }),
  );
}

/**
 * RAM free for models: the host's available memory (page cache counts as free), or less under
 * a memory limit on this process's cgroup or any above it (v2, or v1's memory controller),
 * where reclaimable file cache counts as free too: the file just downloaded or read must not
 * make its own model look too big.
 */
export function freeRam(cgroupRoot = "/sys/fs/cgroup", host = freemem(), ownCgroups = "/proc/self/cgroup"): number {
  let free = host;
  for (const layout of CGROUP_LAYOUTS)
    for (const dir of cgroupDirs(cgroupRoot, layout, ownCgroups)) {
      const limited = freeUnder(dir, layout);
      if (limited !== undefined) free = Math.min(free, limited);
    }
  return free;
}

interface CgroupLayout {
  /** Where the controller is mounted under the cgroup root. */
  mount: string;
  /** How /proc/self/cgroup names this hierarchy's line. */
  line: RegExp;
  limit: string;
  usage: string;
  inactive: string;
}

const CGROUP_LAYOUTS: CgroupLayout[] = [
  { mount: "", line: /^0::(.*)$/m, limit: "memory.max", usage: "memory.current", inactive: "inactive_file" },
  {
    mount: "/memory",
    line: /^\d+:(?:[^:]*,)?memory(?:,[^:]*)?:(.*)$/m,
    limit: "memory.limit_in_bytes",
    usage: "memory.usage_in_bytes",
    inactive: "total_inactive_file",
  },
];

/** This process's cgroup directory in the layout and each one above it, up to the mount itself. */
function cgroupDirs(root: string, layout: CgroupLayout, ownCgroups: string): string[] {
  let path = "/";
  try {
    path = layout.line.exec(readFileSync(ownCgroups, "utf8"))?.[1] ?? "/";
  } catch {
    // no /proc: only the mount's own files
  }
  const dirs: string[] = [];
  for (let at = path; at !== "/" && at !== ""; at = at.slice(0, at.lastIndexOf("/")))
    dirs.push(`${root}${layout.mount}${at}`);
  return [...dirs, `${root}${layout.mount}`];
}

/** Free under this directory's limit; undefined without one (or without the files). */
function freeUnder(dir: string, layout: CgroupLayout): number | undefined {
  let limit: number, usage: number, stat: string;
  try {
    limit = Number(readFileSync(`${dir}/${layout.limit}`, "utf8").trim()); // "max" (v2 unlimited): NaN
    usage = Number(readFileSync(`${dir}/${layout.usage}`, "utf8").trim());
    stat = readFileSync(`${dir}/memory.stat`, "utf8");
  } catch {
    return undefined;
  }
  // v1 says "unlimited" with a number near 2^63.
  if (!Number.isFinite(limit) || !Number.isFinite(usage) || limit <= 0 || limit >= 2 ** 62) return undefined;
  const reclaimable = Number(new RegExp(`^${layout.inactive} (\\d+)$`, "m").exec(stat)?.[1] ?? 0);
  return Math.max(0, limit - (usage - reclaimable));
}

export async function freeMemory(llama: Llama): Promise<FreeMemory> {
  return { ram: freeRam(), vram: llama.gpu === false ? null : (await llama.getVramState()).free };
}

/** What does not fit: RAM (the worker refuses to start) and VRAM (it warns), as sentences. */
export function memoryShortfalls(needs: ModelNeeds[], free: FreeMemory): { ram?: string; vram?: string } {
  const shortfall = (where: "RAM" | "VRAM", of: (need: ModelNeeds) => number, available: number) => {
    const total = needs.reduce((sum, need) => sum + of(need), 0);
    if (total <= available) return undefined;
    const each = needs.map(need => `${need.id} ${Math.ceil(of(need) / MIB)} MiB`).join(", ");
    return (
      `These models need about ${Math.ceil(total / MIB)} MiB of ${where} together (${each}), but ${Math.floor(available / MIB)} MiB is free: ` +
      `serve fewer or smaller models in this worker (MODELS), or give each its own worker.`
    );
  };
  const ram = shortfall("RAM", need => need.ram, free.ram);
  const vram = free.vram === null ? undefined : shortfall("VRAM", need => need.vram, free.vram);
  return { ...(ram && { ram }), ...(vram && { vram }) };
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

  /** Whether a job of this model would wait now, rather than start. */
  wouldWait(model: string): boolean {
    return this.waiting.length > 0 || !this.mayStart(model);
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
