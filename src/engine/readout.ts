// The reference route: recover the logits from the full probability list at a large readout
// temperature R (ln p_i = z_i/R + c), then do the sampling in JavaScript. Exact but 5–35×
// slower than the negation adapter, so it serves as an independent oracle for tests and
// benchmarks, never for serving.
import type { LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";

/** At R = 1, float32 underflow zeroes most tail probabilities; at R = 100 they survive. */
export const READOUT_TEMPERATURE = 100;

export function vocabularySize(model: LlamaModel): number {
  return Array.from(model.iterateAllTokens()).length;
}

/**
 * Evaluates the prompt and yields the next-token logits (up to an additive constant) at
 * each step; the caller sends back the token to continue with. `negated` reads at −R, which
 * gives −z from a sampler that negates below zero (the "sampler" route) and nothing useful
 * from one that does not (T ≤ 0 is greedy there).
 */
export async function* readLogits(
  sequence: LlamaContextSequence,
  promptTokens: Token[],
  negated = false,
): AsyncGenerator<Float64Array, void, Token> {
  const size = vocabularySize(sequence.model);
  const iterator = sequence.evaluateWithMetadata(
    promptTokens,
    { probabilities: true },
    {
      temperature: negated ? -READOUT_TEMPERATURE : READOUT_TEMPERATURE,
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

/** The T → 0 limit: the argmax of z/T among allowed tokens (argmin of z when T < 0). */
export function limitToken(logits: Float64Array, belowZero: boolean, allowed: (token: Token) => boolean): Token {
  let best = -1;
  for (let token = 0; token < logits.length; token++) {
    if (!allowed(token as Token) || !Number.isFinite(logits[token]!)) continue;
    if (best < 0 || (belowZero ? logits[token]! < logits[best]! : logits[token]! > logits[best]!)) best = token;
  }
  return best as Token;
}
