// What one worker process serving several models can take on: the memory check made before
// any model is loaded (node-llama-cpp's estimates of real GGUFs), and the gate that lets only
// so many models generate at once.
import type { Llama } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openLlama } from "../../src/engine/engine.js";
import { statSync } from "node:fs";
import { freemem } from "node:os";
import { DEFAULT_NEGATION } from "../../src/engine/defaults.js";
import { readGguf } from "../../src/engine/gguf.js";
import { extraWeightBytes } from "../../src/engine/negation.js";
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
      { id: "tiny", path: testModelPath(), extraBytes: 0 },
      { id: "spm", path: spm, extraBytes: 0 },
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

  it("counts what the negation loads besides the model: a second copy, a tied model's output layer", async () => {
    const size = statSync(spm).size;
    // Small enough for "auto" to choose the copy: a whole second model.
    expect(extraWeightBytes(spm, { ...DEFAULT_NEGATION, route: "auto" })).toBe(size);
    expect(extraWeightBytes(spm, { ...DEFAULT_NEGATION, route: "copy" })).toBe(size);
    expect(extraWeightBytes(spm, { ...DEFAULT_NEGATION, route: "adapter" })).toBe(0);
    expect(extraWeightBytes(spm, { ...DEFAULT_NEGATION, route: "auto", copyMaxBytes: size - 1 })).toBe(0);
    expect(extraWeightBytes(spm, { ...DEFAULT_NEGATION, route: "sampler" })).toBe(0);
    // A tied model: the adapter route loads its untied copy, bigger by the embeddings.
    const tied = await realVocabularyModel("llama-spm", { tied: true });
    const embeddings = readGguf(tied).tensors.get("token_embd.weight")!.span;
    expect(extraWeightBytes(tied, { ...DEFAULT_NEGATION, route: "adapter" })).toBe(embeddings);
    expect(extraWeightBytes(tied, { ...DEFAULT_NEGATION, route: "copy" })).toBe(
      embeddings + statSync(tied).size + embeddings,
    );
  });

  it("reads free RAM as at least something and at most the host's", () => {
    const free = freeRam();
    expect(free).toBeGreaterThan(0);
    expect(free).toBeLessThanOrEqual(freemem());
  });
});
