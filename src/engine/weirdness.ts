// The weirdness score: how surprised the model itself is by a generation. Each generated
// token's surprisal is −ln p(token | prompt, earlier tokens) under the model's own
// distribution at T = 1 (every token of the vocabulary counted, no token policy), in nats; the
// score is its mean. It is the energy of the Boltzmann picture: greedy chains score low,
// anti-greedy chains high, and it falls monotonically with β = 1/T.
import type { ControlledEvaluateInputItem, LlamaContextSequence, Token } from "node-llama-cpp";

export function meanSurprisal(surprisals: readonly number[]): number | null {
  return surprisals.length === 0 ? null : surprisals.reduce((a, b) => a + b, 0) / surprisals.length;
}

/** The weirdness score for people, in the bot and the CLI: nats per token, two decimals (— without tokens). */
export function formatWeirdness(surprisal: number | null | undefined): string {
  return surprisal === null || surprisal === undefined ? "—" : surprisal.toFixed(2);
}

/**
 * Surprisals of `tokens` following `promptTokens`, from one batched evaluation of prompt and
 * output in a positive context (the sequence must be empty). node-llama-cpp 3.22.1 returns, per
 * output position, the logits of a filtered token list and totalLogitWeight = Σ exp(z − max), so
 * −ln p = ln(totalLogitWeight) − (z_token − max) without moving the vocabulary to JavaScript.
 * The max comes from `includeSelected` with the default sampler (temperature 0, i.e. greedy,
 * which leaves the logits as they are): `includeMax` only adds the max when it is already in the
 * list in 3.22.1 (its check is inverted in AddonContext.cpp), so it cannot be relied on.
 */
export async function surprisalsOf(
  sequence: LlamaContextSequence,
  promptTokens: readonly Token[],
  tokens: readonly Token[],
): Promise<number[]> {
  if (tokens.length === 0) return [];
  if (promptTokens.length === 0) throw new Error("Surprisal needs at least one prompt token");
  const first = promptTokens.length - 1; // the position whose logits predict tokens[0]
  const input: ControlledEvaluateInputItem[] = [...promptTokens, ...tokens.slice(0, -1)].map((token, index) =>
    index < first
      ? token
      : [
          token,
          {
            generateNext: {
              token: true,
              logits: { filter: { tokens: [tokens[index - first]!], includeSelected: true } },
              totalLogitWeight: true,
            },
          },
        ],
  );
  const output = await sequence.controlledEvaluate(input);
  return tokens.map((token, k) => {
    const next = output[first + k]?.next;
    const logit = next?.logits?.get(token);
    const max = next?.token == null ? undefined : next.logits?.get(next.token);
    if (logit === undefined || max === undefined || next?.totalLogitWeight === undefined)
      throw new Error(`node-llama-cpp returned no logits for output position ${k}`);
    return Math.log(next.totalLogitWeight) - (logit - max);
  });
}
