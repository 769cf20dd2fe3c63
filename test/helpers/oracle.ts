// The readout oracle's sampling side, for tests and benchmarks only: softmax(z/T) over the
// logits read by src/engine/readout.ts, sampled in JavaScript with a seeded PRNG, so its
// chains are an independent check of the engine's native sampling at any temperature.
import type { LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";
import { DEFAULT_TOKEN_POLICY } from "../../src/engine/defaults.js";
import { isAllowed, type TokenPolicy } from "../../src/engine/policy.js";
import { limitToken, readLogits } from "../../src/engine/readout.js";

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

/**
 * The T → 0± limit from the readout oracle: the argmin (below zero) or argmax chain over the
 * allowed tokens (by default the default policy's), from logits read in a fresh positive
 * context of the model.
 */
export async function oracleLimitChain(
  model: LlamaModel,
  promptTokens: Token[],
  options: { belowZero: boolean; steps: number; allowed?: (token: Token) => boolean; contextSize?: number },
): Promise<Token[]> {
  const { belowZero, steps } = options;
  const allowed = options.allowed ?? ((token: Token) => isAllowed(model, token, DEFAULT_TOKEN_POLICY, belowZero));
  const context = await model.createContext({ contextSize: options.contextSize ?? 128, threads: 1 });
  try {
    const chain: Token[] = [];
    const readout = readLogits(context.getSequence(), promptTokens);
    let step = await readout.next();
    while (!step.done && chain.length < steps) {
      const token = limitToken(step.value, belowZero, allowed);
      chain.push(token);
      step = await readout.next(token);
    }
    await readout.return();
    return chain;
  } finally {
    await context.dispose();
  }
}
