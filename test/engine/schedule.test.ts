// Temperature schedules: the grammar, the temperature of each token, and the engine sampling
// each step at its own temperature, checked against the readout oracle on stories260K.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Token } from "node-llama-cpp";
import type { Engine } from "../../src/engine/engine.js";
import { DEFAULT_LIMITS, DEFAULT_TOKEN_POLICY } from "../../src/engine/defaults.js";
import { isAllowed } from "../../src/engine/policy.js";
import { limitToken, readLogits } from "../../src/engine/readout.js";
import { InvalidRequestError } from "../../src/engine/request.js";
import {
  checkSchedule,
  formatSchedule,
  parseSchedule,
  temperaturesOf,
  zeroCrossings,
  type Schedule,
} from "../../src/engine/schedule.js";
import { loadTestEngine } from "../helpers/engine.js";
import { distributionAt } from "../helpers/oracle.js";
import { chiSquareTest } from "../helpers/statistics.js";

const PROMPT = "Once upon a time";
const parse = (text: string) => parseSchedule(text, DEFAULT_LIMITS);

describe("the schedule grammar", () => {
  it.each([
    ["1..-1", { kind: "anneal", from: 1, to: -1 }],
    [" 1 .. 0.001 ", { kind: "anneal", from: 1, to: 0.001 }],
    ["−0.5..2e-1", { kind: "anneal", from: -0.5, to: 0.2 }],
    ["0.8/-0.001@4", { kind: "every", base: 0.8, accent: -0.001, every: 4 }],
    ["0/-1@2", { kind: "every", base: 0, accent: -1, every: 2 }],
  ])("reads %j", (text, schedule) => {
    expect(parse(text)).toEqual(schedule);
    expect(parse(formatSchedule(parse(text)))).toEqual(schedule);
  });

  it.each([
    ["1", /is not a schedule\. Write A\.\.B .* or A\/B@N/],
    ["1..", /is not a schedule/],
    ["1...-1", /is not a schedule/],
    ["a..b", /is not a schedule/],
    ["1/2", /is not a schedule/],
    ["0..1", /cannot start or end at T = 0/],
    ["1..0", /cannot start or end at T = 0/],
    ["1..-1000", /The end of the schedule: Temperature must be between -100 and 100/],
    ["1/1e-9@2", /every-Nth temperature of the schedule: Temperature must be 0 or at least/],
    ["1/-1@1", /N in A\/B@N must be a whole number from 2 to 512, got 1/],
    ["1/-1@513", /from 2 to 512, got 513/],
  ])("refuses %j, naming what is wrong", (text, message) => {
    expect(() => parse(text)).toThrow(InvalidRequestError);
    expect(() => parse(text)).toThrow(message);
  });

  it("checks a schedule that arrives as data as strictly as one typed in", () => {
    expect(() => checkSchedule({ kind: "every", base: 1, accent: NaN, every: 2 }, DEFAULT_LIMITS)).toThrow(
      /not a schedule/,
    );
    expect(() => checkSchedule({ kind: "loop" } as unknown as Schedule, DEFAULT_LIMITS)).toThrow(/Not a schedule/);
    expect(checkSchedule({ kind: "anneal", from: 2, to: -2 }, DEFAULT_LIMITS)).toEqual({
      kind: "anneal",
      from: 2,
      to: -2,
    });
  });
});

describe("the temperature of each token", () => {
  it("anneals linearly in β, through β = 0 held at the limit instead of T = ∞", () => {
    expect(temperaturesOf(parse("1..-1"), 5, DEFAULT_LIMITS)).toEqual([1, 2, 100, -2, -1]);
    expect(temperaturesOf(parse("1..0.001"), 2, DEFAULT_LIMITS)).toEqual([1, 0.001]);
    expect(temperaturesOf(parse("1..-1"), 1, DEFAULT_LIMITS)).toEqual([1]);
  });

  it("puts every Nth token (N, 2N, …) at the accent", () => {
    expect(temperaturesOf(parse("0.8/-0.001@4"), 9, DEFAULT_LIMITS)).toEqual([
      0.8, 0.8, 0.8, -0.001, 0.8, 0.8, 0.8, -0.001, 0.8,
    ]);
  });

  it("says where the sign changes", () => {
    expect(zeroCrossings(temperaturesOf(parse("1..-1"), 5, DEFAULT_LIMITS))).toEqual([4]);
    expect(zeroCrossings(temperaturesOf(parse("1/-1@2"), 4, DEFAULT_LIMITS))).toEqual([2, 3, 4]);
    expect(zeroCrossings([1, 0.5, 0])).toEqual([]);
  });
});

describe.each(["adapter", "copy"] as const)("the engine on a schedule, through the %s route", route => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await loadTestEngine({ concurrency: 4, negation: { route } });
  });
  afterAll(async () => {
    await engine?.dispose();
  });

  /**
   * The oracle's argmax (T > 0) or argmin (T < 0) at each step, after the tokens the engine
   * actually generated before it (so hot steps in between do not lead the two apart).
   */
  async function oracleLimits(temperatures: number[], generated: Token[]): Promise<Token[]> {
    const context = await engine.model.createContext({ contextSize: 256, threads: 1 });
    try {
      const limits: Token[] = [];
      const readout = readLogits(context.getSequence(), engine.promptTokens(PROMPT));
      let step = await readout.next();
      for (const [i, temperature] of temperatures.entries()) {
        const belowZero = temperature < 0;
        limits.push(
          limitToken(step.value as Float64Array, belowZero, t =>
            isAllowed(engine.model, t, DEFAULT_TOKEN_POLICY, belowZero),
          ),
        );
        step = await readout.next(generated[i]!);
      }
      await readout.return();
      return limits;
    } finally {
      await context.dispose();
    }
  }

  it("0.001/-0.001@2 alternates the argmax and the argmin of the oracle, step by step", async () => {
    const result = await engine.generate({
      prompt: PROMPT,
      temperature: 1,
      maxTokens: 24,
      seed: 1,
      schedule: parse("0.001/-0.001@2"),
    });
    expect(result.temperatures).toEqual(Array.from({ length: 24 }, (_, i) => (i % 2 ? -0.001 : 0.001)));
    expect(result.tokens).toEqual(await oracleLimits(result.temperatures, result.tokens));
    expect(result.temperature).toBe(0.001);
    expect(result.schedule).toEqual(parse("0.001/-0.001@2"));
  });

  it("0.001..-0.001 turns from the argmax chain to the argmin chain half way", async () => {
    const result = await engine.generate({
      prompt: PROMPT,
      temperature: 1,
      maxTokens: 20,
      seed: 1,
      schedule: parse("0.001..-0.001"),
    });
    expect(zeroCrossings(result.temperatures)).toEqual([11]);
    // Where |T| is small the step is deterministic: it must be the oracle's argmax or argmin.
    const limits = await oracleLimits(result.temperatures, result.tokens);
    const cold = result.temperatures.flatMap((t, i) => (Math.abs(t) <= 0.002 ? [i] : []));
    expect(cold).toEqual([0, 1, 2, 3, 4, 15, 16, 17, 18, 19]); // |β| ≥ 500
    expect(cold.map(i => result.tokens[i])).toEqual(cold.map(i => limits[i]));
    expect(limits[19]).not.toBe(limits[0]); // and the two ends really are different tokens
  });

  it("a schedule that stays at one temperature gives that temperature's text", async () => {
    const fixed = await engine.generate({ prompt: PROMPT, temperature: -0.001, maxTokens: 30, seed: 3 });
    const scheduled = await engine.generate({
      prompt: PROMPT,
      temperature: 1,
      maxTokens: 30,
      seed: 3,
      schedule: parse("-0.001/-0.001@3"),
    });
    expect(scheduled.tokens).toEqual(fixed.tokens);
    expect(scheduled.text).toBe(fixed.text);
    expect(scheduled.stopReason).toBe("maxTokens");
  });

  it("samples the accent step at its own temperature: softmax(z/−1) after the greedy first token", async () => {
    const first = (await engine.generate({ prompt: PROMPT, temperature: 0, maxTokens: 1 }, { score: false })).tokens;
    const counts = new Array<number>(512).fill(0);
    for (let seed = 0; seed < 1500; seed++) {
      const result = await engine.generate(
        { prompt: PROMPT, temperature: 1, maxTokens: 2, seed, schedule: parse("0/-1@2") },
        { score: false },
      );
      expect(result.tokens[0]).toBe(first[0]);
      counts[result.tokens[1]!]! += 1;
    }
    const logits = await engine.logitsAfter([...engine.promptTokens(PROMPT), ...first], "positive");
    const expected = (t: number) =>
      distributionAt(logits, t, token => isAllowed(engine.model, token, DEFAULT_TOKEN_POLICY, t < 0));
    const test = chiSquareTest(counts, expected(-1));
    expect(test.statistic).toBeLessThan(test.criticalValue);
    const flipped = chiSquareTest(counts, expected(1));
    expect(flipped.statistic).toBeGreaterThan(flipped.criticalValue);
  });

  it("is reproducible from the seed, and another seed gives another text", async () => {
    const request = { prompt: PROMPT, temperature: 1, maxTokens: 40, schedule: parse("1..-1") };
    const a = await engine.generate({ ...request, seed: 11 });
    const b = await engine.generate({ ...request, seed: 11 });
    const c = await engine.generate({ ...request, seed: 12 });
    expect(b.tokens).toEqual(a.tokens);
    expect(c.tokens).not.toEqual(a.tokens);
  });

  it("runs beside fixed-temperature generations of both signs, each equal to itself run alone", async () => {
    const requests = [
      { temperature: 1, schedule: parse("1..-1") },
      { temperature: -0.5 },
      { temperature: 1, schedule: parse("0.8/-0.001@4") },
      { temperature: 0.7 },
      { temperature: 1, schedule: parse("-1..-0.01") },
      { temperature: -1 },
    ].map((r, i) => ({ ...r, prompt: PROMPT, maxTokens: 32, seed: 40 + i }));
    const alone = [];
    for (const request of requests) alone.push((await engine.generate(request, { score: false })).tokens);
    const together = await Promise.all(requests.map(request => engine.generate(request, { score: false })));
    expect(together.map(r => r.tokens)).toEqual(alone);
  });

  it("stops with 'aborted' when the signal fires between steps", async () => {
    const abort = new AbortController();
    const result = await engine.generate(
      { prompt: PROMPT, temperature: 1, maxTokens: 200, seed: 5, schedule: parse("1/-1@2") },
      { signal: abort.signal, onText: (_, tokens) => tokens >= 10 && abort.abort() },
    );
    expect(result.stopReason).toBe("aborted");
    expect(result.tokens.length).toBeGreaterThanOrEqual(10);
    expect(result.tokens.length).toBeLessThan(200);
  });
});

describe("schedules with one context per sign", () => {
  it("never deadlock: a schedule needing both signs waits for, and is waited on by, fixed ones", async () => {
    const engine = await loadTestEngine({ concurrency: 1 });
    try {
      const requests = Array.from({ length: 6 }, (_, i) =>
        i % 2
          ? { prompt: PROMPT, temperature: i % 4 === 1 ? -1 : 1, maxTokens: 16, seed: i }
          : { prompt: PROMPT, temperature: 1, maxTokens: 16, seed: i, schedule: parse("1/-1@2") },
      );
      const results = await Promise.all(requests.map(request => engine.generate(request, { score: false })));
      expect(results.map(r => r.tokens.length)).toEqual(requests.map(() => 16));
    } finally {
      await engine.dispose();
    }
  });
});
