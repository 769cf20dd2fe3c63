// The generation engine: one loaded model, contexts for both signs of T, and generate().
import { availableParallelism } from "node:os";
import { basename } from "node:path";
import { getLlama, LlamaLogLevel, type Llama, type LlamaModel, type Token, type TokenBias } from "node-llama-cpp";
import { describeBackend, type BackendInfo } from "./backend.js";
import { ContextPool, type Sign } from "./contextPool.js";
import { DEFAULT_CONTEXT_SIZE, DEFAULT_LIMITS, DEFAULT_NEGATION, DEFAULT_TOKEN_POLICY } from "./defaults.js";
import { StreamingDetokenizer } from "./detokenizer.js";
import { resolveModel } from "./modelFile.js";
import { NEGATION_SCALE, prepareNegation, type NegationFiles, type NegationOptions } from "./negation.js";
import { excludedTokens, exclusionBias, vocabularyHasText, type TokenPolicy } from "./policy.js";
import { limitToken, negationDeviation, readLogits } from "./readout.js";
import { betaOf, checkRequest, InvalidRequestError, type GenerationInput, type RequestLimits } from "./request.js";
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
   * CPU threads per context. There is one context per sign, so at most twice this many run at
   * once. Defaults to defaultThreads(): llama.cpp's pool spin-waits, and threads that outnumber
   * free cores collapse its throughput (see defaultThreads).
   */
  threads?: number;
  /** GPU backend; false forces the CPU. Defaults to "auto". */
  gpu?: GpuSetting;
  /** Layers to offload to the GPU. Defaults to "auto". */
  gpuLayers?: "auto" | "max" | number;
  /** Context size in tokens (prompt plus output). Defaults to 1024, at most the trained size. */
  contextSize?: number;
  /** Generations of each sign that may run at the same time, as sequences of one context. Defaults to 1. */
  concurrency?: number;
  limits?: Partial<RequestLimits>;
  tokenPolicy?: Partial<TokenPolicy>;
  /** How logits are negated below zero (see NegationRoute). Defaults to "auto". */
  negation?: Partial<NegationOptions>;
  /** Extra truncation, off by default (pure temperature, as in the original experiment). */
  sampling?: { topK?: number; topP?: number; minP?: number };
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

export class Engine {
  readonly modelName: string;
  readonly contextSize: number;
  readonly limits: RequestLimits;
  readonly tokenPolicy: TokenPolicy;
  private readonly biasCache = new Map<string, TokenBias | undefined>();

  private readonly pool: ContextPool;

  private constructor(
    private readonly llama: Llama,
    /** The model as it is; it samples T ≥ 0 and is used for tokenizing. */
    readonly model: LlamaModel,
    /** Samples T < 0: the same model with the adapter, or the sign-flipped copy. */
    private readonly negatedModel: LlamaModel,
    readonly negation: NegationFiles,
    private readonly options: EngineOptions,
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
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.tokenPolicy = { ...DEFAULT_TOKEN_POLICY, ...options.tokenPolicy };
  }

  static async load(options: EngineOptions): Promise<Engine> {
    const modelPath = await resolveModel(options.model, options.modelsDir ?? "models");
    const negation = await prepareNegation(modelPath, options.cacheDir, { ...DEFAULT_NEGATION, ...options.negation });
    const llama = await getLlama({
      gpu: options.gpu ?? "auto",
      logLevel: LlamaLogLevel.error,
      build: "never",
      maxThreads: 0, // each context has its fixed number of threads
    });
    const load = (path: string) => llama.loadModel({ modelPath: path, gpuLayers: options.gpuLayers ?? "auto" });
    const model = await load(negation.modelPath);
    let engine: Engine | undefined;
    try {
      const negatedModel = negation.route === "copy" ? await load(negation.negatedModelPath) : model;
      engine = new Engine(llama, model, negatedModel, negation, options);
      await engine.verifyNegation();
      return engine;
    } catch (error) {
      await (engine ? engine.dispose() : model.dispose());
      throw error;
    }
  }

  /** Tokenizes a prompt the way generate() feeds it to the model (with BOS when the model wants it). */
  promptTokens(prompt: string): Token[] {
    const tokens = this.model.tokenize(prompt);
    const bos = this.model.tokens.bos;
    return this.model.tokens.shouldPrependBosToken && bos != null && tokens[0] !== bos ? [bos, ...tokens] : tokens;
  }

  async generate(input: GenerationInput, hooks: GenerateHooks = {}): Promise<GenerationResult> {
    const request = checkRequest(input, this.limits, this.tokenPolicy);
    const promptTokens = this.promptTokens(request.prompt);
    if (promptTokens.length + request.maxTokens >= this.contextSize) {
      throw new InvalidRequestError(
        `The prompt (${promptTokens.length} tokens) plus ${request.maxTokens} new tokens does not fit the ${this.contextSize}-token context.`,
      );
    }
    const belowZero = request.temperature < 0;
    const result: GenerationResult = {
      prompt: request.prompt,
      temperature: request.temperature,
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

    const tokenBias = this.biasFor(request.tokenPolicy, belowZero, request.vocab);
    const slot = await this.pool.acquire(belowZero ? "negated" : "positive", hooks.signal);
    const started = performance.now();
    try {
      const detokenizer = new StreamingDetokenizer(this.model, promptTokens);
      const tokens = slot.sequence.evaluate(promptTokens, {
        ...this.samplingOptions(),
        temperature: Math.abs(request.temperature),
        seed: request.seed,
        tokenBias,
      });
      for await (const token of tokens) {
        if (hooks.signal?.aborted) {
          result.stopReason = "aborted";
          break;
        }
        result.tokens.push(token);
        emit(detokenizer.push(token));
        if (result.tokens.length >= request.maxTokens) {
          result.stopReason = "maxTokens";
          break;
        }
      }
      emit(detokenizer.flush());
    } finally {
      await this.pool.release(slot);
    }
    result.tokensPerSecond = result.tokens.length / ((performance.now() - started) / 1000);
    if (hooks.score !== false) {
      result.surprisals = await this.surprisals(promptTokens, result.tokens);
      result.surprisal = meanSurprisal(result.surprisals);
    }
    return result;
  }

  /**
   * The surprisal of each of `tokens` after `promptTokens` under the model at T = 1, in nats:
   * one batched evaluation in a positive context (see weirdness.ts).
   */
  async surprisals(promptTokens: readonly Token[], tokens: readonly Token[]): Promise<number[]> {
    if (tokens.length === 0) return [];
    const slot = await this.pool.acquire("positive");
    try {
      return await surprisalsOf(slot.sequence, promptTokens, tokens);
    } finally {
      await this.pool.release(slot);
    }
  }

  /** The llama.cpp backend and devices this engine got, for the worker to report and check. */
  backend(): Promise<BackendInfo> {
    return describeBackend(this.llama, this.model);
  }

  async dispose(): Promise<void> {
    await this.pool.dispose();
    await this.model.dispose();
    if (this.negatedModel !== this.model) await this.negatedModel.dispose();
  }

  /** Null leaves a stage out of llama.cpp's sampler chain; undefined would mean top-k 40 / top-p 0.95. */
  private samplingOptions(): { topK?: number; topP?: number; minP: number } {
    const { topK = null, topP = null, minP = 0 } = this.options.sampling ?? {};
    return { topK, topP, minP } as { topK?: number; topP?: number; minP: number };
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

  /** The next-token logits after the given tokens (up to a constant), read out in a context of the given sign. */
  async logitsAfter(tokens: Token[], sign: Sign): Promise<Float64Array> {
    const slot = await this.pool.acquire(sign);
    try {
      const steps = readLogits(slot.sequence, tokens);
      const first = await steps.next();
      await steps.return();
      return first.value as Float64Array;
    } finally {
      await this.pool.release(slot);
    }
  }

  /**
   * Proves at load time that the negated model really computes −z (an architecture whose
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
        `The negation adapter did not negate the logits of ${this.modelName} (deviation ${deviation.toExponential(2)}); this architecture cannot be sampled below zero.`,
      );
    }
  }
}
