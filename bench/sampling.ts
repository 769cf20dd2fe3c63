// Side-by-side throughput of the sampling routes, measured in one run on the same model:
// T = +1 (stock), T = −1 through the negation adapter, T = −1 through the readout oracle,
// and aggregate throughput with 1, 2 and 4 concurrent generations. Rounds are interleaved
// and the median kept, so a noisy neighbour hurts every route alike.
//
//   npm run bench                 (BENCH_TOKENS, BENCH_ROUNDS, LLAMA_THREADS to adjust)
import { statSync } from "node:fs";
import { join } from "node:path";
import { Engine } from "../src/engine/engine.js";
import type { NegationRoute } from "../src/engine/negation.js";
import { DEFAULT_TOKEN_POLICY } from "../src/engine/defaults.js";
import { oracleGenerate } from "../src/engine/readout.js";
import { removeTemporaryFolders, temporaryFolder, testModelPath } from "../test/helpers/engine.js";
import { writeSyntheticModel } from "../test/helpers/syntheticModel.js";

const TOKENS = Number(process.env.BENCH_TOKENS ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const THREADS = Number(process.env.LLAMA_THREADS ?? 1);
const PROMPT = "Once upon a time";

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const fixed = (value: number, digits = 0) => value.toFixed(digits);

async function tokensPerSecond(engine: Engine, temperature: number, seed: number): Promise<number> {
  const started = performance.now();
  const result = await engine.generate({ prompt: PROMPT, temperature, maxTokens: TOKENS, seed });
  return result.tokens.length / ((performance.now() - started) / 1000);
}

async function oracleTokensPerSecond(engine: Engine, temperature: number, seed: number): Promise<number> {
  const context = await engine.model.createContext({ contextSize: engine.contextSize, threads: THREADS });
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

async function aggregateTokensPerSecond(engine: Engine, concurrent: number): Promise<number> {
  const started = performance.now();
  const results = await Promise.all(
    Array.from({ length: concurrent }, (_, i) =>
      engine.generate({ prompt: PROMPT, temperature: -1, maxTokens: TOKENS, seed: i }),
    ),
  );
  const total = results.reduce((sum, r) => sum + r.tokens.length, 0);
  return total / ((performance.now() - started) / 1000);
}

async function benchModel(label: string, modelPath: string): Promise<string> {
  const load = (route: NegationRoute) =>
    Engine.load({
      model: modelPath,
      cacheDir: temporaryFolder("belowzero-bench-"),
      gpu: false,
      threads: THREADS,
      concurrency: 4,
      contextSize: 512,
      negation: { route },
    });
  const adapter = await load("adapter");
  const copy = await load("copy");
  try {
    const runs = {
      positive: [] as number[],
      adapter: [] as number[],
      copyPositive: [] as number[],
      copy: [] as number[],
      oracle: [] as number[],
      nearPositive: [] as number[],
      nearAdapter: [] as number[],
    };
    for (const engine of [adapter, copy]) for (const t of [1, -1]) await tokensPerSecond(engine, t, 0); // warm-up: every context exists before timing
    for (let round = 0; round < ROUNDS; round++) {
      runs.positive.push(await tokensPerSecond(adapter, 1, round));
      runs.adapter.push(await tokensPerSecond(adapter, -1, round));
      runs.copyPositive.push(await tokensPerSecond(copy, 1, round));
      runs.copy.push(await tokensPerSecond(copy, -1, round));
      runs.nearPositive.push(await tokensPerSecond(adapter, 0.001, round));
      runs.nearAdapter.push(await tokensPerSecond(adapter, -0.001, round));
      if (round < 3) runs.oracle.push(await oracleTokensPerSecond(adapter, -1, round));
    }
    const aggregate: number[] = [];
    for (const n of [1, 2, 4]) {
      const samples: number[] = [];
      for (let i = 0; i < 3; i++) samples.push(await aggregateTokensPerSecond(adapter, n));
      aggregate.push(median(samples));
    }
    const [positive, viaAdapter, copyPositive, viaCopy, oracle] = [
      runs.positive,
      runs.adapter,
      runs.copyPositive,
      runs.copy,
      runs.oracle,
    ].map(median) as [number, number, number, number, number];
    const nearRatio = median(runs.nearAdapter) / median(runs.nearPositive);
    const adapterPath = adapter.negation.route === "adapter" ? adapter.negation.adapterPath : "";
    const adapterShare = statSync(adapterPath).size / statSync(modelPath).size;
    return `| ${label} | ${fixed(positive)} | ${fixed(viaAdapter)} | **${fixed(viaAdapter / positive, 2)}** | ${fixed(nearRatio, 2)} | ${fixed(viaCopy)} | **${fixed(viaCopy / copyPositive, 2)}** | ${fixed(oracle)} | ${fixed(oracle / positive, 2)} | ${aggregate.map(v => fixed(v)).join(" / ")} | +${fixed(adapterShare * 100, 0)}% / +100% |`;
  } finally {
    await adapter.dispose();
    await copy.dispose();
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

console.log(
  `belowzero sampling benchmark: ${TOKENS} tokens per generation, median of ${ROUNDS} interleaved rounds, ${THREADS} thread(s) per context, CPU\n`,
);
console.log(
  "| model | T=+1 tok/s | T=−1 adapter tok/s | adapter ÷ +1 | adapter −0.001 ÷ +0.001 | T=−1 copy tok/s | copy ÷ its +1 | T=−1 oracle tok/s | oracle ÷ +1 | aggregate tok/s 1/2/4 concurrent (T=−1, adapter) | extra model memory adapter / copy |",
);
console.log("|---|---|---|---|---|---|---|---|---|---|---|");
for (const [label, path] of [
  ["stories260K (vocab 512)", testModelPath()],
  ["synthetic LLaMA (vocab 32000, n_embd 256, 4 layers)", synthetic],
] as const) {
  console.log(await benchModel(label, path));
}
removeTemporaryFolders();
console.log("\nGoal: negative ÷ positive ≥ 0.95. The adapter adds one output-layer matmul per token, so its ratio is");
console.log("about (body + output) ÷ (body + 2·output): low where the output layer dominates (tiny models), near 1 on");
console.log('LLaMA-sized ones. "auto" therefore copies models up to 1 GiB and uses the adapter above that.');
