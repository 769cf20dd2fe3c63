// What stories260K proves, on real tokenizers: LLaMA 2's 32k SentencePiece and LLaMA 3's 128k
// byte-level BPE vocabularies around tiny random weights (see helpers/realVocabulary.ts).
import type { Token } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_TOKEN_POLICY } from "../../src/engine/defaults.js";
import { Engine } from "../../src/engine/engine.js";
import { isAllowed } from "../../src/engine/policy.js";
import { negationDeviation, readLogits } from "../../src/engine/readout.js";
import { temporaryFolder } from "../helpers/engine.js";
import { SAMPLER_BUILD } from "../helpers/routes.js";
import { oracleLimitChain } from "../helpers/oracle.js";
import { realVocabularyModel, REAL_VOCABULARIES, type RealVocabulary } from "../helpers/realVocabulary.js";

const PROMPT = "Once upon a time";

const CASES: Array<[RealVocabulary, boolean]> = [
  ["llama-spm", false],
  ["llama-spm", true],
  ["llama-bpe", false],
];

describe.each(CASES)("a random LLaMA with the real %s vocabulary (tied output: %s)", (vocabulary, tied) => {
  let engine: Engine;
  beforeAll(async () => {
    const model = await realVocabularyModel(vocabulary, { tied });
    engine = await Engine.load({
      model,
      cacheDir: temporaryFolder(),
      gpu: false,
      threads: 1,
      contextSize: 128,
      concurrency: 4,
    });
  }, 120_000);
  afterAll(async () => {
    await engine?.dispose();
  });

  it("has the real vocabulary", () => {
    expect(Array.from(engine.model.iterateAllTokens())).toHaveLength(REAL_VOCABULARIES[vocabulary]);
  });

  it("negates the logits exactly", async () => {
    const tokens = engine.promptTokens(PROMPT);
    const { deviation, range } = negationDeviation(
      await engine.logitsAfter(tokens, "positive"),
      await engine.logitsAfter(tokens, "negated"),
    );
    expect(range).toBeGreaterThan(0.5);
    expect(deviation).toBeLessThan(1e-4 * range);
  });

  // 128k random logits put the two least likely tokens within a few 0.001 of each other now and
  // then, where T = −0.001 still samples either; at the smallest |T| the limit is exact.
  it("follows the oracle's argmin chain at T = −1e-6 and its argmax chain at T = +1e-6", async () => {
    for (const temperature of [-1e-6, 1e-6]) {
      const result = await engine.generate({ prompt: PROMPT, temperature, maxTokens: 12, seed: 3 }, { score: false });
      expect(result.tokens).toEqual(
        await oracleLimitChain(engine.model, engine.promptTokens(PROMPT), { belowZero: temperature < 0, steps: 12 }),
      );
    }
  });

  it("keeps to the token policy below zero: full-length replies of text, no U+FFFD", async () => {
    for (const [temperature, seed] of [
      [-0.001, 1],
      [-1, 2],
      [-1, 3],
      [-0.5, 4],
    ] as const) {
      const result = await engine.generate({ prompt: PROMPT, temperature, maxTokens: 32, seed }, { score: false });
      expect(result.tokens).toHaveLength(32);
      expect(result.tokens.filter(t => !isAllowed(engine.model, t, DEFAULT_TOKEN_POLICY, true))).toEqual([]);
      expect(result.text.trim()).not.toBe("");
      expect(result.text).not.toContain("\uFFFD");
    }
  });

  it("scores weirdness as the readout oracle does, and higher below zero than above", async () => {
    const scored = async (temperature: number) => {
      const result = await engine.generate({ prompt: PROMPT, temperature, maxTokens: 8, seed: 2 });
      const context = await engine.model.createContext({ contextSize: 128, threads: 1 });
      try {
        const steps = readLogits(context.getSequence(), engine.promptTokens(PROMPT));
        const oracle: number[] = [];
        let step = await steps.next();
        for (const token of result.tokens) {
          if (step.done) throw new Error("the readout ended early");
          const logits = step.value;
          const max = logits.reduce((a, b) => Math.max(a, b), -Infinity);
          oracle.push(max + Math.log(logits.reduce((sum, z) => sum + Math.exp(z - max), 0)) - logits[token]!);
          step = await steps.next(token);
        }
        await steps.return();
        const mean = oracle.reduce((a, b) => a + b, 0) / oracle.length;
        expect(Math.abs(result.surprisal! - mean)).toBeLessThan(1e-3);
        return result.surprisal!;
      } finally {
        await context.dispose();
      }
    };
    expect(await scored(-0.001)).toBeGreaterThan(await scored(0.001));
  });

  // On the sampler route (the source build) every sign shares one context, so these four run as
  // one batch whose make-up depends on timing; on LLaMA 3's 128k vocabulary with random weights
  // (near-tied logits) that alone changes a token now and then (measured 2026-12-07: 1 run in 3
  // on main's code), as samplerRoute.test.ts found on its synthetic model. Batched equality on
  // that route is proven on stories260K there.
  it.skipIf(SAMPLER_BUILD && vocabulary === "llama-bpe")(
    "gives 4 concurrent mixed-sign generations exactly what they give one by one",
    async () => {
      const requests = [-0.001, 1, -1, 0.5].map((temperature, i) => ({
        prompt: i % 2 ? PROMPT : "The dog",
        temperature,
        maxTokens: 16,
        seed: 20 + i,
      }));
      const sequential: Token[][] = [];
      for (const request of requests) sequential.push((await engine.generate(request, { score: false })).tokens);
      const concurrent = await Promise.all(requests.map(request => engine.generate(request, { score: false })));
      expect(concurrent.map(r => r.tokens)).toEqual(sequential);
    },
  );
});
