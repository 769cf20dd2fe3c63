// The GPU check's measurements (run by the folder `npm run gpu:stage` writes; see scripts/gpu-check/run.sh):
//
//   gpu-check models DIR VOCABULARY            random-weight models with that vocabulary into DIR
//   gpu-check measure DIR LLAMA_BENCH GPU      GPU: "cuda" or "false" (the CPU dry run); prints one table
//
// On a GPU: 1.1B (TinyLlama's shape) and 7B (LLaMA 2's) in F16; on the CPU (BELOWZERO_GPU_CHECK_CPU=1)
// two small shapes with the same vocabulary, at most 2 threads, fewer tokens. Per model: stock llama.cpp
// (llama-bench, same sources, same compiled ggml), belowzero at T = +1 and T = −1 on the sampler route
// (the patched addon: one context for both signs) and T = −1 on the adapter route, batch 1; aggregate
// tokens/s at 1/2/4/8/16 generations at once; first-token latency; the weirdness score's cost; memory.
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { formatBackend } from "../src/engine/backend.js";
import { Engine, type EngineOptions } from "../src/engine/engine.js";
import type { NegationRoute } from "../src/engine/negation.js";
import { writeLargeSyntheticModel, type ModelShape } from "../test/helpers/syntheticModel.js";

const ON_CPU = process.env.BELOWZERO_GPU_CHECK_CPU === "1";
const TOKENS = ON_CPU ? 32 : 128;
const ROUNDS = 3;
const CONCURRENCY = [1, 2, 4, 8, 16];
const PROMPT = "Once upon a time";
const CPU_THREADS = Math.min(2, availableParallelism());

const MODELS: Array<{ label: string; shape: ModelShape }> = ON_CPU
  ? [
      { label: "small-256", shape: { embeddingLength: 256, layers: 2, feedForwardLength: 512, heads: 8, kvHeads: 2 } },
      { label: "small-512", shape: { embeddingLength: 512, layers: 2, feedForwardLength: 1024, heads: 8, kvHeads: 8 } },
    ]
  : [
      { label: "1.1B", shape: { embeddingLength: 2048, layers: 22, feedForwardLength: 5632, heads: 32, kvHeads: 4 } },
      { label: "7B", shape: { embeddingLength: 4096, layers: 32, feedForwardLength: 11008, heads: 32, kvHeads: 32 } },
    ];
const modelFile = (folder: string, label: string) => join(folder, `${label}-F16.gguf`);

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const fixed = (value: number, digits = 0) => value.toFixed(digits);
const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;
const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

async function writeModels(folder: string, vocabulary: string): Promise<void> {
  mkdirSync(folder, { recursive: true });
  for (const { label, shape } of MODELS) {
    const started = performance.now();
    const path = modelFile(folder, label);
    await writeLargeSyntheticModel(path, shape, { tokenizer: vocabulary });
    const bytes = statSync(path).size;
    console.log(
      `wrote ${path}: ${bytes < 2 ** 30 ? `${fixed(bytes / 2 ** 20)} MiB` : gib(bytes)} in ${seconds(started)}`,
    );
  }
}

/** Stock llama.cpp's generation rate (llama-bench: tg of TOKENS tokens, ROUNDS repetitions, its mean). */
async function stockTokensPerSecond(llamaBench: string, model: string, gpu: boolean): Promise<number> {
  const { stdout } = await promisify(execFile)(
    llamaBench,
    [
      ...["-m", model, "-p", "0", "-n", String(TOKENS), "-r", String(ROUNDS), "-o", "json"],
      ...(gpu ? ["-ngl", "99"] : ["-ngl", "0", "-t", String(CPU_THREADS)]),
    ],
    { maxBuffer: 1 << 24 },
  );
  const runs = JSON.parse(stdout) as Array<{ n_gen: number; avg_ts: number }>;
  const generation = runs.find(run => run.n_gen > 0);
  if (!generation) throw new Error(`llama-bench printed no generation run: ${stdout.slice(0, 500)}`);
  return generation.avg_ts;
}

const cacheFolders: string[] = [];

function loadEngine(model: string, gpu: boolean, route: NegationRoute, concurrency: number): Promise<Engine> {
  const options: EngineOptions = {
    model,
    cacheDir: cacheFolders[cacheFolders.push(mkdtempSync(join(tmpdir(), "belowzero-gpu-check-"))) - 1]!, // the adapter
    gpu: gpu ? "cuda" : false,
    ...(gpu ? { gpuLayers: "max" as const } : { threads: CPU_THREADS }),
    contextSize: 256,
    concurrency,
    negation: { route },
  };
  return Engine.load(options);
}

/** One batch-1 generation: tokens/s and the time to its first piece of text. */
async function single(engine: Engine, temperature: number, seed: number): Promise<{ rate: number; firstMs: number }> {
  const started = performance.now();
  let firstMs = Number.NaN;
  const result = await engine.generate(
    { prompt: PROMPT, temperature, maxTokens: TOKENS, seed },
    {
      score: false,
      onText: () => {
        if (Number.isNaN(firstMs)) firstMs = performance.now() - started;
      },
    },
  );
  return { rate: result.tokensPerSecond, firstMs };
}

async function aggregate(engine: Engine, concurrent: number, round: number): Promise<number> {
  const started = performance.now();
  const results = await Promise.all(
    Array.from({ length: concurrent }, (_, i) =>
      engine.generate({ prompt: PROMPT, temperature: -1, maxTokens: TOKENS, seed: round * 16 + i }, { score: false }),
    ),
  );
  return results.reduce((sum, r) => sum + r.tokens.length, 0) / ((performance.now() - started) / 1000);
}

interface Row {
  model: string;
  stock: number;
  positive: number;
  negative: number;
  adapter: number;
  aggregate: number[];
  firstMs: number;
  weirdnessCost: number;
  memory: string;
}

async function measureModel(label: string, model: string, llamaBench: string, gpu: boolean): Promise<Row> {
  let started = performance.now();
  const stock = await stockTokensPerSecond(llamaBench, model, gpu);
  console.log(`${label}: stock llama-bench ${fixed(stock, 1)} tok/s (${seconds(started)})`);

  started = performance.now();
  const rssBefore = process.memoryUsage().rss;
  const engine = await loadEngine(model, gpu, "sampler", Math.max(...CONCURRENCY));
  const runs = { positive: [] as number[], negative: [] as number[], first: [] as number[] };
  const rates: number[][] = CONCURRENCY.map(() => []);
  let weirdnessCost: number;
  let memory: string;
  try {
    console.log(`${label}: ${formatBackend(await engine.backend())}; negation route ${engine.negation.route}`);
    for (const temperature of [1, -1]) await single(engine, temperature, 99); // warm
    await aggregate(engine, Math.max(...CONCURRENCY), 99); // every sequence exists before timing
    for (let round = 0; round < ROUNDS; round++) {
      for (const temperature of round % 2 ? [-1, 1] : [1, -1]) {
        const { rate, firstMs } = await single(engine, temperature, round);
        (temperature > 0 ? runs.positive : runs.negative).push(rate);
        if (temperature < 0) runs.first.push(firstMs);
      }
      for (const [i, n] of CONCURRENCY.entries()) rates[i]!.push(await aggregate(engine, n, round));
    }
    // The weirdness score: one batched evaluation of prompt and output after generating (see weirdness.ts).
    const generation: number[] = [];
    const scoring: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const generated = performance.now();
      const result = await engine.generate(
        { prompt: PROMPT, temperature: -1, maxTokens: TOKENS, seed: round },
        { score: false },
      );
      generation.push(performance.now() - generated);
      const scored = performance.now();
      await engine.surprisals(engine.promptTokens(PROMPT), result.tokens);
      scoring.push(performance.now() - scored);
    }
    weirdnessCost = median(scoring) / median(generation);
    if (gpu) {
      const vram = await engine.model.llama.getVramState();
      memory = `${gib(vram.used)} of ${gib(vram.total)} VRAM`;
    } else {
      memory = `${fixed((process.memoryUsage().rss - rssBefore) / 2 ** 20)} MiB RSS`;
    }
  } finally {
    await engine.dispose();
  }
  console.log(`${label}: sampler route measured (${seconds(started)})`);

  started = performance.now();
  const adapterEngine = await loadEngine(model, gpu, "adapter", 1);
  const adapter: number[] = [];
  try {
    await single(adapterEngine, -1, 99);
    for (let round = 0; round < ROUNDS; round++) adapter.push((await single(adapterEngine, -1, round)).rate);
  } finally {
    await adapterEngine.dispose();
  }
  console.log(`${label}: adapter route measured (${seconds(started)})`);

  return {
    model: label,
    stock,
    positive: median(runs.positive),
    negative: median(runs.negative),
    adapter: median(adapter),
    aggregate: rates.map(median),
    firstMs: median(runs.first),
    weirdnessCost,
    memory,
  };
}

async function measure(folder: string, llamaBench: string, gpu: boolean): Promise<boolean> {
  const rows: Row[] = [];
  let failed = false;
  for (const { label } of MODELS) {
    const path = modelFile(folder, label);
    try {
      if (!existsSync(path)) throw new Error(`${path} is missing: run the models step first`);
      rows.push(await measureModel(label, path, llamaBench, gpu));
    } catch (error) {
      failed = true;
      console.log(`FAILED  measuring ${label}: ${(error as Error).message}`);
    }
  }
  const where = gpu ? "GPU, all layers offloaded" : `CPU dry run, ${CPU_THREADS} threads`;
  console.log(`\nbelowzero GPU check (${where}; batch 1 unless said; ${TOKENS} tokens, medians of ${ROUNDS})\n`);
  const cells = [
    "model (F16, LLaMA 2 vocabulary)",
    "stock llama-bench tok/s",
    "T=+1",
    "T=−1 sampler",
    "T=−1 adapter",
    "T=−1 sampler ÷ stock",
    `aggregate tok/s at ${CONCURRENCY.join("/")} (T=−1)`,
    "first token (T=−1)",
    "weirdness cost",
    "memory used",
  ];
  console.log(`| ${cells.join(" | ")} |`);
  console.log(`| ${cells.map(() => "---").join(" | ")} |`);
  for (const row of rows) {
    console.log(
      `| ${[
        row.model,
        fixed(row.stock, 1),
        fixed(row.positive, 1),
        fixed(row.negative, 1),
        fixed(row.adapter, 1),
        `**${fixed(row.negative / row.stock, 2)}**`,
        row.aggregate.map(rate => fixed(rate)).join(" / "),
        `${fixed(row.firstMs, 1)} ms`,
        `${fixed(row.weirdnessCost * 100)}%`,
        row.memory,
      ].join(" | ")} |`,
    );
  }
  return !failed;
}

const [command, folder, argument, gpu] = process.argv.slice(2);
if (command === "models" && folder && argument) {
  await writeModels(folder, argument);
} else if (command === "measure" && folder && argument && gpu) {
  const ok = await measure(folder, argument, gpu === "cuda");
  for (const cache of cacheFolders) rmSync(cache, { recursive: true, force: true });
  process.exit(ok ? 0 : 1);
} else {
  console.error("usage: gpu-check models DIR VOCABULARY | gpu-check measure DIR LLAMA_BENCH cuda|false");
  process.exit(2);
}
