// Which tokens may be sampled. Below zero the least likely tokens win, and those are often
// no text at all: control, unknown and unused tokens, raw bytes, and the end-of-text token.
// Above zero only control, unknown and unused tokens are kept out: byte tokens spell
// newlines and non-ASCII text there, and the end token ends the reply as usual.
import { TokenBias, type LlamaModel, type Token } from "node-llama-cpp";

export interface TokenPolicy {
  /** Raw byte tokens such as <0x00> below zero; off by default, as there they are byte soup. */
  allowBytes: boolean;
  /** End-of-generation tokens below zero; off by default, or most replies below zero would be empty. */
  allowEndBelowZero: boolean;
  /** Switch the policy off: every token of the vocabulary may be sampled. */
  allowAll: boolean;
}

export function isAllowed(model: LlamaModel, token: Token, policy: TokenPolicy, belowZero: boolean): boolean {
  if (policy.allowAll) return true;
  if (model.isEogToken(token)) return !belowZero || policy.allowEndBelowZero;
  const attributes = model.getTokenAttributes(token);
  if (attributes.byte) return !belowZero || policy.allowBytes;
  return !(attributes.control || attributes.unknown || attributes.unused || attributes.undefined);
}

export function excludedTokens(model: LlamaModel, policy: TokenPolicy, belowZero: boolean): Token[] {
  const excluded: Token[] = [];
  for (const token of model.iterateAllTokens()) {
    if (!isAllowed(model, token, policy, belowZero)) excluded.push(token);
  }
  return excluded;
}

/**
 * A bias table that makes the excluded tokens impossible (−∞). TokenBias.set() in
 * node-llama-cpp 3.21.1 silently skips end-of-generation tokens, so the table is filled
 * directly; the addon passes it to llama.cpp's logit-bias sampler as is (proven by a test).
 */
export function exclusionBias(model: LlamaModel, tokens: Token[]): TokenBias | undefined {
  if (tokens.length === 0) return undefined;
  const bias = new TokenBias(model.tokenizer);
  const table = (bias as unknown as { _biases: Map<Token, number> })._biases;
  for (const token of tokens) table.set(token, -Infinity);
  return bias;
}
