// Generation with a temperature for each token (a schedule). node-llama-cpp 3.22.1's evaluate()
// takes one temperature for the whole generator, but controlledEvaluate() takes sampling
// options per input token: each step is one controlledEvaluate of the previous token, sampled
// with that step's temperature. A schedule whose temperatures have both signs runs on one
// sequence of each sign's context, fed the same tokens; a lane catches up only when a step
// needs it, in one batch (an anneal that crosses zero once decodes its past in one call).
import type { LlamaContextSequence, LlamaModel, Token, TokenBias } from "node-llama-cpp";

/** One sequence and how it samples a temperature's sign. */
export interface Lane {
  sequence: LlamaContextSequence;
  /** The temperature its sampler is given for a step at T (|T| where the logits are already −z). */
  samplerTemperature(temperature: number): number;
  bias(temperature: number): TokenBias | undefined;
}

export interface StepwisePlan {
  temperatures: readonly number[];
  /** The lane that samples a step at this temperature; every lane sees every token. */
  laneFor(temperature: number): Lane;
  lanes: readonly Lane[];
  seed: number;
  /** Top-k / top-p / min-p as the engine sets them (null leaves a stage out). */
  sampling: { topK?: number; topP?: number; minP: number };
  signal?: AbortSignal;
}

/** A seed per step from the request's seed, so a schedule is reproducible and no two steps share a draw. */
export function stepSeed(seed: number, step: number): number {
  return ((seed >>> 0) + Math.imul(step, 0x9e3779b1)) >>> 0;
}

/** Yields each generated token; stops at the schedule's end, an end-of-generation token or the signal. */
export async function* generateStepwise(
  model: LlamaModel,
  promptTokens: readonly Token[],
  plan: StepwisePlan,
): AsyncGenerator<Token, "maxTokens" | "endOfGeneration" | "aborted"> {
  // What each lane has not been fed yet: all lanes start at the prompt.
  const pending = new Map(plan.lanes.map(lane => [lane, [...promptTokens]]));
  for (let step = 0; step < plan.temperatures.length; step++) {
    if (plan.signal?.aborted) return "aborted";
    const temperature = plan.temperatures[step]!;
    const lane = plan.laneFor(temperature);
    const input = pending.get(lane)!;
    const last = input.length - 1;
    const options = {
      ...plan.sampling,
      temperature: lane.samplerTemperature(temperature),
      seed: stepSeed(plan.seed, step),
      tokenBias: lane.bias(temperature),
    };
    const outputs = await lane.sequence.controlledEvaluate(
      input.map((token, i) => (i === last ? ([token, { generateNext: { token: true, options } }] as const) : token)),
    );
    const token = outputs[last]?.next.token;
    if (token == null) throw new Error("llama.cpp sampled no token");
    if (model.isEogToken(token)) return "endOfGeneration";
    yield token;
    for (const other of plan.lanes) if (other !== lane) pending.get(other)!.push(token);
    pending.set(lane, [token]);
  }
  return "maxTokens";
}
