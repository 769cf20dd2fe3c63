// Which tokens may be sampled. Below zero the least likely tokens win, and those are often
// no text at all: control, unknown and unused tokens, raw bytes, and the end-of-text token.
// Above zero only control, unknown and unused tokens are kept out: byte tokens spell
// newlines and non-ASCII text there, and the end token ends the reply as usual.
// A request's vocabulary (vocabulary.ts) narrows the allowed tokens further, by their text.
import { LlamaContextSequence, TokenBias, type LlamaModel, type Token } from "node-llama-cpp";
import { allowsText, hasScriptCharacter, type Vocabulary } from "./vocabulary.js";

export interface TokenPolicy {
  /** Raw byte tokens such as <0x00> below zero; off by default, as there they are byte soup. */
  allowBytes: boolean;
  /** End-of-generation tokens below zero; off by default, or most replies below zero would be empty. */
  allowEndBelowZero: boolean;
  /** Switch the policy off: every token of the vocabulary may be sampled. */
  allowAll: boolean;
}

const REPLACEMENT_CHARACTER = "\uFFFD";
const tokenTextCache = new WeakMap<LlamaModel, string[]>();

/**
 * Each token's own text, spaces as spaces: decoded after the BOS token, since llama.cpp drops a
 * SentencePiece token's leading space when it comes first. Built once per model (~0.2 s at 128k).
 */
export function tokenTexts(model: LlamaModel): readonly string[] {
  let texts = tokenTextCache.get(model);
  if (texts === undefined) {
    const bos = model.tokens.bos;
    const prefix = bos != null && model.detokenize([bos], false) === "" ? [bos] : [];
    texts = Array.from(model.iterateAllTokens(), token => model.detokenize([...prefix, token], false));
    tokenTextCache.set(model, texts);
  }
  return texts;
}

/**
 * Byte-level BPE vocabularies (LLaMA 3) hold no <0xNN> byte tokens but ~1,400 ordinary tokens
 * that are a piece of a UTF-8 character; alone they decode to U+FFFD. They count as bytes.
 */
function isBytePiece(model: LlamaModel, token: Token): boolean {
  return model.getTokenAttributes(token).byte || (tokenTexts(model)[token] ?? "").includes(REPLACEMENT_CHARACTER);
}

export function isAllowed(model: LlamaModel, token: Token, policy: TokenPolicy, belowZero: boolean): boolean {
  if (policy.allowAll) return true;
  if (model.isEogToken(token)) return !belowZero || policy.allowEndBelowZero;
  const attributes = model.getTokenAttributes(token);
  if (attributes.control || attributes.unknown || attributes.unused || attributes.undefined) return false;
  return !belowZero || policy.allowBytes || !isBytePiece(model, token);
}

/** Whether the vocabulary allows the token: by its text, or as an end token (left to the policy). */
export function vocabularyAllows(model: LlamaModel, token: Token, vocabulary: Vocabulary): boolean {
  return vocabulary === "any" || model.isEogToken(token) || allowsText(vocabulary, tokenTexts(model)[token] ?? "");
}

export function excludedTokens(
  model: LlamaModel,
  policy: TokenPolicy,
  belowZero: boolean,
  vocabulary: Vocabulary = "any",
): Token[] {
  const excluded: Token[] = [];
  for (const token of model.iterateAllTokens()) {
    if (!isAllowed(model, token, policy, belowZero) || !vocabularyAllows(model, token, vocabulary))
      excluded.push(token);
  }
  return excluded;
}

/** Whether anything of the vocabulary's script is left to sample once the policy has had its say. */
export function vocabularyHasText(
  model: LlamaModel,
  policy: TokenPolicy,
  belowZero: boolean,
  vocabulary: Vocabulary,
): boolean {
  const texts = tokenTexts(model);
  for (const token of model.iterateAllTokens()) {
    const text = texts[token] ?? "";
    if (model.isEogToken(token) || !isAllowed(model, token, policy, belowZero)) continue;
    if (allowsText(vocabulary, text) && hasScriptCharacter(vocabulary, text)) return true;
  }
  return false;
}

interface AddonBiases {
  tokenBiasKeys: Uint32Array;
  tokenBiasValues: Float32Array;
}
type ResolveSamplerConfig = (
  this: LlamaContextSequence,
  options: { tokenBias?: unknown } & Record<string, unknown>,
) => Record<string, unknown>;

/**
 * node-llama-cpp 3.22.1 turns a TokenBias's Map into typed arrays at every sampled token
 * (LlamaContextSequence._resolveSamplerConfig): 6 ms a token for the ~90,000 entries a script
 * vocabulary excludes from 128k, more than a small model's whole step. Tables made here carry
 * their arrays, built once; the resolver is taught to hand those to the addon as they are.
 */
const prebuilt = new WeakMap<TokenBias, AddonBiases>();
let resolverTaught = false;

function teachResolver(): void {
  if (resolverTaught) return;
  const prototype = LlamaContextSequence.prototype as unknown as { _resolveSamplerConfig?: ResolveSamplerConfig };
  const original = prototype._resolveSamplerConfig;
  if (typeof original !== "function") {
    throw new Error("node-llama-cpp no longer has LlamaContextSequence._resolveSamplerConfig (pinned: 3.22.1).");
  }
  prototype._resolveSamplerConfig = function (options) {
    const bias = options.tokenBias;
    const arrays = bias instanceof TokenBias ? prebuilt.get(bias) : undefined;
    // A table of another model's tokenizer goes the library's way, which refuses it.
    if (arrays === undefined || (bias as { _tokenizer: unknown })._tokenizer !== this.model.tokenizer)
      return original.call(this, options);
    return { ...original.call(this, { ...options, tokenBias: undefined }), ...arrays };
  };
  resolverTaught = true;
}

/**
 * A bias table that makes the excluded tokens impossible (−∞). TokenBias.set() in
 * node-llama-cpp 3.21.1 silently skips end-of-generation tokens, so the table is filled
 * directly; the addon passes it to llama.cpp's logit-bias sampler as is (proven by a test).
 */
export function exclusionBias(model: LlamaModel, tokens: Token[]): TokenBias | undefined {
  if (tokens.length === 0) return undefined;
  teachResolver();
  const bias = new TokenBias(model.tokenizer);
  const table = (bias as unknown as { _biases: Map<Token, number> })._biases;
  for (const token of tokens) table.set(token, -Infinity);
  prebuilt.set(bias, {
    tokenBiasKeys: Uint32Array.from(table.keys()),
    tokenBiasValues: new Float32Array(table.size).fill(-Infinity),
  });
  return bias;
}
