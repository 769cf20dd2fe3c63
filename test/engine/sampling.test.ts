// The engine on the real trained model (stories260K): greedy above zero, anti-greedy below,
// checked against the independent probability-readout oracle.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Token } from "node-llama-cpp";
import type { Engine, GenerationResult } from "../../src/engine/engine.js";
import { DEFAULT_TOKEN_POLICY } from "../../src/engine/defaults.js";
import { isAllowed } from "../../src/engine/policy.js";
import { negationDeviation } from "../../src/engine/readout.js";
import { distributionAt, oracleLimitChain } from "../helpers/oracle.js";
import { loadTestEngine } from "../helpers/engine.js";
import { describeRoutes } from "../helpers/routes.js";
import { chiSquareTest } from "../helpers/statistics.js";

const PROMPT = "Once upon a time";
const GREEDY_60 =
  ", there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball. She wanted to play with it, but it was too high.\nLily";
const PIPE = 506; // "|", the model's least likely piece after this prompt

// Every behaviour is checked through every way of negating the logits.
describeRoutes("through the %s route", ["sampler", "adapter", "copy"], route => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await loadTestEngine({ concurrency: 8, negation: { route } });
  });
  afterAll(async () => {
    await engine?.dispose();
  });

  const limitChain = (belowZero: boolean, steps: number) =>
    oracleLimitChain(engine.model, engine.promptTokens(PROMPT), { belowZero, steps, contextSize: 256 });

  describe("temperature at and near zero", () => {
    it("T = 0 and T = +0.001 reproduce the model's greedy continuation", async () => {
      for (const temperature of [0, 0.001]) {
        const result = await engine.generate({ prompt: PROMPT, temperature, maxTokens: 60, seed: 1 });
        expect(result.text).toBe(GREEDY_60);
        expect(result.stopReason).toBe("maxTokens");
      }
    });

    it("T = +0.001 follows the oracle's argmax chain token for token", async () => {
      const result = await engine.generate({ prompt: PROMPT, temperature: 0.001, maxTokens: 40, seed: 3 });
      expect(result.tokens).toEqual(await limitChain(false, 40));
    });

    it("T = −0.001 follows the oracle's argmin chain token for token: '|' to max tokens", async () => {
      const result = await engine.generate({ prompt: PROMPT, temperature: -0.001, maxTokens: 40, seed: 3 });
      const chain = await limitChain(true, 40);
      expect(result.tokens).toEqual(chain);
      expect(result.tokens).toEqual(new Array(40).fill(PIPE));
      expect(result.text).toBe("|".repeat(40));
      expect(result.stopReason).toBe("maxTokens");
      expect(result.beta).toBe(-1000);
    });
  });

  describe("the negated context", () => {
    it("has the negated logits of the model, within float tolerance", async () => {
      const tokens = engine.promptTokens(PROMPT);
      const positive = await engine.logitsAfter(tokens, "positive");
      const negated = await engine.logitsAfter(tokens, "negated");
      const { deviation: worst, range } = negationDeviation(positive, negated);
      expect(range).toBeGreaterThan(10); // a meaningful spread, so the check has teeth
      expect(worst).toBeLessThan(1e-4);
    });
  });

  describe("the token policy", () => {
    it("never ends a reply below zero by default, although the end token is among the least likely", async () => {
      const withEnd = await engine.generate({
        prompt: PROMPT,
        temperature: -0.001,
        maxTokens: 40,
        seed: 3,
        tokenPolicy: { allowEndBelowZero: true },
      });
      expect(withEnd.stopReason).toBe("endOfGeneration");
      expect(withEnd.tokens.length).toBeLessThan(40);
      const byDefault = await engine.generate({ prompt: PROMPT, temperature: -0.001, maxTokens: 40, seed: 3 });
      expect(byDefault.tokens).toHaveLength(40);
    });

    it("keeps byte, control and unknown tokens out below zero unless bytes are allowed", async () => {
      const model = engine.model;
      const disallowed = (r: GenerationResult) =>
        r.tokens.filter(t => !isAllowed(model, t, DEFAULT_TOKEN_POLICY, true));
      for (const seed of [1, 2, 3]) {
        const result = await engine.generate({ prompt: PROMPT, temperature: -1, maxTokens: 50, seed });
        expect(disallowed(result)).toEqual([]);
      }
      const withBytes = await engine.generate({
        prompt: PROMPT,
        temperature: -0.001,
        maxTokens: 20,
        seed: 1,
        tokenPolicy: { allowBytes: true },
      });
      expect(withBytes.tokens.some(t => model.getTokenAttributes(t).byte)).toBe(true);
    });
  });

  describe("the distribution of the first token", () => {
    const SAMPLES = 1500;

    async function firstTokens(temperature: number): Promise<number[]> {
      const counts = new Array<number>(512).fill(0);
      for (let seed = 0; seed < SAMPLES; seed++) {
        const result = await engine.generate({ prompt: PROMPT, temperature, maxTokens: 1, seed }, { score: false });
        counts[result.tokens[0] ?? engine.model.tokens.eos!]! += 1;
      }
      return counts;
    }

    async function oracleDistribution(temperature: number): Promise<Float64Array> {
      const logits = await engine.logitsAfter(engine.promptTokens(PROMPT), "positive");
      return distributionAt(logits, temperature, t =>
        isAllowed(engine.model, t, DEFAULT_TOKEN_POLICY, temperature < 0),
      );
    }

    // Chi-square goodness of fit at α = 0.001, bins with expected count < 5 pooled. The seeds
    // are fixed, so the outcome is deterministic; a correct sampler fails for 1 in 1000 seed sets.
    it.each([-1, -0.5, 1])("matches softmax(z/T) from the oracle at T = %s", async temperature => {
      const observed = await firstTokens(temperature);
      const test = chiSquareTest(observed, await oracleDistribution(temperature));
      expect(test.degreesOfFreedom).toBeGreaterThanOrEqual(2);
      expect(test.statistic).toBeLessThan(test.criticalValue);
      // The same test rejects the distribution at the opposite sign: it can fail.
      const flipped = chiSquareTest(observed, await oracleDistribution(-temperature));
      expect(flipped.statistic).toBeGreaterThan(flipped.criticalValue);
    });
  });

  describe("seeds", () => {
    it("give the same text for the same seed and different texts for different seeds", async () => {
      for (const temperature of [-1, -0.5, 0.5, 1]) {
        const run = (seed: number) => engine.generate({ prompt: PROMPT, temperature, maxTokens: 30, seed });
        const [a, again, b] = [await run(11), await run(11), await run(12)];
        expect(again.tokens).toEqual(a.tokens);
        expect(b.text).not.toBe(a.text);
      }
    });
  });

  describe("concurrency", () => {
    // 8 at once: each sign's requests run as sequences of one context, decoded as one batch.
    it("8 concurrent mixed-sign generations equal the same requests run one by one", async () => {
      const requests = [-0.001, -1, 1, -0.5, 0.7, -1, 0, 1.5].map((temperature, i) => ({
        prompt: i % 2 ? PROMPT : "The dog",
        temperature,
        maxTokens: 48,
        seed: 100 + i,
      }));
      const sequential: Token[][] = [];
      for (const request of requests) sequential.push((await engine.generate(request)).tokens);
      const concurrent = await Promise.all(requests.map(request => engine.generate(request)));
      expect(concurrent.map(r => r.tokens)).toEqual(sequential);
    });
  });

  describe("streaming", () => {
    it("streams chunks that add up to the text, which is the detokenized continuation", async () => {
      for (const temperature of [-1, 1]) {
        const chunks: string[] = [];
        const result = await engine.generate(
          { prompt: PROMPT, temperature, maxTokens: 64, seed: 5, tokenPolicy: { allowBytes: true } },
          { onText: c => chunks.push(c) },
        );
        expect(chunks.length).toBeGreaterThan(1);
        expect(chunks.join("")).toBe(result.text);
        expect(result.text).toBe(engine.model.detokenize(result.tokens, false, engine.promptTokens(PROMPT)));
        expect(result.tokensPerSecond).toBeGreaterThan(0);
      }
    });

    it("stops with stopReason 'aborted' when the signal fires mid-generation", async () => {
      const abort = new AbortController();
      let chunks = 0;
      const result = await engine.generate(
        { prompt: PROMPT, temperature: -1, maxTokens: 200, seed: 9 },
        {
          signal: abort.signal,
          onText: () => {
            if (++chunks === 5) abort.abort();
          },
        },
      );
      expect(result.stopReason).toBe("aborted");
      expect(result.tokens.length).toBeGreaterThanOrEqual(5);
      expect(result.tokens.length).toBeLessThan(200);
    });
  });
});
