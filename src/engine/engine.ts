// The generation engine: one loaded model, its contexts, and generate(). Below zero it samples
// in one of two ways (see NegationRoute): a patched sampler negates the logits itself, so one
// context serves both signs; otherwise a second context computes −z (adapter or copy).
import { availableParallelism } from "node:os";
import { basename } from "node:path";
import { getLlama, LlamaLogLevel, type Llama, type LlamaModel, type Token, type TokenBias } from "node-llama-cpp";
import { describeBackend, type BackendInfo } from "./backend.js";
import { ContextPool, type ContextSign, type Slot } from "./contextPool.js";
import {
  DEFAULT_CONTEXT_SIZE,
  DEFAULT_LIMITS,
  DEFAULT_NEGATION,
  DEFAULT_TOKEN_POLICY,
  PURE_TEMPERATURE,
} from "./defaults.js";
import { StreamingDetokenizer } from "./detokenizer.js";
import { readGguf } from "./gguf.js";
import { resolveModel } from "./modelFile.js";
import { NEGATION_SCALE, prepareNegation, type Negation, type NegationOptions } from "./negation.js";
import { excludedTokens, exclusionBias, vocabularyHasText, type TokenPolicy } from "./policy.js";
import { limitToken, negationDeviation, readLogits } from "./readout.js";
import {
  betaOf,
  checkRequest,
  InvalidRequestError,
  type GenerationInput,
  type GenerationRequest,
  type RequestLimits,
} from "./request.js";
import { temperaturesOf, type Schedule } from "./schedule.js";
import { generateNative, hasNativeSteps } from "./nativeSteps.js";
import { generateStepwise, type Lane } from "./stepwise.js";
import { probeSamplerBelowZero } from "./samplerNegation.js";
import type { Vocabulary } from "./vocabulary.js";
import { meanSurprisal, surprisalsOf } from "./weirdness.js";

export type GpuSetting = "auto" | false | "cuda" | "vulkan" | "metal";

export interface EngineOptions {
  /** Path to a GGUF file, or a model URI (hf:user/repo/file.gguf, https://…). */
  model: string;
  /** Where model URIs are downloaded. Defaults to ./models. */
  modelsDir?: string;
  /** Where derived files go when the model's folder is read-only. */
  cacheDir: string;
  /**
   * CPU threads per context. Without the patched sampler there is one context per sign, so at
   * most twice this many run at once. Defaults to defaultThreads(): llama.cpp's pool spin-waits,
   * and threads that outnumber free cores collapse its throughput (see defaultThreads).
   */
  threads?: number;
  /** GPU backend; false forces the CPU. Defaults to "auto". */
  gpu?: GpuSetting;
  /** Layers to offload to the GPU. Defaults to "auto". */
  gpuLayers?: "auto" | "max" | number;
  /** Context size in tokens (prompt plus output). Defaults to 1024, at most the trained size. */
  contextSize?: number;
  /**
   * Generations that may run at the same time, as sequences of one context: of each sign in its
   * own context (adapter and copy routes), of both signs together on the "sampler" route. Defaults to 1.
   */
  concurrency?: number;
  limits?: Partial<RequestLimits>;
  tokenPolicy?: Partial<TokenPolicy>;
  /** How logits are negated below zero (see NegationRoute). Defaults to "auto". */
  negation?: Partial<NegationOptions>;
  /**
   * On the "sampler" route, generate one temperature's replies as native chunks of steps for all
   * running generations of a context, with the weirdness score read in the same steps (see
   * nativeSteps.ts), where the backend has them. "auto" (the default): on the CPU, where it is
   * measured faster than node-llama-cpp's loop; not on a GPU, where it has not run yet.
   */
  nativeSteps?: boolean | "auto";
}

export type StopReason = "endOfGeneration" | "maxTokens" | "aborted";

export interface GenerationResult {
  prompt: string;
  temperature: number;
  /** 1/T; Infinity at T = 0. */
  beta: number;
  seed: number;
  /** The tokens it could sample, by script (see vocabulary.ts). */
  vocab: Vocabulary;
  model: string;
  /** The schedule the tokens were sampled on, or null for one temperature. */
  schedule: Schedule | null;
  /** The temperature each generated token was sampled at. */
  temperatures: number[];
  /** Generated token ids (the prompt not included). */
  tokens: Token[];
  text: string;
  stopReason: StopReason;
  /** Generated tokens per second of generation (scoring not included). */
  tokensPerSecond: number;
  /** The weirdness score: mean surprisal of the tokens at T = 1, nats per token; null without tokens. */
  surprisal: number | null;
  /** Surprisal of each generated token at T = 1, in nats (see weirdness.ts). */
  surprisals: number[];
}

export interface GenerateHooks {
  /** Called with each new piece of text, never splitting a UTF-8 character. */
  /** tokens: how many tokens have been generated so far (a chunk may hold several, or wait for more). */
  onText?: (chunk: string, tokens: number) => void;
  signal?: AbortSignal;
  /** Compute the weirdness score (surprisal, surprisals). Defaults to true. */
  score?: boolean;
}

/**
 * Half of all cores but one, at least 1: with both signs' contexts decoding, their threads
 * still leave a core to the event loop and a neighbour. Measured on 2 cores with the prebuilt
 * CPU backend of node-llama-cpp 3.22.1 (no OpenMP) beside one busy process: 2 threads gave
 * 4–6 tokens/s where 1 thread gave 136–634, as the pool spin-waits for the thread that lost its core.
 */
export function defaultThreads(cores = availableParallelism()): number {
  return Math.max(1, Math.floor((cores - 1) / 2));
}

// Logits of the negated context must sum with the positive ones to a constant. The readout
// itself is exact to ~1e-5 (float32 ln p, times R = 100); a failed negation is off by 2|z|.
const NEGATION_TOLERANCE = 1e-3;

/** A prompt's tokens as generate() feeds them to the model (with BOS when the model wants it). */
function promptTokensOf(model: LlamaModel, prompt: string): Token[] {
  const tokens = model.tokenize(prompt);
  const bos = model.tokens.bos;
  return model.tokens.shouldPrependBosToken && bos != null && tokens[0] !== bos ? [bos, ...tokens] : tokens;
}

type StopReasonOfStream = "maxTokens" | "endOfGeneration" | "aborted";

/** Tokens as they are generated, and afterwards why they stopped. */
interface TokenStream extends AsyncIterable<Token> {
  stopReason(): StopReasonOfStream;
  /** Each token's surprisal where the steps read it (native steps), else null: scored afterwards. */
  surprisals(): number[] | null;
}

function tokenStream(
  generator: AsyncGenerator<Token, StopReasonOfStream>,
  surprisals: number[] | null = null,
): TokenStream {
  let reason: StopReasonOfStream = "endOfGeneration";
  return {
    stopReason: () => reason,
    surprisals: () => surprisals,
    async *[Symbol.asyncIterator]() {
      reason = yield* generator;
    },
  };
}

/** llama.cpp's backend as every engine loads it; share one between the engines of a process. */
export function openLlama(gpu: GpuSetting = "auto"): Promise<Llama> {
  return getLlama({
    gpu,
    logLevel: LlamaLogLevel.error,
    build: "never",
    maxThreads: 0, // each context has its fixed number of threads
  });
}

export class Engine {
  readonly modelName: string;
  readonly contextSize: number;
  readonly limits: RequestLimits;
  readonly tokenPolicy: TokenPolicy;
  private readonly biasCache = new Map<string, TokenBias | undefined>();

  private readonly pool: ContextPool;
  /** Whether one temperature's replies run as native chunks of steps (see EngineOptions.nativeSteps). */
  readonly nativeSteps: boolean;

  private constructor(
    private readonly llama: Llama,
    /** Whether dispose() disposes the Llama too: not when the caller shares one between engines. */
    private readonly ownsLlama: boolean,
    /** The model as it is; it samples T ≥ 0 and is used for tokenizing. */
    readonly model: LlamaModel,
    /** Samples T < 0: the model itself (sampler route, and adapter route in a second context) or the sign-flipped copy. */
    private readonly negatedModel: LlamaModel,
    readonly negation: Negation,
    options: EngineOptions,
  ) {
    this.modelName = basename(options.model);
    this.contextSize = Math.min(options.contextSize ?? DEFAULT_CONTEXT_SIZE, model.trainContextSize);
    const threads = options.threads ?? defaultThreads();
    this.pool = new ContextPool(
      (sign, sequences) => {
        const lora =
          sign === "negated" && negation.route === "adapter"
            ? { adapters: [{ filePath: negation.adapterPath, scale: NEGATION_SCALE }] }
            : undefined;
        return (sign === "negated" ? negatedModel : model).createContext({
          contextSize: this.contextSize,
          threads,
          sequences,
          lora,
        });
      },
      Math.max(1, options.concurrency ?? 1),
    );
    const wanted = (options.nativeSteps ?? "auto") === "auto" ? llama.gpu === false : options.nativeSteps === true;
    this.nativeSteps = wanted && negation.route === "sampler" && hasNativeSteps(llama);
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.tokenPolicy = { ...DEFAULT_TOKEN_POLICY, ...options.tokenPolicy };
  }

  /**
   * Loads the model and proves its negation. Several engines in one process (a worker serving
   * several models) share one Llama, `shared` from openLlama(): llama.cpp's backend is loaded
   * once per process, disposing any Llama frees it for all, and node-llama-cpp fits each
   * model's GPU layers to the memory the models before it left.
   */
  static async load(options: EngineOptions, shared?: Llama): Promise<Engine> {
    const modelPath = await resolveModel(options.model, options.modelsDir ?? "models");
    readGguf(modelPath); // a bad file gets the GGUF reader's clear error, not llama.cpp's
    const negationOptions = { ...DEFAULT_NEGATION, ...options.negation };
    const llama = shared ?? (await openLlama(options.gpu));
    const loaded: LlamaModel[] = [];
    const load = async (path: string) => {
      const model = await llama.loadModel({ modelPath: path, gpuLayers: options.gpuLayers ?? "auto" });
      loaded.push(model);
      return model;
    };
    let engine: Engine | undefined;
    try {
      let model: LlamaModel | undefined;
      let negation: Negation | undefined;
      if (negationOptions.route === "auto" || negationOptions.route === "sampler") {
        model = await load(modelPath);
        const threads = options.threads ?? defaultThreads();
        if ((await probeSamplerBelowZero(model, promptTokensOf(model, "The"), threads)) === "negates") {
          negation = { route: "sampler", modelPath };
        } else if (negationOptions.route === "sampler") {
          throw new Error(
            `The "sampler" negation route needs a backend built from belowzero's patched sources, but this ` +
              `${llama.buildType} backend samples T ≤ 0 greedily: run npm run build:cpu-backend ` +
              `(or scripts/build-cuda-backend.sh), or choose the "auto", "adapter" or "copy" route.`,
          );
        }
      }
      negation ??= await prepareNegation(modelPath, options.cacheDir, negationOptions);
      if (model && negation.modelPath !== modelPath) {
        await model.dispose(); // a tied model: the adapter and copy routes load its untied copy
        model = undefined;
      }
      model ??= await load(negation.modelPath);
      const negatedModel = negation.route === "copy" ? await load(negation.negatedModelPath) : model;
      engine = new Engine(llama, shared === undefined, model, negatedModel, negation, options);
      await engine.verifyNegation();
      return engine;
    } catch (error) {
      if (engine) await engine.dispose();
      else if (shared)
        await Promise.all(loaded.map(model => model.dispose())); // the other engines keep it
      else await llama.dispose(); // the Llama disposes its models
      throw error;
    }
  }

  /** Tokenizes a prompt the way generate() feeds it to the model (with BOS when the model wants it). */
  promptTokens(prompt: string): Token[] {
    return promptTokensOf(this.model, prompt);
  }

  async generate(input: GenerationInput, hooks: GenerateHooks = {}): Promise<GenerationResult> {
    const request = checkRequest(input, this.limits, this.tokenPolicy);
    const promptTokens = this.promptTokens(request.prompt);
    if (promptTokens.length + request.maxTokens >= this.contextSize) {
      throw new InvalidRequestError(
        `The prompt (${promptTokens.length} tokens) plus ${request.maxTokens} new tokens does not fit the ${this.contextSize}-token context.`,
      );
    }
    const result: GenerationResult = {
      prompt: request.prompt,
      temperature: request.temperature,
      schedule: request.schedule ?? null,
      temperatures: [],
      beta: betaOf(request.temperature),
      seed: request.seed,
      vocab: request.vocab,
      model: this.modelName,
      tokens: [],
      text: "",
      stopReason: "endOfGeneration",
      tokensPerSecond: 0,
      surprisal: null,
      surprisals: [],
    };
    const emit = (chunk: string) => {
      if (chunk === "") return;
      result.text += chunk;
      hooks.onText?.(chunk, result.tokens.length);
    };

    const started = performance.now();
    const detokenizer = new StreamingDetokenizer(this.model, promptTokens);
    const generated = request.schedule
      ? this.sampleSchedule(promptTokens, request, hooks.signal)
      : this.sampleFixed(promptTokens, request, hooks.score !== false, hooks.signal);
    for await (const token of generated) {
      result.tokens.push(token);
      emit(detokenizer.push(token));
    }
    result.stopReason = generated.stopReason();
    emit(detokenizer.flush());
    result.temperatures = request.schedule
      ? temperaturesOf(request.schedule, request.maxTokens, this.limits).slice(0, result.tokens.length)
      : result.tokens.map(() => request.temperature);
    result.tokensPerSecond = result.tokens.length / ((performance.now() - started) / 1000);
    if (hooks.score !== false) {
      result.surprisals = generated.surprisals() ?? (await this.surprisals(promptTokens, result.tokens));
      result.surprisal = meanSurprisal(result.surprisals);
    }
    return result;
  }

  /** One temperature for the whole reply: one evaluate() on a context of its sign, or native steps. */
  private sampleFixed(
    promptTokens: Token[],
    request: GenerationRequest,
    score: boolean,
    signal?: AbortSignal,
  ): TokenStream {
    const belowZero = request.temperature < 0;
    if (this.nativeSteps) return this.sampleNative(promptTokens, request, score, signal);
    return tokenStream(
      async function* (this: Engine) {
        const slot = await this.pool.acquire(this.contextSign(belowZero), signal);
        try {
          const tokens = slot.sequence.evaluate(promptTokens, {
            ...PURE_TEMPERATURE,
            // the patched sampler negates below zero; a negated context is sampled at |T|
            temperature: this.negation.route === "sampler" ? request.temperature : Math.abs(request.temperature),
            seed: request.seed,
            tokenBias: this.biasFor(request.tokenPolicy, belowZero, request.vocab),
          });
          let count = 0;
          for await (const token of tokens) {
            if (signal?.aborted) return "aborted";
            yield token;
            if (++count >= request.maxTokens) return "maxTokens";
          }
          return "endOfGeneration";
        } finally {
          await this.pool.release(slot);
        }
      }.call(this),
    );
  }

  /** One temperature on the "sampler" route as native chunks of steps, with each token's surprisal. */
  private sampleNative(
    promptTokens: Token[],
    request: GenerationRequest,
    score: boolean,
    signal?: AbortSignal,
  ): TokenStream {
    const surprisals: number[] = [];
    return tokenStream(
      async function* (this: Engine) {
        const slot = await this.pool.acquire("positive", signal);
        try {
          const steps = generateNative(
            slot.sequence,
            promptTokens,
            {
              temperature: request.temperature,
              seed: request.seed,
              tokenBias: this.biasFor(request.tokenPolicy, request.temperature < 0, request.vocab),
              sampling: PURE_TEMPERATURE,
              score,
            },
            request.maxTokens,
            signal,
          );
          try {
            for (;;) {
              const step = await steps.next();
              if (step.done) return step.value;
              surprisals.push(step.value.surprisal);
              yield step.value.token;
            }
          } finally {
            await steps.return("aborted"); // ends the lane (and removes its cells) when the reader stops early
          }
        } finally {
          await this.pool.release(slot);
        }
      }.call(this),
      surprisals,
    );
  }

  /**
   * A temperature per token: one step at a time (stepwise.ts), on a sequence of each sign the
   * schedule needs. Slots are taken positive first, so two such requests never wait on each other.
   */
  private sampleSchedule(promptTokens: Token[], request: GenerationRequest, signal?: AbortSignal): TokenStream {
    const temperatures = temperaturesOf(request.schedule!, request.maxTokens, this.limits);
    // On the sampler route both signs are one context: one lane, sampled at the signed T.
    const needed = new Set(temperatures.map(t => this.contextSign(t < 0)));
    const signs = (["positive", "negated"] as const).filter(sign => needed.has(sign));
    return tokenStream(
      async function* (this: Engine) {
        const slots: Slot[] = [];
        try {
          for (const sign of signs) slots.push(await this.pool.acquire(sign, signal));
          const lanes = new Map<ContextSign, Lane>(
            slots.map(slot => [
              slot.sign,
              {
                sequence: slot.sequence,
                // the patched sampler negates below zero itself; a negated context is sampled at |T|
                samplerTemperature: this.negation.route === "sampler" ? (t: number) => t : Math.abs,
                bias: (t: number) => this.biasFor(request.tokenPolicy, t < 0, request.vocab),
              },
            ]),
          );
          return yield* generateStepwise(this.model, promptTokens, {
            temperatures,
            laneFor: t => lanes.get(this.contextSign(t < 0))!,
            lanes: [...lanes.values()],
            seed: request.seed,
            sampling: PURE_TEMPERATURE,
            signal,
          });
        } finally {
          for (const slot of slots) await this.pool.release(slot);
        }
      }.call(this),
    );
  }

  /**
   * The surprisal of each of `tokens` after `promptTokens` under the model at T = 1, in nats:
   * one batched evaluation in a positive context (see weirdness.ts).
   */
  async surprisals(promptTokens: readonly Token[], tokens: readonly Token[]): Promise<number[]> {
    if (tokens.length === 0) return [];
    const slot = await this.pool.acquire("positive");
    try {
      const started = performance.now();
      const surprisals = await surprisalsOf(slot.sequence, promptTokens, tokens);
      this.lastScoringSpeed = (promptTokens.length + tokens.length) / ((performance.now() - started) / 1000);
      return surprisals;
    } finally {
      await this.pool.release(slot);
    }
  }

  private lastScoringSpeed: number | undefined;

  /**
   * Tokens per second of the last weirdness scoring (prompt and output evaluated at T = 1),
   * undefined before the first: a job with a deadline stops generating in time to be scored.
   */
  get scoringTokensPerSecond(): number | undefined {
    return this.lastScoringSpeed;
  }

  /** The llama.cpp backend and devices this engine got, for the worker to report and check. */
  backend(): Promise<BackendInfo> {
    return describeBackend(this.llama, this.model);
  }

  /** Disposes what load() made: the contexts, the models and the Llama (unless it was shared). */
  async dispose(): Promise<void> {
    await this.pool.dispose();
    await this.model.dispose();
    if (this.negatedModel !== this.model) await this.negatedModel.dispose();
    if (this.ownsLlama) await this.llama.dispose();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }

  /** Where a generation of this sign runs: on the "sampler" route, one context serves both. */
  private contextSign(belowZero: boolean): ContextSign {
    return belowZero && this.negation.route !== "sampler" ? "negated" : "positive";
  }

  /**
   * The −∞ table of the policy and the vocabulary together, built once per combination. A bias
   * table belongs to one model's tokenizer, so below zero it is built on the negated model.
   */
  private biasFor(policy: TokenPolicy, belowZero: boolean, vocab: Vocabulary): TokenBias | undefined {
    const key = `${policy.allowBytes}/${policy.allowEndBelowZero}/${policy.allowAll}/${belowZero}/${vocab}`;
    if (!this.biasCache.has(key)) {
      const model = belowZero ? this.negatedModel : this.model;
      if (vocab !== "any" && !vocabularyHasText(model, policy, belowZero, vocab)) {
        throw new InvalidRequestError(
          `The ${vocab} vocabulary leaves nothing to sample with ${this.modelName}: none of its tokens spells ${vocab} text. Choose another vocabulary, or "any".`,
        );
      }
      this.biasCache.set(key, exclusionBias(model, excludedTokens(model, policy, belowZero, vocab)));
    }
    return this.biasCache.get(key);
  }

  /**
   * The next-token logits after the given tokens (up to a constant): z, or −z as the engine samples
   * them below zero (from the negated context, or on the "sampler" route read out at −R).
   */
  async logitsAfter(tokens: Token[], sign: ContextSign): Promise<Float64Array> {
    const slot = await this.pool.acquire(this.contextSign(sign === "negated"));
    try {
      const steps = readLogits(slot.sequence, tokens, sign === "negated" && this.negation.route === "sampler");
      const first = await steps.next();
      await steps.return();
      return first.value as Float64Array;
    } finally {
      await this.pool.release(slot);
    }
  }

  /**
   * Proves at load time that below zero the engine really samples −z (an architecture whose
   * output layer bypasses LoRA, say, would otherwise silently sample above zero).
   */
  private async verifyNegation(): Promise<void> {
    const probe = this.promptTokens("The");
    const positive = await this.logitsAfter(probe, "positive");
    const negated = await this.logitsAfter(probe, "negated");
    const { deviation, range } = negationDeviation(positive, negated);
    const allowAll = () => true;
    if (
      deviation > NEGATION_TOLERANCE * Math.max(1, range) ||
      limitToken(positive, false, allowAll) !== limitToken(negated, true, allowAll)
    ) {
      throw new Error(
        `The ${this.negation.route} route did not negate the logits of ${this.modelName} (deviation ${deviation.toExponential(2)}); this architecture cannot be sampled below zero.`,
      );
    }
  }
}
