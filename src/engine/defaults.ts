// The engine's defaults, in a module with no native imports: the bot and the environment
// table read them without loading node-llama-cpp (which costs a second at import).
import type { NegationOptions } from "./negation.js";
import type { TokenPolicy } from "./policy.js";
import type { RequestLimits } from "./request.js";

export const DEFAULT_LIMITS: RequestLimits = { maxAbsTemperature: 100, maxTokensCap: 512, maxPromptCharacters: 2000 };

/** Tokens per context (prompt plus output); the engine also keeps to the model's trained size. */
export const DEFAULT_CONTEXT_SIZE = 1024;

/** Copy models up to 1 GiB (native speed, twice the memory), the adapter above. */
export const DEFAULT_NEGATION: NegationOptions = { route: "auto", copyMaxBytes: 1024 ** 3 };

export const DEFAULT_TOKEN_POLICY: TokenPolicy = { allowBytes: false, allowEndBelowZero: false, allowAll: false };

/**
 * Pure temperature: null leaves a stage out of llama.cpp's sampler chain (no full-vocabulary
 * sort), where undefined would mean node-llama-cpp's top-k 40 / top-p 0.95. Its types allow no null.
 */
export const PURE_TEMPERATURE = { topK: null, topP: null, minP: 0 } as unknown as {
  topK?: number;
  topP?: number;
  minP: number;
};
