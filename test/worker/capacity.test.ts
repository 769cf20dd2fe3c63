// What one worker process serving several models can take on: the memory check made before
// any model is loaded (node-llama-cpp's estimates of real GGUFs), and the gate that lets only
// so many models generate at once.
import type { Llama } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openLlama } from "../../src/engine/engine.js";
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { freemem, tmpdir } from "node:os";
import { DEFAULT_NEGATION } from "../../src/engine/defaults.js";
import { readGguf, WRITE_ALIGNMENT } from "../../src/engine/gguf.js";
import { planNegation, prepareNegation, type NegationRoute } from "../../src/engine/negation.js";
import { defaultModelsAtOnce, estimateNeeds, freeRam, memoryShortfalls, ModelGate } from "../../src/worker/capacity.js";
import { testModelPath } from "../helpers/engine.js";
import { realVocabularyModel } from "../helpers/realVocabulary.js";

/** A job that runs until released, recording when it started. */
function heldJob(gate: ModelGate, model: string, started: string[], name = model, signal?: AbortSignal) {
  let release!: () => void;
  const done = new Promise<void>(resolve => (release = resolve));
  const result = gate.run(
    model,
    async () => {
      started.push(name);
      await done;
      return name;
    },
    signal,
  );
  return { release, result };
}

const settle = () => new Promise(resolve => setTimeout(resolve, 10));

describe("ModelGate", () => {
  it("lets a running model take more jobs, and makes another model wait its turn", async () => {
    const gate = new ModelGate(1);
    const started: string[] = [];
    const a1 = heldJob(gate, "a", started, "a1");
    const a2 = heldJob(gate, "a", started, "a2");
    const b1 = heldJob(gate, "b", started, "b1");
    await settle();
    expect(started).toEqual(["a1", "a2"]);
    expect(gate.state).toEqual({ running: ["a"], waiting: 1 });
    // Behind a waiting model, a running one takes nothing new: b cannot starve.
    const a3 = heldJob(gate, "a", started, "a3");
    a1.release();
    await settle();
    expect(started).toEqual(["a1", "a2"]);
    a2.release();
    await settle();
    expect(started).toEqual(["a1", "a2", "b1"]);
    expect(gate.state).toEqual({ running: ["b"], waiting: 1 });
    b1.release();
    await settle();
    expect(started).toEqual(["a1", "a2", "b1", "a3"]);
    a3.release();
    expect(await Promise.all([a1.result, a2.result, b1.result, a3.result])).toEqual(["a1", "a2", "b1", "a3"]);
    expect(gate.state).toEqual({ running: [], waiting: 0 });
  });

  it("runs up to its capacity of models together", async () => {
    const gate = new ModelGate(2);
    const started: string[] = [];
    const jobs = ["a", "b", "c"].map(model => heldJob(gate, model, started));
    await settle();
    expect(started).toEqual(["a", "b"]);
    jobs[1]!.release();
    await settle();
    expect(started).toEqual(["a", "b", "c"]);
    for (const job of jobs) job.release();
    await Promise.all(jobs.map(job => job.result));
  });

  it("frees its place when the work fails, and stops waiting when the signal fires", async () => {
    const gate = new ModelGate(1);
    await expect(gate.run("a", () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    const started: string[] = [];
    const a = heldJob(gate, "a", started);
    const stop = new AbortController();
    const b = heldJob(gate, "b", started, "b", stop.signal);
    const c = heldJob(gate, "a", started, "a-after-b");
    await settle();
    expect(gate.state.waiting).toBe(2);
    // b gives up (shutdown): the job behind it, of the running model, goes at once.
    stop.abort(new Error("shutting down"));
    await expect(b.result).rejects.toThrow("shutting down");
    await settle();
    expect(started).toEqual(["a", "a-after-b"]);
    a.release();
    c.release();
    await Promise.all([a.result, c.result]);
    // An aborted signal is refused before it waits at all.
    await expect(gate.run("z", () => Promise.resolve("ran"), stop.signal)).rejects.toThrow("shutting down");
    expect(gate.state).toEqual({ running: [], waiting: 0 });
  });

  it("defaults to as many models as the cores hold, leaving one core free, at least one", () => {
    expect(defaultModelsAtOnce(1, 1, 2)).toBe(1);
    expect(defaultModelsAtOnce(1, 2, 2)).toBe(1);
    expect(defaultModelsAtOnce(1, 1, 8)).toBe(7);
    expect(defaultModelsAtOnce(1, 2, 8)).toBe(3);
    expect(defaultModelsAtOnce(7, 1, 16)).toBe(2);
    expect(defaultModelsAtOnce(7, 2, 16)).toBe(1);
  });
});

describe("memory for several models", () => {
  let llama: Llama;
  let spm: string;
  beforeAll(async () => {
    llama = await openLlama(false);
    spm = await realVocabularyModel("llama-spm");
  });
  afterAll(async () => {
    await llama?.dispose();
  });

  it("estimates each model with its contexts, and refuses those that do not fit together", async () => {
    const models = [
      { id: "tiny", path: testModelPath(), extraBytes: 0, contexts: 2 },
      { id: "spm", path: spm, extraBytes: 0, contexts: 2 },
    ];
    const settings = { size: 256, sequences: 1, gpuLayers: "auto" as const };
    const needs = await estimateNeeds(models, llama, settings);
    expect(needs.map(need => need.id)).toEqual(["tiny", "spm"]);
    // On the CPU everything is RAM; the 32,000-token output layer alone outweighs the 260K model.
    expect(needs.map(need => need.vram)).toEqual([0, 0]);
    expect(needs[1]!.ram).toBeGreaterThan(needs[0]!.ram);
    expect(needs[0]!.ram).toBeGreaterThan(0);
    // More sequences (WORKER_CONCURRENCY) and a longer context need more; so does the negation's extra.
    const more = await estimateNeeds(models, llama, { ...settings, size: 512, sequences: 4 });
    for (const [i, need] of more.entries()) expect(need.ram).toBeGreaterThan(needs[i]!.ram);
    const copied = await estimateNeeds([{ ...models[1]!, extraBytes: 5 * 2 ** 20 }], llama, settings);
    expect(copied[0]!.ram).toBe(needs[1]!.ram + 5 * 2 ** 20);
    // The sampler route's one context costs less than a context per sign.
    const [oneContext] = await estimateNeeds([{ ...models[1]!, contexts: 1 }], llama, settings);
    expect(oneContext!.ram).toBeLessThan(needs[1]!.ram);
    expect(oneContext!.ram).toBeGreaterThan(0);

    const total = needs[0]!.ram + needs[1]!.ram;
    expect(memoryShortfalls(needs, { ram: total, vram: null })).toEqual({});
    const { ram, vram } = memoryShortfalls(needs, { ram: total - 1, vram: null });
    expect(vram).toBeUndefined();
    expect(ram).toMatch(
      /^These models need about \d+ MiB of RAM together \(tiny \d+ MiB, spm \d+ MiB\), but \d+ MiB is free: serve fewer or smaller models in this worker \(MODELS\), or give each its own worker\.$/,
    );
    // VRAM is only compared where there is a GPU.
    expect(memoryShortfalls(needs, { ram: total, vram: 0 })).toEqual({});
    expect(memoryShortfalls([{ id: "g", ram: 0, vram: 10 }], { ram: 0, vram: 9 }).vram).toMatch(
      /of VRAM together \(g 1 MiB\)/,
    );
  });

  it("plans what each route loads besides the model, as the files the engine writes show", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bz-plan-"));
    const tensorBytes = (path: string) => [...readGguf(path).tensors.values()].reduce((sum, t) => sum + t.span, 0);
    try {
      for (const tied of [false, true]) {
        const model = await realVocabularyModel("llama-spm", { tied });
        const size = statSync(model).size;
        const options = (route: NegationRoute, copyMaxBytes = DEFAULT_NEGATION.copyMaxBytes) => ({
          route,
          copyMaxBytes,
        });
        // A patched addon: "auto" is the sampler route, one context and nothing besides.
        expect(planNegation(model, options("auto"), true)).toEqual({ route: "sampler", extraBytes: 0, contexts: 1 });
        expect(planNegation(model, options("sampler"))).toEqual({ route: "sampler", extraBytes: 0, contexts: 1 });

        // The adapter: what the engine loads instead of the model (its untied copy) and the adapter.
        const adapter = await prepareNegation(model, dir, options("adapter"));
        if (adapter.route !== "adapter") throw new Error("expected the adapter route");
        const untiedExtra = tensorBytes(adapter.modelPath) - tensorBytes(model);
        expect(untiedExtra).toBe(tied ? readGguf(model).tensors.get("token_embd.weight")!.span : 0);
        const adapterPlan = planNegation(model, options("adapter"));
        expect(adapterPlan).toMatchObject({ route: "adapter", contexts: 2 });
        expect(Math.abs(adapterPlan.extraBytes - untiedExtra - tensorBytes(adapter.adapterPath))).toBeLessThan(
          2 * WRITE_ALIGNMENT,
        );
        // "auto" takes the adapter above copyMaxBytes, without the patch.
        expect(planNegation(model, options("auto", size + untiedExtra - 1))).toEqual(adapterPlan);

        // The copy: a whole second (untied) model, which "auto" chooses for a model this small.
        const copy = await prepareNegation(model, dir, options("copy"));
        if (copy.route !== "copy") throw new Error("expected the copy route");
        const copyPlan = planNegation(model, options("auto"));
        expect(copyPlan).toMatchObject({ route: "copy", contexts: 2 });
        expect(planNegation(model, options("copy"))).toEqual(copyPlan);
        const loaded = untiedExtra + statSync(copy.negatedModelPath).size;
        expect(Math.abs(copyPlan.extraBytes - loaded)).toBeLessThan(4096); // the copy's own metadata
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads free RAM as at least something and at most the host's", () => {
    const free = freeRam();
    expect(free).toBeGreaterThan(0);
    expect(free).toBeLessThanOrEqual(freemem());
  });

  it("reads a container's limit from cgroup v2 and v1 files, with reclaimable file cache as free", () => {
    const root = mkdtempSync(join(tmpdir(), "bz-cgroup-"));
    const own = join(tmpdir(), `bz-own-cgroup-${process.pid}`);
    const write = (files: Record<string, string>, ownCgroups = "0::/\n4:memory:/\n") => {
      rmSync(root, { recursive: true, force: true });
      for (const [name, text] of Object.entries(files)) {
        mkdirSync(dirname(join(root, name)), { recursive: true });
        writeFileSync(join(root, name), text);
      }
      writeFileSync(own, ownCgroups);
    };
    const mib = 2 ** 20;
    const host = 4096 * mib;
    const free = (hostFree = host) => freeRam(root, hostFree, own);
    try {
      write({
        "memory.max": `${1000 * mib}\n`,
        "memory.current": `${600 * mib}\n`,
        "memory.stat": `anon 1\ninactive_file ${100 * mib}\nactive_file 5\n`,
      });
      expect(free()).toBe(500 * mib);
      write({ "memory.max": "max\n", "memory.current": "1\n", "memory.stat": "inactive_file 0\n" });
      expect(free()).toBe(host);
      // v2 where the limit is on a cgroup above this process's (a systemd slice, --cgroupns=host).
      write(
        {
          "memory.max": "max\n",
          "memory.current": "1\n",
          "memory.stat": "",
          "a/memory.max": `${300 * mib}\n`,
          "a/memory.current": `${100 * mib}\n`,
          "a/memory.stat": "inactive_file 0\n",
          "a/b/memory.max": "max\n",
          "a/b/memory.current": `${50 * mib}\n`,
          "a/b/memory.stat": "inactive_file 0\n",
        },
        "0::/a/b\n",
      );
      expect(free()).toBe(200 * mib);
      write({
        "memory/memory.limit_in_bytes": `${800 * mib}\n`,
        "memory/memory.usage_in_bytes": `${700 * mib}\n`,
        "memory/memory.stat": `cache 9\ninactive_file 1\ntotal_inactive_file ${50 * mib}\n`,
      });
      expect(free()).toBe(150 * mib);
      expect(free(100 * mib)).toBe(100 * mib); // the host has less free than the limit leaves
      // v1 without a limit says so with a huge number; its own cgroup, named in /proc, may have one.
      const unlimited = {
        "memory/memory.limit_in_bytes": "9223372036854771712\n",
        "memory/memory.usage_in_bytes": `${700 * mib}\n`,
        "memory/memory.stat": "total_inactive_file 0\n",
      };
      write(unlimited);
      expect(free()).toBe(host);
      write(
        {
          ...unlimited,
          "memory/job/memory.limit_in_bytes": `${400 * mib}\n`,
          "memory/job/memory.usage_in_bytes": `${100 * mib}\n`,
          "memory/job/memory.stat": `total_inactive_file ${10 * mib}\n`,
        },
        "5:cpu,cpuacct:/\n4:memory:/job\n0::/\n",
      );
      expect(free()).toBe(310 * mib);
      // Used past the limit (file cache not yet reclaimed): nothing is free, never negative.
      write({ "memory.max": "10\n", "memory.current": "20\n", "memory.stat": "" });
      expect(free()).toBe(0);
      // A path /proc names that this mount does not show (another namespace): the mount's own files.
      write({ "memory.max": `${64 * mib}\n`, "memory.current": "0\n", "memory.stat": "" }, "0::/elsewhere/x\n");
      expect(free()).toBe(64 * mib);
      write({});
      expect(free()).toBe(host);
    } finally {
      rmSync(root, { recursive: true, force: true });
      rmSync(own, { force: true });
    }
  });
});
