import type { LlamaModel, Token } from "node-llama-cpp";

const REPLACEMENT_CHARACTER = "\uFFFD";
// A UTF-8 character spans at most 4 byte tokens; past that the bytes are invalid for good.
const MAX_PENDING_TOKENS = 4;
const CONTEXT_TOKENS = 8;

/**
 * Turns a stream of tokens into text chunks without splitting a UTF-8 character across
 * chunks: tokens whose text ends in an incomplete character wait for the next token.
 * Earlier tokens are passed as context so SentencePiece spacing comes out right.
 */
export class StreamingDetokenizer {
  private context: Token[];
  private pending: Token[] = [];

  constructor(
    private readonly model: LlamaModel,
    promptTokens: readonly Token[],
  ) {
    this.context = promptTokens.slice(-CONTEXT_TOKENS);
  }

  /** Adds a token; returns the text that is now complete (possibly ""). */
  push(token: Token): string {
    this.pending.push(token);
    const text = this.decodePending();
    if (text.endsWith(REPLACEMENT_CHARACTER) && this.pending.length < MAX_PENDING_TOKENS) return "";
    return this.commit(text);
  }

  /** Returns whatever is still pending, complete or not. */
  flush(): string {
    return this.pending.length === 0 ? "" : this.commit(this.decodePending());
  }

  private decodePending(): string {
    return this.model.detokenize(this.pending, false, this.context);
  }

  private commit(text: string): string {
    this.context = [...this.context, ...this.pending].slice(-CONTEXT_TOKENS);
    this.pending = [];
    return text;
  }
}

/**
 * Each token's own text as it reads after the tokens before it (SentencePiece spacing included):
 * labels for a chart, not a way to rebuild the text (a byte token alone is part of a character).
 */
export function tokenPieces(model: LlamaModel, promptTokens: readonly Token[], tokens: readonly Token[]): string[] {
  const all = [...promptTokens, ...tokens];
  return tokens.map((token, i) => {
    const at = promptTokens.length + i;
    return model.detokenize([token], false, all.slice(Math.max(0, at - CONTEXT_TOKENS), at));
  });
}
