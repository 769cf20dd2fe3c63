// Side-by-side throughput, measured in one run on the same models (CPU). Rounds are
// interleaved and the median kept, so a noisy neighbour hurts every side alike.
//
//   sampler    (also with routes) on the patched source build: T = −1 ÷ T = +1 in the sampler itself
//              beside the adapter route, and the memory each engine adds
//   routes     T = +1 (stock), T = −1 through the adapter and the copy, the readout oracle
//   stock      belowzero against stock llama.cpp (llama-completion, same llama.cpp commit, built
//              by `npm run bench:build-stock` into a cache outside the repository)
//   threads    default settings beside a busy-looping process, against every thread setting
//   batch      aggregate tokens/s with 1, 2, 4 and 8 generations at once (sequences of one context)
//   weirdness  the cost of the weirdness score at 64 tokens, and the sweep chart's render time
//   schedules  a temperature per token (one sign, and crossing zero) against one temperature,
//              and the token chart's render time
//   real       (opt-in: BENCH_SECTIONS=real) random-weight LLaMAs at ~160M and 1.1B parameters with
//              LLaMA 2's 32,000-token vocabulary, Q8_0 and Q4_0, 1 and 2 threads: stock llama.cpp
//              against belowzero T = ±1 (tok/s, first-token latency) and the weirdness score's cost.
//              The models (0.2–1.2 GB) are written once into the bench cache, keyed by shape and type.
//              BENCH_REAL_TOKENS (64), BENCH_REAL_MODELS (160M,1.1B), BENCH_REAL_TYPES (Q8_0,Q4_0),
//              BENCH_REAL_THREADS (1,2); on a backend with native steps, T = −1 through node-llama-cpp's
//              own loop too. BENCH_REAL_PROFILE=1 adds the profile below for each of those rows.
//   profile    where a step's time goes (node-llama-cpp's native jobs against stock llama.cpp's
//              own split), and the weirdness score's
//
//   npm run bench                 (BENCH_SECTIONS=stock,threads…, BENCH_TOKENS, BENCH_ROUNDS)
import { execFile, spawn } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { availableParallelism, homedir, loadavg } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { renderSweepChart } from "../src/chart/sweepChart.js";
import { renderTokenChart } from "../src/chart/tokenChart.js";
import { tokenPieces } from "../src/engine/detokenizer.js";
import { parseSchedule } from "../src/engine/schedule.js";
import { formatBackend } from "../src/engine/backend.js";
import { defaultThreads, Engine, type EngineOptions } from "../src/engine/engine.js";
import type { ContextSign } from "../src/engine/contextPool.js";
import type { LlamaContext } from "node-llama-cpp";
import { describeNegation, type NegationRoute } from "../src/engine/negation.js";
import { DEFAULT_TOKEN_POLICY } from "../src/engine/defaults.js";
import { oracleGenerate } from "../test/helpers/oracle.js";
import { DEFAULT_SWEEP_TEMPERATURES } from "../src/engine/sweep.js";
import { removeTemporaryFolders, temporaryFolder, testModelPath } from "../test/helpers/engine.js";
import {
  writeRealSizeModel,
  writeSyntheticModel,
  type ModelShape,
  type RealSizeType,
} from "../test/helpers/syntheticModel.js";
import { realVocabularyModel, vocabularyFile, type RealVocabulary } from "../test/helpers/realVocabulary.js";
import { excludedTokens, exclusionBias, tokenTexts } from "../src/engine/policy.js";

const TOKENS = Number(process.env.BENCH_TOKENS ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECTIONS = new Set(
  (process.env.BENCH_SECTIONS ?? "routes,stock,threads,batch,weirdness,schedules,vocab,profile").split(","),
);
const PROMPT = "Once upon a time";
const CORES = availableParallelism();
const STOCK_CACHE =
  process.env.BELOWZERO_BENCH_CACHE ?? join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "belowzero-bench");
const STOCK_BINARY = join(STOCK_CACHE, "llama-completion");

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const fixed = (value: number, digits = 0) => value.toFixed(digits);
const row = (cells: Array<string | number>) => console.log(`| ${cells.join(" | ")} |`);
const header = (cells: string[]) => {
  row(cells);
  row(cells.map(() => "---"));
};

function loadEngine(model: string, options: Partial<EngineOptions> = {}): Promise<Engine> {
  return Engine.load({
    model,
    cacheDir: temporaryFolder("belowzero-bench-"),
    gpu: false,
    threads: 1,
    contextSize: 512,
    ...options,
  });
}

async function tokensPerSecond(
  engine: Engine,
  temperature: number,
  seed: number,
  tokens = TOKENS,
  signal?: AbortSignal,
): Promise<number> {
  const result = await engine.generate(
    { prompt: PROMPT, temperature, maxTokens: tokens, seed },
    { score: false, signal },
  );
  return result.tokensPerSecond;
}

async function oracleTokensPerSecond(engine: Engine, temperature: number, seed: number): Promise<number> {
  const context = await engine.model.createContext({ contextSize: engine.contextSize, threads: 1 });
  try {
    const tokens = Math.min(TOKENS, 50); // the oracle is slow; its rate does not depend on length
    const started = performance.now();
    const generated = await oracleGenerate(context.getSequence(), engine.promptTokens(PROMPT), {
      temperature,
      maxTokens: tokens,
      policy: DEFAULT_TOKEN_POLICY,
      seed,
    });
    return generated.length / ((performance.now() - started) / 1000);
  } finally {
    await context.dispose();
  }
}

/** Resident memory an engine adds once both signs have run (RSS before load vs after; engines one after another). */
async function loadAndMeasure(modelPath: string, route: NegationRoute): Promise<{ engine: Engine; rssMiB: number }> {
  const before = process.memoryUsage().rss;
  const engine = await loadEngine(modelPath, { negation: { route } });
  for (const t of [1, -1]) await tokensPerSecond(engine, t, 0, 8); // every context exists, warm
  return { engine, rssMiB: (process.memoryUsage().rss - before) / 2 ** 20 };
}

/** The in-sampler route (patched source build) against the adapter route: T = −1 ÷ T = +1 on each, and memory. */
async function inSampler(label: string, modelPath: string): Promise<void> {
  const runs = { samplerPositive: [] as number[], samplerNegative: [] as number[] };
  const adapterRuns = { positive: [] as number[], negative: [] as number[] };
  const sampler = await loadAndMeasure(modelPath, "sampler");
  let adapter: Awaited<ReturnType<typeof loadAndMeasure>> | undefined;
  try {
    adapter = await loadAndMeasure(modelPath, "adapter");
    const sides = [
      [sampler.engine, 1, runs.samplerPositive],
      [sampler.engine, -1, runs.samplerNegative],
      [adapter.engine, 1, adapterRuns.positive],
      [adapter.engine, -1, adapterRuns.negative],
    ] as const;
    for (let round = 0; round < ROUNDS; round++) {
      // Every other round in reverse, so that no side always runs first after the others.
      for (const [engine, temperature, into] of round % 2 ? [...sides].reverse() : sides)
        into.push(await tokensPerSecond(engine, temperature, round));
    }
    const [sp, sn, ap, an] = [
      runs.samplerPositive,
      runs.samplerNegative,
      adapterRuns.positive,
      adapterRuns.negative,
    ].map(median) as [number, number, number, number];
    row([
      label,
      fixed(sp),
      fixed(sn),
      `**${fixed(sn / sp, 2)}**`,
      fixed(ap),
      fixed(an),
      `**${fixed(an / ap, 2)}**`,
      `${fixed(sampler.rssMiB)} / ${fixed(adapter.rssMiB)}`,
    ]);
  } finally {
    await sampler.engine.dispose();
    await adapter?.engine.dispose();
  }
}

async function routes(label: string, modelPath: string): Promise<void> {
  const adapter = await loadEngine(modelPath, { negation: { route: "adapter" as NegationRoute } });
  const copy = await loadEngine(modelPath, { negation: { route: "copy" as NegationRoute } });
  try {
    const runs = { positive: [] as number[], adapter: [] as number[], copyPositive: [] as number[] };
    const more = { copy: [] as number[], oracle: [] as number[] };
    for (const engine of [adapter, copy]) for (const t of [1, -1]) await tokensPerSecond(engine, t, 0, 8); // warm-up
    for (let round = 0; round < ROUNDS; round++) {
      runs.positive.push(await tokensPerSecond(adapter, 1, round));
      runs.adapter.push(await tokensPerSecond(adapter, -1, round));
      runs.copyPositive.push(await tokensPerSecond(copy, 1, round));
      more.copy.push(await tokensPerSecond(copy, -1, round));
      more.oracle.push(await oracleTokensPerSecond(adapter, -1, round));
    }
    const [positive, viaAdapter, copyPositive] = [runs.positive, runs.adapter, runs.copyPositive].map(median) as [
      number,
      number,
      number,
    ];
    const [viaCopy, oracle] = [median(more.copy), median(more.oracle)];
    const adapterPath = adapter.negation.route === "adapter" ? adapter.negation.adapterPath : "";
    const adapterShare = statSync(adapterPath).size / statSync(modelPath).size;
    row([
      label,
      fixed(positive),
      fixed(viaAdapter),
      `**${fixed(viaAdapter / positive, 2)}**`,
      fixed(viaCopy),
      `**${fixed(viaCopy / copyPositive, 2)}**`,
      fixed(oracle),
      fixed(oracle / positive, 2),
      `+${fixed(adapterShare * 100, 0)}% / +100%`,
    ]);
  } finally {
    await adapter.dispose();
    await copy.dispose();
  }
}

/**
 * Stock llama.cpp's own timings: its eval time over its generated tokens, and its sampling time.
 * Its log thread sometimes loses the last lines at exit on a busy machine: then it runs again.
 */
async function stockTimings(
  modelPath: string,
  threads: number,
  seed: number,
  tokens = TOKENS,
  attempt = 1,
): Promise<{ tokens: number; evalMs: number; samplingMs: number; promptMs: number }> {
  const { stderr, stdout } = await promisify(execFile)(
    STOCK_BINARY,
    [
      ...["-m", modelPath, "-p", PROMPT, "-n", String(tokens), "-t", String(threads), "-tb", String(threads)],
      ...["--temp", "1", "--top-k", "0", "--top-p", "1", "--min-p", "0", "--seed", String(seed)],
      ...["-c", "512", "--ignore-eos", "-no-cnv", "--no-display-prompt"],
    ],
    { maxBuffer: 1 << 24 },
  );
  const log = stderr + stdout;
  const evaluation = /\s eval time =\s*([\d.]+) ms \/\s*(\d+) runs/.exec(log);
  const sampling = /sampling time =\s*([\d.]+) ms/.exec(log);
  const prompt = /prompt eval time =\s*([\d.]+) ms/.exec(log);
  if (!evaluation || !sampling || !prompt) {
    if (attempt < 3) return stockTimings(modelPath, threads, seed, tokens, attempt + 1);
    throw new Error(`llama-completion printed no timings:\n${log.slice(-2000)}`);
  }
  return {
    tokens: Number(evaluation[2]),
    evalMs: Number(evaluation[1]),
    samplingMs: Number(sampling[1]),
    promptMs: Number(prompt[1]),
  };
}

/** Stock llama.cpp's own generation rate: generated tokens over its eval plus sampling time. */
async function stockTokensPerSecond(modelPath: string, threads: number, seed: number): Promise<number> {
  const { tokens, evalMs, samplingMs } = await stockTimings(modelPath, threads, seed);
  return tokens / ((evalMs + samplingMs) / 1000);
}

/**
 * The first decode after llama-completion exits runs up to 3× slower (measured: a 64-token
 * scoring pass 117–130 ms right after it, 41–58 ms from the second on). llama-completion
 * warms up before it times itself, so belowzero does too.
 */
async function settleAfterStock(engine: Engine): Promise<void> {
  for (const temperature of [1, -1]) await tokensPerSecond(engine, temperature, 0, 8);
}

/** Real sizes: ~160M (GPT-2 small's width and depth) and TinyLlama 1.1B's shape. */
const REAL_SHAPES: Record<string, ModelShape> = {
  "160M": { embeddingLength: 768, layers: 12, feedForwardLength: 3072, heads: 12, kvHeads: 12 },
  "1.1B": { embeddingLength: 2048, layers: 22, feedForwardLength: 5632, heads: 32, kvHeads: 4 },
};
const REAL_TOKENS = Number(process.env.BENCH_REAL_TOKENS ?? 64);
const REAL_THREADS = (process.env.BENCH_REAL_THREADS ?? "1,2").split(",").map(Number);

async function realSizeModel(size: string, type: RealSizeType): Promise<{ modelPath: string; written: boolean }> {
  const shape = REAL_SHAPES[size]!;
  const key = `${shape.embeddingLength}x${shape.layers}-ffn${shape.feedForwardLength}-h${shape.heads}-kv${shape.kvHeads}`;
  const path = join(STOCK_CACHE, "models", `llama-spm_${key}_${type}.gguf`);
  const written = !existsSync(path);
  return {
    modelPath: await writeRealSizeModel(path, shape, { tokenizer: vocabularyFile("llama-spm"), type }),
    written,
  };
}

/**
 * One generation: its rate, the time to its first piece of text, and the time to score it. Native
 * steps read the score in the steps themselves (`scored`: generateMs includes it, scoreMs is 0);
 * node-llama-cpp's loop scores in a pass of its own afterwards.
 */
async function timedGeneration(
  engine: Engine,
  temperature: number,
  seed: number,
  scored = false,
): Promise<{ rate: number; firstMs: number; generateMs: number; scoreMs: number }> {
  const started = performance.now();
  let first = { ms: NaN, tokens: 0 };
  const result = await engine.generate(
    { prompt: PROMPT, temperature, maxTokens: REAL_TOKENS, seed },
    {
      score: scored && engine.nativeSteps,
      onText: (_, tokens) => (first = Number.isNaN(first.ms) ? { ms: performance.now() - started, tokens } : first),
    },
  );
  const generateMs = performance.now() - started;
  const scoring = performance.now();
  if (scored && !engine.nativeSteps) await engine.surprisals(engine.promptTokens(PROMPT), result.tokens);
  // The rate after the first piece of text, as stock's eval time counts the steps after the prompt.
  const after = result.tokens.length - first.tokens;
  const rate =
    after > 0 && Number.isFinite(first.ms) ? after / ((generateMs - first.ms) / 1000) : result.tokensPerSecond;
  return { rate, firstMs: first.ms, generateMs, scoreMs: performance.now() - scoring };
}

const load1 = () => (Math.round(loadavg()[0]! * 10) / 10).toString();

/**
 * Stock against belowzero T = ±1 at real sizes, alternating within each round (medians of ROUNDS).
 * On a backend with native steps, T = −1 through node-llama-cpp's own loop (the path before them)
 * runs in the same rounds, so the gain is read within one run.
 */
async function realSizes(size: string, type: RealSizeType): Promise<void> {
  const started = performance.now();
  const { modelPath, written } = await realSizeModel(size, type);
  if (written)
    console.log(`(wrote ${modelPath} in ${fixed((performance.now() - started) / 1000)} s; kept for later runs)`);
  for (const threads of REAL_THREADS) {
    const engine = await loadEngine(modelPath, { threads, nativeSteps: true });
    const loop = engine.nativeSteps ? await loadEngine(modelPath, { threads, nativeSteps: false }) : engine;
    const loads = [load1()];
    try {
      for (const e of new Set([engine, loop]))
        for (const temperature of [1, -1]) await tokensPerSecond(e, temperature, 0, 8);
      const stock = { rate: [] as number[], firstMs: [] as number[] };
      type Run = Awaited<ReturnType<typeof timedGeneration>>;
      const sides = { positive: [] as Run[], negative: [] as Run[], scored: [] as Run[], loop: [] as Run[] };
      for (let round = 0; round < ROUNDS; round++) {
        const measureStock = async () => {
          const timings = await stockTimings(modelPath, threads, round, REAL_TOKENS);
          stock.rate.push(timings.tokens / ((timings.evalMs + timings.samplingMs) / 1000));
          stock.firstMs.push(timings.promptMs);
          await settleAfterStock(engine);
        };
        const steps = [
          measureStock,
          async () => sides.positive.push(await timedGeneration(engine, 1, round)),
          async () => sides.negative.push(await timedGeneration(engine, -1, round)),
          async () => sides.scored.push(await timedGeneration(engine, -1, round, true)),
          ...(loop !== engine ? [async () => sides.loop.push(await timedGeneration(loop, -1, round, true))] : []),
        ];
        // Every other round in reverse, so that no side always runs first after the others.
        for (const step of round % 2 ? [...steps].reverse() : steps) await step();
        loads.push(load1());
      }
      const summary = (runs: Run[]) => ({
        rate: median(runs.map(run => run.rate)),
        firstMs: median(runs.map(run => run.firstMs)),
        generateMs: median(runs.map(run => run.generateMs)),
        cost: median(runs.map(run => run.scoreMs / run.generateMs)),
      });
      const [positive, negative, scored] = [sides.positive, sides.negative, sides.scored].map(summary) as [
        ReturnType<typeof summary>,
        ReturnType<typeof summary>,
        ReturnType<typeof summary>,
      ];
      const before = loop !== engine ? summary(sides.loop) : null;
      // The score's cost: in the steps (native: scored ÷ unscored generation) or a pass of its own.
      const cost = engine.nativeSteps ? scored.generateMs / negative.generateMs - 1 : scored.cost;
      const stockRate = median(stock.rate);
      row([
        `~${size} ${type}`,
        threads,
        fixed(stockRate, 1),
        fixed(positive.rate, 1),
        fixed(negative.rate, 1),
        `**${fixed(negative.rate / stockRate, 2)}**`,
        fixed(negative.rate / positive.rate, 2),
        before ? `${fixed(before.rate, 1)} (${fixed(before.rate / stockRate, 2)})` : "–",
        `${fixed(median(stock.firstMs))} / ${fixed(positive.firstMs)} / ${fixed(negative.firstMs)}`,
        `${fixed(cost * 100)}%${before ? ` (before: ${fixed(before.cost * 100)}%)` : ""}`,
        `${(await engine.backend()).build === "localBuild" ? "source-built" : "prebuilt"}, ${engine.negation.route}${engine.nativeSteps ? ", native steps" : ""}`,
        loads.join(" → "),
      ]);
    } finally {
      if (loop !== engine) await loop.dispose();
      await engine.dispose();
    }
  }
}

async function againstStock(label: string, modelPath: string): Promise<void> {
  for (const threads of [1, CORES]) {
    const engine = await loadEngine(modelPath, { threads });
    try {
      await tokensPerSecond(engine, 1, 0, 8);
      await tokensPerSecond(engine, -1, 0, 8);
      const runs = { stock: [] as number[], positive: [] as number[], negative: [] as number[] };
      for (let round = 0; round < ROUNDS; round++) {
        runs.stock.push(await stockTokensPerSecond(modelPath, threads, round));
        await settleAfterStock(engine);
        runs.positive.push(await tokensPerSecond(engine, 1, round));
        runs.negative.push(await tokensPerSecond(engine, -1, round));
      }
      const [stock, positive, negative] = [runs.stock, runs.positive, runs.negative].map(median) as [
        number,
        number,
        number,
      ];
      row([label, threads, fixed(stock), fixed(positive), fixed(negative), `**${fixed(negative / stock, 2)}**`]);
    } finally {
      await engine.dispose();
    }
  }
}

/** A process that keeps one core busy, as a neighbour's build or test would. */
function busyNeighbour(): { stop: () => void } {
  const child = spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" });
  return { stop: () => child.kill("SIGKILL") };
}

async function threadsBesideNeighbour(label: string, modelPath: string): Promise<void> {
  const settings: Array<number | undefined> = [undefined, ...Array.from({ length: CORES }, (_, i) => i + 1)];
  const engines: Engine[] = [];
  for (const threads of settings) engines.push(await loadEngine(modelPath, { threads })); // one at a time: they share derived files
  const neighbour = busyNeighbour();
  try {
    const tokens = Math.min(TOKENS, 100);
    for (const engine of engines) await tokensPerSecond(engine, -1, 0, 8);
    const runs = engines.map(() => [] as number[]);
    // A collapsed setting can be 100× slower: each run stops after 5 s, its rate still counts.
    const run = (i: number, round: number) =>
      tokensPerSecond(engines[i]!, -1, round, tokens, AbortSignal.timeout(5000)).then(rate => runs[i]!.push(rate));
    for (let round = 0; round < Math.max(ROUNDS, 5); round++) {
      const order = engines.map((_, i) => i);
      if (round % 2) order.reverse(); // no setting always runs first
      for (const i of order) await run(i, round);
    }
    const rates = runs.map(median);
    const best = Math.max(...rates.slice(1));
    row([
      label,
      `${fixed(rates[0]!)} (${defaultThreads()} thread${defaultThreads() > 1 ? "s" : ""})`,
      rates
        .slice(1)
        .map((rate, i) => `${i + 1}: ${fixed(rate)}`)
        .join(", "),
      `**${fixed(rates[0]! / best, 2)}**`,
    ]);
  } finally {
    neighbour.stop();
    await Promise.all(engines.map(engine => engine.dispose()));
  }
}

async function batched(label: string, modelPath: string): Promise<void> {
  const engine = await loadEngine(modelPath, { concurrency: 8 });
  try {
    const tokens = Math.min(TOKENS, 100);
    const aggregate = async (concurrent: number, round: number) => {
      const started = performance.now();
      const results = await Promise.all(
        Array.from({ length: concurrent }, (_, i) =>
          engine.generate(
            { prompt: PROMPT, temperature: -1, maxTokens: tokens, seed: round * 8 + i },
            { score: false },
          ),
        ),
      );
      return results.reduce((sum, r) => sum + r.tokens.length, 0) / ((performance.now() - started) / 1000);
    };
    await aggregate(8, 99); // every sequence exists before timing
    const runs = new Map<number, number[]>([1, 2, 4, 8].map(n => [n, []]));
    for (let round = 0; round < ROUNDS; round++) for (const [n, list] of runs) list.push(await aggregate(n, round));
    const rates = [...runs.values()].map(median);
    row([label, ...rates.map(rate => fixed(rate)), fixed(rates[3]! / rates[0]!, 2)]);
  } finally {
    await engine.dispose();
  }
}

async function weirdnessCost(label: string, modelPath: string): Promise<void> {
  const engine = await loadEngine(modelPath);
  try {
    const generation: number[] = [];
    const scoring: number[] = [];
    await engine.generate({ prompt: PROMPT, temperature: -1, maxTokens: 8, seed: 0 });
    for (let round = 0; round < Math.max(ROUNDS, 5); round++) {
      for (const temperature of [-1, 1]) {
        const started = performance.now();
        const result = await engine.generate(
          { prompt: PROMPT, temperature, maxTokens: 64, seed: round },
          { score: false },
        );
        generation.push(performance.now() - started);
        const scored = performance.now();
        await engine.surprisals(engine.promptTokens(PROMPT), result.tokens);
        scoring.push(performance.now() - scored);
      }
    }
    const [generate, score] = [median(generation), median(scoring)];
    row([label, fixed(generate), fixed(score), `**${fixed((score / generate) * 100, 0)}%**`]);
  } finally {
    await engine.dispose();
  }
}

async function vocabularyCost(
  vocabulary: RealVocabulary,
  shape: { embeddingLength: number; layers: number; feedForwardLength: number; heads: number },
): Promise<void> {
  const engine = await loadEngine(await realVocabularyModel(vocabulary, shape), { contextSize: 256 });
  try {
    const textsStarted = performance.now();
    tokenTexts(engine.model);
    const texts = performance.now() - textsStarted;
    const maskStarted = performance.now();
    const excluded = excludedTokens(engine.model, DEFAULT_TOKEN_POLICY, true, "ascii");
    exclusionBias(engine.model, excluded);
    const mask = performance.now() - maskStarted;
    const speeds = { any: [] as number[], ascii: [] as number[] };
    const run = async (vocab: "any" | "ascii", seed: number) => {
      const result = await engine.generate(
        { prompt: PROMPT, temperature: -1, maxTokens: TOKENS, seed, vocab },
        { score: false },
      );
      return result.tokensPerSecond;
    };
    await run("any", 0);
    await run("ascii", 0);
    for (let round = 0; round < ROUNDS; round++) {
      for (const vocab of round % 2 ? (["ascii", "any"] as const) : (["any", "ascii"] as const))
        speeds[vocab].push(await run(vocab, round + 1));
    }
    const [any, ascii] = [median(speeds.any), median(speeds.ascii)];
    row([
      `${vocabulary} (${tokenTexts(engine.model).length} tokens, n_embd ${shape.embeddingLength}, ${shape.layers} layers)`,
      `${excluded.length}`,
      fixed(any),
      fixed(ascii),
      `**${fixed(ascii / any, 2)}**`,
      fixed(texts),
      fixed(mask),
    ]);
  } finally {
    await engine.dispose();
  }
}

type NativeCall = (...args: unknown[]) => Promise<unknown>;

/**
 * Timers around the two native calls node-llama-cpp makes for the engine's contexts (the
 * decode job and the sample job; private fields, for this profile only).
 */
async function timeNativeCalls(engine: Engine) {
  const timers = { decode: 0, sample: 0, samples: 0 };
  const pool = (engine as unknown as { pool: { contexts: Map<ContextSign, { context: Promise<LlamaContext> }> } }).pool;
  for (const { context } of pool.contexts.values()) {
    const native = ((await context) as unknown as { _ctx: Record<string, NativeCall> })._ctx;
    for (const [name, key] of [
      ["decodeBatch", "decode"],
      ["sampleToken", "sample"],
    ] as const) {
      const call = native[name]!;
      Object.defineProperty(native, name, {
        value: async (...args: unknown[]) => {
          const started = performance.now();
          try {
            return await call.apply(native, args);
          } finally {
            timers[key] += performance.now() - started;
            if (key === "sample") timers.samples++;
          }
        },
      });
    }
  }
  return {
    timers,
    reset: () => Object.assign(timers, { decode: 0, sample: 0, samples: 0 }),
  };
}

/**
 * Where a step's time goes, against stock llama.cpp's own split; and the weirdness score's. The
 * timers wrap node-llama-cpp's own loop; native steps (where the backend has them) run in the
 * same rounds as one more row, their total only (one job per chunk: nothing to split in JavaScript).
 */
async function profile(label: string, modelPath: string, threads = 1, tokens = TOKENS): Promise<void> {
  const engine = await loadEngine(modelPath, { nativeSteps: false, threads });
  const native = await loadEngine(modelPath, { threads, nativeSteps: true });
  const nativeTotal: number[] = [];
  try {
    if (native.nativeSteps) await tokensPerSecond(native, -1, 0, 8);
    for (const temperature of [1, -1]) await tokensPerSecond(engine, temperature, 0, 8); // every context exists
    const { timers, reset } = await timeNativeCalls(engine);
    const steps = { total: [] as number[], decode: [] as number[], sample: [] as number[] };
    const stock = { total: [] as number[], decode: [] as number[], sample: [] as number[] };
    const scoring = { total: [] as number[], decode: [] as number[], sample: [] as number[], calls: [] as number[] };
    for (let round = 0; round < Math.max(ROUNDS, 5); round++) {
      reset();
      let started = performance.now();
      const result = await engine.generate(
        { prompt: PROMPT, temperature: -1, maxTokens: tokens, seed: round },
        { score: false },
      );
      const n = result.tokens.length;
      if (native.nativeSteps) {
        const nativeStarted = performance.now();
        const own = await native.generate(
          { prompt: PROMPT, temperature: -1, maxTokens: tokens, seed: round },
          { score: false },
        );
        nativeTotal.push((performance.now() - nativeStarted) / own.tokens.length);
      }
      steps.total.push((performance.now() - started) / n);
      steps.decode.push(timers.decode / n);
      steps.sample.push(timers.sample / n);
      const short = await engine.generate(
        { prompt: PROMPT, temperature: -1, maxTokens: 64, seed: round },
        { score: false },
      );
      reset();
      started = performance.now();
      await engine.surprisals(engine.promptTokens(PROMPT), short.tokens);
      scoring.total.push(performance.now() - started);
      scoring.decode.push(timers.decode);
      scoring.sample.push(timers.sample);
      scoring.calls.push(timers.samples);
      if (existsSync(STOCK_BINARY)) {
        const own = await stockTimings(modelPath, threads, round, tokens);
        stock.decode.push(own.evalMs / own.tokens);
        stock.sample.push(own.samplingMs / own.tokens);
        stock.total.push((own.evalMs + own.samplingMs) / own.tokens);
        await settleAfterStock(engine);
        await engine.surprisals(engine.promptTokens(PROMPT), short.tokens);
      }
    }
    const ms = (values: number[]) => (values.length > 0 ? fixed(median(values), 2) : "–");
    const rest = (parts: typeof steps) => parts.total.map((total, i) => total - parts.decode[i]! - parts.sample[i]!);
    row([`stock llama.cpp, ${label}`, ms(stock.total), ms(stock.decode), ms(stock.sample), "–"]);
    row([`belowzero T=−1, ${label}`, ms(steps.total), ms(steps.decode), ms(steps.sample), ms(rest(steps))]);
    if (native.nativeSteps) row([`belowzero T=−1 native steps, ${label}`, ms(nativeTotal), "–", "–", "–"]);
    console.log(
      `\nThe weirdness score at 64 tokens (${label}), median ms: ${ms(scoring.total)} in all; ` +
        `${ms(scoring.decode)} in the batched decode job, ${ms(scoring.sample)} in ${median(scoring.calls)} sample jobs ` +
        `(one per position, ${fixed(median(scoring.sample) / median(scoring.calls), 2)} each), ${ms(rest(scoring))} besides.`,
    );
  } finally {
    await native.dispose();
    await engine.dispose();
  }
}

async function chartTime(): Promise<void> {
  const engine = await loadEngine(testModelPath());
  try {
    const rows = [];
    for (const temperature of DEFAULT_SWEEP_TEMPERATURES)
      rows.push(await engine.generate({ prompt: PROMPT, temperature, maxTokens: 64, seed: 7 }));
    const first = performance.now();
    await renderSweepChart(rows, { title: PROMPT });
    const firstMs = performance.now() - first;
    const later: number[] = [];
    for (let i = 0; i < 7; i++) {
      const started = performance.now();
      await renderSweepChart(rows, { title: PROMPT });
      later.push(performance.now() - started);
    }
    console.log(
      `\nSweep chart (900×500 PNG, 8 rows): first render in this process ${fixed(firstMs)} ms (loads the font), then median ${fixed(median(later))} ms.`,
    );
  } finally {
    await engine.dispose();
  }
}

async function schedules(label: string, modelPath: string): Promise<void> {
  const engine = await loadEngine(modelPath, { concurrency: 1 });
  try {
    const rate = async (temperature: number, schedule: string | undefined, seed: number) =>
      (
        await engine.generate(
          {
            prompt: PROMPT,
            temperature,
            maxTokens: TOKENS,
            seed,
            ...(schedule && { schedule: parseSchedule(schedule, engine.limits) }),
          },
          { score: false },
        )
      ).tokensPerSecond;
    const sides = { fixed: [] as number[], oneSign: [] as number[], crossing: [] as number[], anneal: [] as number[] };
    for (let round = 0; round < ROUNDS; round++) {
      sides.fixed.push(await rate(-1, undefined, round));
      sides.oneSign.push(await rate(-1, "-1/-0.5@2", round));
      sides.crossing.push(await rate(-1, "1/-1@2", round));
      sides.anneal.push(await rate(-1, "1..-1", round));
    }
    const [f, o, c, a] = [sides.fixed, sides.oneSign, sides.crossing, sides.anneal].map(median) as [
      number,
      number,
      number,
      number,
    ];
    row([label, fixed(f), fixed(o), fixed(o / f, 2), fixed(c), fixed(c / f, 2), fixed(a), fixed(a / f, 2)]);
  } finally {
    await engine.dispose();
  }
}

async function tokenChartTime(): Promise<void> {
  const engine = await loadEngine(testModelPath());
  try {
    const result = await engine.generate({
      prompt: PROMPT,
      temperature: 1,
      maxTokens: 128,
      seed: 7,
      schedule: parseSchedule("0.8/-0.001@4", engine.limits),
    });
    const pieces = tokenPieces(engine.model, engine.promptTokens(PROMPT), result.tokens);
    const points = pieces.map((text, i) => ({
      text,
      surprisal: result.surprisals[i]!,
      temperature: result.temperatures[i]!,
    }));
    const times: number[] = [];
    for (let i = 0; i < 8; i++) {
      const started = performance.now();
      await renderTokenChart(points, { title: PROMPT });
      times.push(performance.now() - started);
    }
    console.log(
      `\nToken chart (128 tokens, 2168×560 PNG): first render ${fixed(times[0]!)} ms, then median ${fixed(median(times.slice(1)))} ms.`,
    );
  } finally {
    await engine.dispose();
  }
}

const synthetic = join(temporaryFolder("belowzero-bench-"), "synthetic-32000.gguf");
await writeSyntheticModel(synthetic, {
  vocabularySize: 32000,
  embeddingLength: 256,
  layers: 4,
  feedForwardLength: 688,
  heads: 8,
});
const MODELS = [
  ["stories260K (vocab 512)", testModelPath()],
  ["synthetic LLaMA (vocab 32000, n_embd 256, 4 layers)", synthetic],
] as const;
const SYNTHETIC_LABEL = MODELS[1][0];

const probe = await loadEngine(testModelPath());
const backend = formatBackend(await probe.backend());
const negation = describeNegation(probe.negation);
const samplerBuild = probe.negation.route === "sampler";
await probe.dispose();
console.log(
  `belowzero benchmark: CPU, ${CORES} cores, ${TOKENS} tokens per generation unless noted, median of ${ROUNDS} interleaved rounds.`,
);
// The prebuilt backend unless \`npm run build:cpu-backend\` built one for this CPU.
console.log(`${backend}\n${negation}\n`);

if (SECTIONS.has("routes") || SECTIONS.has("sampler")) {
  console.log("In-sampler route (one context for both signs) against the adapter route, 1 thread:\n");
  if (!samplerBuild) {
    console.log(
      "(skipped: the loaded backend's sampler does not negate; `npm run build:cpu-backend` builds one that does)\n",
    );
  } else {
    header([
      "model",
      "sampler T=+1 tok/s",
      "sampler T=−1",
      "sampler −1 ÷ +1",
      "adapter T=+1",
      "adapter T=−1",
      "adapter −1 ÷ +1",
      "RSS MiB sampler / adapter",
    ]);
    for (const [label, path] of MODELS) await inSampler(label, path);
    console.log("");
  }
}

if (SECTIONS.has("routes")) {
  console.log("Negation routes, 1 thread:\n");
  header([
    "model",
    "T=+1 tok/s",
    "T=−1 adapter",
    "adapter ÷ +1",
    "T=−1 copy",
    "copy ÷ +1",
    "T=−1 readout oracle",
    "oracle ÷ +1",
    "extra memory adapter / copy",
  ]);
  for (const [label, path] of MODELS) await routes(label, path);
}

if (SECTIONS.has("stock")) {
  console.log(
    "\nAgainst stock llama.cpp (llama-completion --temp 1 --top-k 0 --top-p 1 --min-p 0, its own eval + sampling rate), same threads:\n",
  );
  if (!existsSync(STOCK_BINARY)) {
    console.log(`(skipped: ${STOCK_BINARY} is not built; run \`npm run bench:build-stock\` once)`);
  } else {
    header(["model", "threads", "llama.cpp T=+1", "belowzero T=+1", "belowzero T=−1", "belowzero −1 ÷ llama.cpp +1"]);
    for (const [label, path] of MODELS) await againstStock(label, path);
  }
}

if (SECTIONS.has("threads")) {
  console.log(`\nThreads beside one busy-looping process (T=−1, ${Math.min(TOKENS, 100)} tokens):\n`);
  header(["model", "default settings tok/s", "tok/s by LLAMA_THREADS", "default ÷ best"]);
  for (const [label, path] of MODELS) await threadsBesideNeighbour(label, path);
}

if (SECTIONS.has("batch")) {
  console.log(
    `\nBatched generations: aggregate tok/s of N at once (T=−1, ${Math.min(TOKENS, 100)} tokens each, one context, 1 thread):\n`,
  );
  header(["model", "1", "2", "4", "8", "8 ÷ 1"]);
  await batched(SYNTHETIC_LABEL, synthetic);
}

if (SECTIONS.has("weirdness")) {
  console.log("\nWeirdness score at 64 tokens (T=±1, 1 thread), median ms:\n");
  header(["model", "generation", "scoring", "scoring ÷ generation"]);
  await weirdnessCost(SYNTHETIC_LABEL, synthetic);
  await chartTime();
}
if (SECTIONS.has("schedules")) {
  console.log(`\nSchedules against one temperature (1 thread, ${TOKENS} tokens, tok/s):\n`);
  header([
    "model",
    "T=−1",
    "−1/−0.5@2 (one sign)",
    "÷ T=−1",
    "1/−1@2 (crosses 199×)",
    "÷ T=−1",
    "1..−1 (once)",
    "÷ T=−1",
  ]);
  for (const [label, path] of MODELS) await schedules(label, path);
  await tokenChartTime();
}
if (SECTIONS.has("vocab")) {
  console.log(`\nScript vocabularies: T=−1, ${TOKENS} tokens, 1 thread, random weights around real tokenizers:\n`);
  header([
    "model",
    "tokens excluded under ascii",
    "vocab any tok/s",
    "vocab ascii tok/s",
    "ascii ÷ any",
    "token texts, once per model (ms)",
    "ascii mask (ms)",
  ]);
  // The mask costs the same per token at any size (node-llama-cpp hands the bias table to the
  // sampler at every step); the tiny shape shows it worst, the wider one as a model step hides it.
  const tiny = { embeddingLength: 64, layers: 2, feedForwardLength: 128, heads: 4 };
  const wider = { embeddingLength: 512, layers: 8, feedForwardLength: 1408, heads: 8 };
  for (const vocabulary of ["llama-spm", "llama-bpe"] as const) await vocabularyCost(vocabulary, tiny);
  await vocabularyCost("llama-bpe", wider);
}
if (SECTIONS.has("profile")) {
  console.log(
    `\nWhere a step goes, ms per token (1 thread, ${TOKENS} tokens; stock: its eval and sampling time; belowzero: timers around node-llama-cpp's native jobs):\n`,
  );
  header(["", "total", "decode (llama_decode / its job)", "sampling (its job)", "between the jobs"]);
  await profile(SYNTHETIC_LABEL, synthetic);
}
removeTemporaryFolders();
if (SECTIONS.has("real")) {
  console.log(
    `\nReal sizes: random-weight LLaMAs, LLaMA 2's vocabulary (32,000), ${REAL_TOKENS} tokens, prompt "${PROMPT}"; stock is llama-completion at T=+1 (its own eval + sampling rate, its prompt eval time as first-token latency); belowzero's rate is wall-clock after its first piece of text; libuv pool: ${process.env.UV_THREADPOOL_SIZE ?? "4 (default)"} thread(s):\n`,
  );
  if (!existsSync(STOCK_BINARY)) {
    console.log(`(skipped: ${STOCK_BINARY} is not built; run \`npm run bench:build-stock\` once)`);
  } else {
    header([
      "model",
      "threads",
      "llama.cpp T=+1 tok/s",
      "belowzero T=+1",
      "belowzero T=−1",
      "−1 ÷ llama.cpp",
      "−1 ÷ +1",
      "T=−1 before: node-llama-cpp's loop (÷ llama.cpp)",
      "first token ms (llama.cpp / +1 / −1)",
      "weirdness cost (T=−1)",
      "backend, T<0 route",
      "load average (1 min) per round",
    ]);
    const sizes = (process.env.BENCH_REAL_MODELS ?? "160M,1.1B").split(",");
    const types = (process.env.BENCH_REAL_TYPES ?? "Q8_0,Q4_0").split(",") as RealSizeType[];
    for (const size of sizes) for (const type of types) await realSizes(size, type);
    if (process.env.BENCH_REAL_PROFILE === "1") {
      console.log(
        `\nWhere a step goes at real sizes, ms per token (T=−1, ${REAL_TOKENS} tokens; load average ${load1()}):\n`,
      );
      header(["", "total", "decode (llama_decode / its job)", "sampling (its job)", "between the jobs"]);
      for (const size of sizes)
        for (const type of types)
          for (const threads of REAL_THREADS)
            await profile(
              `~${size} ${type}, ${threads} thread${threads > 1 ? "s" : ""}`,
              (await realSizeModel(size, type)).modelPath,
              threads,
              REAL_TOKENS,
            );
    }
  }
}
