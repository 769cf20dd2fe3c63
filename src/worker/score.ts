// "How weird is this?": a message's weirdness, scored by a worker (the bot has no model) and
// answered on the member's ephemeral deferred reply only. The score is the one the
// leaderboards rank outputs by (engine/weirdness.ts): the mean surprisal of the text's tokens
// under the model at T = 1, here after the model's start of text instead of a prompt.
import { UnrecoverableError, type Job } from "bullmq";
import type { REST } from "@discordjs/rest";
import { Routes } from "discord.js";
import type { Engine } from "../engine/engine.js";
import { formatWeirdness, meanSurprisal } from "../engine/weirdness.js";
import { tokenPieces } from "../engine/detokenizer.js";
import { NO_MENTIONS, safeInline } from "../discord/format.js";
import { INTERACTION_TOKEN_LIFETIME_MS, parseScoreJob } from "../job.js";

/** How many of the most surprising tokens the answer names. */
const TOP_TOKENS = 3;

/** The answer's text: the score, how many tokens it is over, and the tokens that surprised most. */
export async function scoreText(engine: Engine, text: string): Promise<string> {
  const tokens = engine.promptTokens(text);
  // The first token is what the model starts from (its BOS when it has one): it is not scored.
  const [start, ...scored] = tokens;
  if (start === undefined || scored.length === 0)
    return "That message is too short to score: it needs at least two tokens.";
  if (tokens.length > engine.contextSize)
    return `That message is ${tokens.length} tokens long, more than this model's ${engine.contextSize}-token context, so it can't be scored.`;
  const surprisals = await engine.surprisals([start], scored);
  const pieces = tokenPieces(engine.model, [start], scored);
  const top = surprisals
    .map((surprisal, i) => ({ surprisal, piece: pieces[i]! }))
    .sort((a, b) => b.surprisal - a.surprisal)
    .slice(0, TOP_TOKENS)
    .map(({ surprisal, piece }) => `“${safeInline(piece.trim() || piece)}” (${surprisal.toFixed(1)})`);
  return [
    `Weirdness **${formatWeirdness(meanSurprisal(surprisals))}** nats per token over ${scored.length} tokens (${safeInline(engine.modelName)}).`,
    `Most surprising: ${top.join(", ")}.`,
    "It is how surprised the model is by each token at T = 1, the score /weird shows under every result: greedy text scores low, text sampled below zero far higher.",
  ].join("\n");
}

/** What a score job needs of its token's life: a few seconds to score a message and edit the reply. */
export const SCORE_MARGIN_MS = 10_000;

/** Answers a score job on its ephemeral reply; a job whose token is gone is dropped (it was private). */
export async function processScoreJob(
  job: Job,
  engine: Engine,
  rest: REST,
  /** Runs the scoring when its model's turn comes (a worker serving several models). */
  takeTurn: (work: () => Promise<string>) => Promise<string> = work => work(),
  now: () => number = Date.now,
): Promise<void> {
  let request: ReturnType<typeof parseScoreJob>;
  try {
    request = parseScoreJob(job.data);
  } catch (error) {
    throw new UnrecoverableError((error as Error).message);
  }
  // Checked again once its turn comes: the token may expire while it waits. With time left for
  // the scoring and the edit, or the edit fails on a dead token after the work is done.
  const checkToken = () => {
    if (now() - request.interactionAt >= INTERACTION_TOKEN_LIFETIME_MS - SCORE_MARGIN_MS)
      throw new UnrecoverableError("its interaction token expired before it ran; nobody else may see the answer");
  };
  checkToken();
  const content = await takeTurn(() => {
    checkToken();
    return scoreText(engine, request.text);
  });
  await rest.patch(Routes.webhookMessage(request.applicationId, request.interactionToken, "@original"), {
    body: { content, allowed_mentions: NO_MENTIONS },
    auth: false,
  });
}
