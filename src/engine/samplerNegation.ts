// Whether the loaded node-llama-cpp addon samples T < 0 itself. Stock 3.22.1 turns T ≤ 0 into
// greedy in compiled code (AddonSampler.cpp); a backend built by scripts/build-cpu-backend.sh or
// scripts/build-cuda-backend.sh carries patches/node-llama-cpp-3.22.1-negative-temperature.patch,
// which negates the candidates below zero (before the token biases) and samples them at |T|. The
// build type alone does not say which sources a build came from, so the engine asks the sampler.
import type { LlamaModel, Token } from "node-llama-cpp";
import { PURE_TEMPERATURE } from "./defaults.js";
import { exclusionBias } from "./policy.js";
import { limitToken, readLogits } from "./readout.js";

/** How an addon answered the probe: "negates" is the patched sampler, "greedy" the stock one. */
export type SamplerBelowZero = "negates" | "greedy";

// The readout is exact to ~1e-5; the tokens told apart are a whole logit range apart.
const TOLERANCE = 1e-3;

/**
 * At T = −0.001 with a −∞ bias on the least likely token, a sampler that negates gives the
 * second least likely token (−∞ stayed −∞: the biases ran after the negation), the stock one the
 * most likely (greedy). Anything else — the excluded token itself, say — is an addon this
 * engine does not know, and it refuses to guess.
 */
export async function probeSamplerBelowZero(
  model: LlamaModel,
  promptTokens: Token[],
  threads: number,
): Promise<SamplerBelowZero> {
  const context = await model.createContext({ contextSize: Math.min(256, model.trainContextSize), threads });
  try {
    const sequence = context.getSequence();
    const steps = readLogits(sequence, promptTokens);
    const logits = (await steps.next()).value as Float64Array;
    await steps.return();
    await sequence.clearHistory();

    const all = () => true;
    const excluded = limitToken(logits, true, all);
    const others = (token: Token) => token !== excluded;
    const argmin = limitToken(logits, true, others);
    const argmax = limitToken(logits, false, others);
    const range = logits[argmax]! - logits[excluded]!;

    const sampled = sequence.evaluate(promptTokens, {
      ...PURE_TEMPERATURE,
      temperature: -0.001,
      seed: 0,
      yieldEogToken: true,
      tokenBias: exclusionBias(model, [excluded]),
    });
    const token = (await sampled.next()).value as Token;
    await sampled.return();

    const near = (expected: Token) => Math.abs(logits[token]! - logits[expected]!) <= TOLERANCE * Math.max(1, range);
    if (token !== excluded && near(argmin)) return "negates";
    if (near(argmax)) return "greedy";
    throw new Error(
      `The llama.cpp addon sampled token ${token} at T = -0.001, neither the least likely allowed token (${argmin}) ` +
        `nor greedy's (${argmax}): it is neither node-llama-cpp's stock sampler nor belowzero's patched one.`,
    );
  } finally {
    await context.dispose();
  }
}
