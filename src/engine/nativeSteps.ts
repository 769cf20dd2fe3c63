// Generation as one native job per chunk of steps, for every running generation of a context at
// once (the patched source build only). node-llama-cpp 3.22.1 makes each token two jobs on libuv's
// shared thread pool (decode, then sample) with its scheduling between them in JavaScript: ~2 ms a
// token at 160M parameters on a CPU, decisive on a GPU. belowzero's patch adds `belowzeroSteps` to
// the addon's context: per step it decodes every running sequence's last token in one batch, samples
// each with its own native sampler (the same one node-llama-cpp's evaluate() uses, so the same tokens
// for the same seed) and reads the sampled token's surprisal at T = 1 from the logits the step holds
// (the weirdness score, with no second pass), until a step count or a time budget is spent.
//
// node-llama-cpp has no public way to reach a new addon method, so this module, and only it, uses
// its private fields (pinned to 3.22.1 by the patch, which refuses any other version): the addon
// context (`_ctx`), a sequence's id, the sampler binding and its config resolver. It takes the
// context's own lock around each job, so node-llama-cpp's batches (prompts, scoring) never decode
// at the same time as a chunk.
import { withLock } from "lifecycle-utils";
import type { Llama, LlamaContext, LlamaContextSequence, LlamaModel, Token, TokenBias } from "node-llama-cpp";

/** Per lane: its tokens, their surprisals, and 0 (may go on), 1 (sampled an end-of-generation token) or 2 (sampled nothing). */
type NativeLaneResult = [tokens: Uint32Array, surprisals: Float64Array, stop: 0 | 1 | 2];

interface AddonSampler {
  applyConfig(config: object): void;
  dispose(): void;
}

interface AddonContext {
  belowzeroSteps?(
    sequenceIds: Int32Array,
    positions: Int32Array,
    inputs: Uint32Array,
    inputCounts: Int32Array,
    samplers: AddonSampler[],
    budgets: Int32Array,
    maxSteps: number,
    maxMilliseconds: number,
    withSurprisals: boolean,
  ): Promise<NativeLaneResult[]>;
  removeTokenCellsFromSequence(sequenceId: number, start: number, end: number): boolean;
}

/** node-llama-cpp 3.22.1's private fields this module reads. */
interface Internals {
  context: {
    _ctx: AddonContext;
    /** Keeps the native context alive while a job runs (dispose waits for its handles). */
    _backendContextDisposeGuard: { createPreventDisposalHandle(): { dispose(): void } };
  };
  sequence: {
    _sequenceId: number;
    _resolveSamplerConfig(options: object): object;
  };
  model: { _model: unknown; _llama: { _bindings: { AddonSampler: new (model: unknown) => AddonSampler } } };
}

/** Steps per job, and the time after which a job returns what it has (for streaming and new arrivals). */
const CHUNK_STEPS = 16;
const CHUNK_MILLISECONDS = 25;

/** Whether the loaded addon has the native step (the patched source build). */
export function hasNativeSteps(llama: Llama): boolean {
  const bindings = (llama as unknown as { _bindings: { AddonContext: { prototype: Partial<AddonContext> } } })
    ._bindings;
  return typeof bindings.AddonContext.prototype.belowzeroSteps === "function";
}

export interface NativeSampling {
  temperature: number;
  seed: number;
  tokenBias?: TokenBias;
  /** Top-k / top-p / min-p as the engine sets them (null leaves a stage out). */
  sampling: { topK?: number; topP?: number; minP: number };
  /** Read each token's surprisal in its step (the weirdness score). */
  score: boolean;
}

export interface NativeToken {
  token: Token;
  /** −ln p(token) at T = 1, from the logits it was sampled from; NaN where not scored. */
  surprisal: number;
}

interface Lane {
  sequenceId: number;
  /** Where the lane's cells begin: they are removed when it ends, so the sequence's state stays node-llama-cpp's. */
  start: number;
  /** Where its next input goes, and the input: a new lane's prompt, then its last token. */
  position: number;
  inputs: Token[];
  budget: number;
  sampler: AddonSampler;
  score: boolean;
  cancelled: boolean;
  /** Chunks not yet taken by the generation, and what wakes it. */
  chunks: Array<{ tokens: NativeToken[]; end: "endOfGeneration" | "maxTokens" | "nothingSampled" | null } | Error>;
  wake: (() => void) | null;
  /** Called once the stepper has dropped the lane and removed its cells. */
  finish: () => void;
}

/** One per context: runs the chunks for all its lanes, one job at a time. */
class Stepper {
  private readonly lanes = new Set<Lane>();
  private running = false;

  constructor(private readonly context: LlamaContext) {}

  add(lane: Lane): void {
    this.lanes.add(lane);
    if (!this.running) {
      this.running = true;
      void this.run();
    }
  }

  private async run(): Promise<void> {
    try {
      while (this.lanes.size > 0) await withLock([this.context, "context"], () => this.chunk());
    } finally {
      this.running = false;
    }
  }

  /** One job for every live lane, under the context's lock; then the lanes that ended leave. */
  private async chunk(): Promise<void> {
    const internals = this.context as unknown as Internals["context"];
    const lanes = [...this.lanes];
    const ended = new Set(lanes.filter(lane => lane.cancelled));
    // Everything in one batch: a new lane whose prompt does not fit beside the others waits a chunk.
    let room = this.context.batchSize;
    const live = lanes.filter(lane => !lane.cancelled && (room -= lane.inputs.length) >= 0);
    if (live.length > 0) {
      let handle: { dispose(): void } | undefined;
      try {
        handle = internals._backendContextDisposeGuard.createPreventDisposalHandle(); // throws once disposed
        const results = await internals._ctx.belowzeroSteps!(
          Int32Array.from(live, lane => lane.sequenceId),
          Int32Array.from(live, lane => lane.position),
          Uint32Array.from(live.flatMap(lane => lane.inputs)),
          Int32Array.from(live, lane => lane.inputs.length),
          live.map(lane => lane.sampler),
          Int32Array.from(live, lane => lane.budget),
          live.some(lane => lane.inputs.length > 1 || lane.position === lane.start) ? 1 : CHUNK_STEPS, // a new lane's first token at once
          CHUNK_MILLISECONDS,
          live.some(lane => lane.score), // a lane that did not ask ignores them
        );
        live.forEach((lane, i) => {
          const [tokens, surprisals, stop] = results[i]!;
          const chunk = Array.from(tokens, (token, k) => ({ token: token as Token, surprisal: surprisals[k] ?? NaN }));
          lane.budget -= chunk.length;
          if (chunk.length > 0) {
            lane.position += lane.inputs.length + chunk.length - 1; // as the job advanced it
            lane.inputs = [chunk.at(-1)!.token];
          }
          const end =
            stop === 1 ? "endOfGeneration" : stop === 2 ? "nothingSampled" : lane.budget <= 0 ? "maxTokens" : null;
          lane.chunks.push({ tokens: chunk, end });
          if (end) ended.add(lane);
        });
      } catch (error) {
        for (const lane of live) {
          lane.chunks.push(error instanceof Error ? error : new Error(String(error)));
          ended.add(lane);
        }
      } finally {
        handle?.dispose();
      }
      for (const lane of live) lane.wake?.();
    }
    for (const lane of ended) {
      this.lanes.delete(lane);
      if (!this.context.disposed) internals._ctx.removeTokenCellsFromSequence(lane.sequenceId, lane.start, -1);
      lane.finish();
    }
  }
}

const steppers = new WeakMap<LlamaContext, Stepper>();

/**
 * Yields each generated token with its surprisal; stops at maxTokens, an end-of-generation token
 * or the signal. The sequence must be empty; it is left as node-llama-cpp last saw it (empty, or
 * the head of a long prompt), for the caller to clear.
 */
export async function* generateNative(
  sequence: LlamaContextSequence,
  promptTokens: readonly Token[],
  sampling: NativeSampling,
  maxTokens: number,
  signal?: AbortSignal,
): AsyncGenerator<NativeToken, "maxTokens" | "endOfGeneration" | "aborted"> {
  if (promptTokens.length === 0) throw new Error("Generation needs at least one prompt token");
  if (maxTokens <= 0) return "maxTokens";
  const internals = sequence as unknown as Internals["sequence"];
  const model = sequence.model as LlamaModel & Internals["model"];
  // The prompt goes into the first native step as node-llama-cpp's evaluate() would batch it (the
  // same batch gives the same logits, to the bit); a prompt too long to sit in one batch beside the
  // other sequences' tokens has its head evaluated by node-llama-cpp first.
  const room = sequence.context.batchSize - (sequence.context.totalSequences - 1);
  const head = Math.max(0, promptTokens.length - room);
  if (head > 0) await sequence.evaluateWithoutGeneratingNewTokens(promptTokens.slice(0, head));
  const sampler = new model._llama._bindings.AddonSampler(model._model);
  sampler.applyConfig(
    internals._resolveSamplerConfig({
      ...sampling.sampling,
      temperature: sampling.temperature,
      seed: sampling.seed,
      tokenBias: sampling.tokenBias,
    }),
  );
  let finish = () => {};
  const done = new Promise<void>(resolve => (finish = resolve));
  const lane: Lane = {
    sequenceId: internals._sequenceId,
    start: sequence.nextTokenIndex,
    position: sequence.nextTokenIndex,
    inputs: promptTokens.slice(head),
    budget: maxTokens,
    sampler,
    score: sampling.score,
    cancelled: false,
    chunks: [],
    wake: null,
    finish,
  };
  let stepper = steppers.get(sequence.context);
  if (!stepper) steppers.set(sequence.context, (stepper = new Stepper(sequence.context)));
  stepper.add(lane);
  try {
    for (;;) {
      if (signal?.aborted) return "aborted";
      const chunk = lane.chunks.shift();
      if (!chunk) {
        await new Promise<void>(resolve => (lane.wake = resolve));
        lane.wake = null;
        continue;
      }
      if (chunk instanceof Error) throw chunk;
      for (const token of chunk.tokens) {
        yield token;
        if (signal?.aborted) return "aborted";
      }
      if (chunk.end === "nothingSampled") throw new Error("llama.cpp sampled no token");
      if (chunk.end) return chunk.end;
    }
  } finally {
    lane.cancelled = true;
    await done;
    sampler.dispose();
  }
}
