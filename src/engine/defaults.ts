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
