// The reference route: recover the logits from the full probability list at a large readout
// temperature R (ln p_i = z_i/R + c), then do the sampling in JavaScript. Exact but 5–35×
// slower than the negation adapter, so it serves as an independent oracle for tests and
// benchmarks, never for serving.
import type { LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";
import { isAllowed, type TokenPolicy } from "./policy.js";

/** At R = 1, float32 underflow zeroes most tail probabilities; at R = 100 they survive. */
export const READOUT_TEMPERATURE = 100;

export function vocabularySize(model: LlamaModel): number {
  return Array.from(model.iterateAllTokens()).length;
}

/**
 * Evaluates the prompt and yields the next-token logits (up to an additive constant) at
 * each step; the caller sends back the token to continue with.
 */
export async function* readLogits(
  sequence: LlamaContextSequence,
  promptTokens: Token[],
): AsyncGenerator<Float64Array, void, Token> {
  const size = vocabularySize(sequence.model);
  const iterator = sequence.evaluateWithMetadata(
    promptTokens,
    { probabilities: true },
    {
      temperature: READOUT_TEMPERATURE,
      topK: 0,
      topP: 1,
      minP: 0,
      yieldEogToken: true,
      seed: 0,
    },
  );
  try {
    let step = await iterator.next();
    while (!step.done) {
      const logits = new Float64Array(size).fill(-Infinity);
      for (const [token, probability] of step.value.probabilities)
        logits[token] = Math.log(probability) * READOUT_TEMPERATURE;
      step = await iterator.next(yield logits);
    }
  } finally {
    await iterator.return();
  }
}

/**
 * How far logits read from a negated context are from −z: the largest deviation of
 * z + z_negated from its mean (both are known only up to a constant), and the spread of z.
 */
export function negationDeviation(positive: Float64Array, negated: Float64Array): { deviation: number; range: number } {
  const sums = positive.map((z, token) => z + negated[token]!).filter(Number.isFinite);
  const mean = sums.reduce((a, b) => a + b, 0) / sums.length;
  const finite = positive.filter(Number.isFinite);
  return {
    deviation: sums.reduce((worst, s) => Math.max(worst, Math.abs(s - mean)), 0),
    range: finite.reduce((a, b) => Math.max(a, b), -Infinity) - finite.reduce((a, b) => Math.min(a, b), Infinity),
  };
}

/** The sampling distribution at temperature T (T ≠ 0) over the allowed tokens: softmax(z/T). */
export function distributionAt(
  logits: Float64Array,
  temperature: number,
  allowed: (token: Token) => boolean,
): Float64Array {
  const scaled = Float64Array.from(logits, (z, token) => (allowed(token as Token) ? z / temperature : -Infinity));
  const max = scaled.reduce((a, b) => Math.max(a, b), -Infinity);
  const weights = scaled.map(value => Math.exp(value - max));
  const total = weights.reduce((sum, w) => sum + w, 0);
  return weights.map(w => w / total);
}

/** The T → 0 limit: the argmax of z/T among allowed tokens (argmin of z when T < 0). */
export function limitToken(logits: Float64Array, belowZero: boolean, allowed: (token: Token) => boolean): Token {
  let best = -1;
  for (let token = 0; token < logits.length; token++) {
    if (!allowed(token as Token) || !Number.isFinite(logits[token]!)) continue;
    if (best < 0 || (belowZero ? logits[token]! < logits[best]! : logits[token]! > logits[best]!)) best = token;
  }
  return best as Token;
}

/** Deterministic PRNG (mulberry32) so oracle runs are reproducible from a seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function sampleFrom(distribution: Float64Array, random: () => number): Token {
  let remaining = random();
  for (let token = 0; token < distribution.length; token++) {
    remaining -= distribution[token]!;
    if (remaining < 0) return token as Token;
  }
  return distribution.findLastIndex(p => p > 0) as Token;
}

export interface OracleOptions {
  temperature: number;
  maxTokens: number;
  policy: TokenPolicy;
  seed: number;
}

/**
 * Generates with the readout route: logits read from a positive context, sampled in
 * JavaScript at any temperature, including below zero. Stops at max tokens or at an
 * allowed end-of-generation token.
 */
export async function oracleGenerate(
  sequence: LlamaContextSequence,
  promptTokens: Token[],
  options: OracleOptions,
): Promise<Token[]> {
  const model = sequence.model;
  const belowZero = options.temperature < 0;
  const allowed = (token: Token) => isAllowed(model, token, options.policy, belowZero);
  const random = seededRandom(options.seed);
  const steps = readLogits(sequence, promptTokens);
  const tokens: Token[] = [];
  let step = await steps.next();
  while (!step.done) {
    const token =
      options.temperature === 0
        ? limitToken(step.value, belowZero, allowed)
        : sampleFrom(distributionAt(step.value, options.temperature, allowed), random);
    if (model.isEogToken(token)) break;
    tokens.push(token);
    if (tokens.length >= options.maxTokens) break;
    step = await steps.next(token);
  }
  await steps.return();
  return tokens;
}
