// How generations look in Discord. Generated text is hostile by nature (below zero it is
// the model's least likely tokens), so it goes in a code block with control characters made
// visible, fences broken, and mentions never allowed to ping.
import {
  ActionRowBuilder,
  ButtonBuilder,
  ButtonStyle,
  ComponentType,
  MessageFlags,
  type APIActionRowComponent,
  type APIButtonComponent,
  type APIMessageTopLevelComponent,
} from "discord.js";
import { flipSign, formatBeta } from "../engine/request.js";
import { formatWeirdness } from "../engine/weirdness.js";
import { describeSchedule, flipSchedule, formatSchedule, type Schedule } from "../engine/schedule.js";
import type { Vocabulary } from "../engine/vocabulary.js";
import { visibleText } from "../visibleText.js";
import type { ResultLayout } from "../store/settings.js";

export const MESSAGE_LIMIT = 2000;
/** Rendered characters of the prompt shown (after escaping, which can multiply its length). */
const PROMPT_PREVIEW = 400;
/** Sent with every message: generated text and prompts must never ping anyone. */
export const NO_MENTIONS = { parse: [] as never[] };

export interface MessageBody {
  /** Empty on a card: Components V2 carry their text in text displays, and Discord refuses content beside them. */
  content: string;
  components: APIMessageTopLevelComponent[];
  /** MessageFlags.IsComponentsV2 on a card (cards.ts). */
  flags?: number;
  allowed_mentions: typeof NO_MENTIONS;
  /** The full text, when the message had to truncate it. */
  attachment?: { name: string; data: string | Buffer; contentType: string };
}

export function formatTemperature(temperature: number): string {
  return `T = ${temperature} · β = ${formatBeta(temperature)}`;
}

// Every character that starts something Discord renders: emphasis, spoilers, code, headings
// and subtext (#, -#), block quotes (>), lists (-, *, +, 1.), masked links ([…](…)), bare
// links and their embeds (://, domain dots), timestamps, custom emoji, mentions and slash
// command mentions (<t:…>, <:…:…>, <@…>, <#…>, </…>), @everyone. A backslash before any of
// them makes Discord show the character itself (its escape rule takes any punctuation), so
// escaping each one neutralises every construct at once, including ones added later.
const MARKDOWN_SIGNIFICANT = /[\\*_~`|<>#\-+.[\]():/@]/g;

/** Member- or model-written text, shown as itself wherever it goes: never markdown, a link, or a ping. */
export function safeInline(text: string): string {
  return visibleText(text).replace(MARKDOWN_SIGNIFICANT, "\\$&");
}

/** A quoted, neutralised, shortened prompt. */
export function quotePrompt(prompt: string): string {
  const rendered = safeInline(prompt).replace(/\n/g, "\n> ");
  return "> " + truncateEscaped(rendered, PROMPT_PREVIEW);
}

/** The first `length` UTF-16 units of text (none when negative), without half a surrogate pair at the end. */
export function cutText(text: string, length: number): string {
  return text.slice(0, Math.max(0, length)).replace(/[\uD800-\uDBFF]$/, "");
}

/** Text in at most `length` UTF-16 units: cut, and an ellipsis as the last, when it is longer. */
export function truncate(text: string, length: number): string {
  return text.length > length ? `${cutText(text, length - 1)}…` : text;
}

/** Escaped text's first `length` units, and an ellipsis after them when any were cut. */
export function truncateEscaped(text: string, length: number): string {
  return text.length > length ? `${cutEscaped(text, length)}…` : text;
}

/** Cuts escaped text without leaving a lone backslash or half a surrogate pair at the end. */
export function cutEscaped(text: string, length: number): string {
  let cut = cutText(text, length);
  const trailingBackslashes = /\\*$/.exec(cut)![0].length;
  if (trailingBackslashes % 2 === 1) cut = cut.slice(0, -1);
  return cut;
}

/** Text for a code block: visible control characters, and no run of backticks that could close it. */
export function codeBlockText(text: string): string {
  return visibleText(text).replace(/`(?=`)/g, "`\u200b");
}

export function codeBlock(text: string): string {
  return "```\n" + (text === "" ? " " : text) + "\n```";
}

/** Fits header + prompt + output into one message, cutting the output if it must. */
export function fit(header: string, output: string, note: string): { content: string; truncated: boolean } {
  const whole = `${header}\n${codeBlock(output)}`;
  if (whole.length <= MESSAGE_LIMIT) return { content: whole, truncated: false };
  const room = Math.max(0, MESSAGE_LIMIT - header.length - note.length - 12);
  const cut = cutText(output, room);
  return { content: `${header}\n${codeBlock(cut + "…")}\n${note}`, truncated: true };
}

export interface ResultView {
  outputId: string;
  prompt: string;
  temperature: number;
  seed: number;
  model: string;
  text: string;
  tokenCount: number;
  stopReason: string;
  votes: number;
  /** Mean surprisal of the output under the model at T = 1, nats per token (null: no tokens). */
  surprisal: number | null;
  /** A temperature per token, when the output had one. */
  schedule?: Schedule;
  /** The script its tokens were limited to, when not "any". */
  vocab?: Vocabulary;
  /** The message it continues (a link built from ids, so safe to show as it is). */
  source?: string;
}

/**
 * A link to a message, from ids only (so safe to show as it is); Discord shows it as a chip
 * naming the channel. Built from the interaction's ids: a message resolved in an interaction
 * carries no server id, so discord.js's own Message.url would say @me in a server.
 */
export function messageLink(guildId: string | null, channelId: string, messageId: string): string {
  return `https://discord.com/channels/${guildId ?? "@me"}/${channelId}/${messageId}`;
}

/** The prompt as a result shows it: quoted, and after a link to the message it came from, if any. */
export function promptLines(prompt: string, source: string | undefined): string {
  return `${source ? `Continuing ${source}\n` : ""}${quotePrompt(prompt)}`;
}

/** How a result names its temperature: T and β, or the schedule with β and where it crosses zero. */
export function temperatureHeading(temperature: number, schedule: Schedule | undefined, tokens: number): string {
  return schedule
    ? `**schedule ${formatSchedule(schedule)}** · ${describeSchedule(schedule, tokens)}`
    : `**${formatTemperature(temperature)}**`;
}

const TEXT_FILE = "text/plain; charset=utf-8";

export const STOP_REASONS: Record<string, string> = {
  endOfGeneration: "ended by the model",
  maxTokens: "max tokens",
  aborted: "stopped",
  deadline: "cut short to arrive in time",
};

export function resultMessage(view: ResultView): MessageBody {
  const header = `${temperatureHeading(view.temperature, view.schedule, view.tokenCount)} · ${view.tokenCount} tokens (${STOP_REASONS[view.stopReason] ?? view.stopReason}) · weirdness ${formatWeirdness(view.surprisal)}${view.vocab ? ` · vocab ${view.vocab}` : ""} · ${safeInline(view.model)} · seed ${view.seed}\n${promptLines(view.prompt, view.source)}`;
  const { content, truncated } = fit(
    header,
    codeBlockText(view.text),
    "*Output truncated; the full text is attached.*",
  );
  return {
    content,
    components: [resultButtons(view.outputId, view.votes, view.temperature, view.schedule)],
    allowed_mentions: NO_MENTIONS,
    ...(truncated && {
      attachment: { name: `belowzero-${view.outputId}.txt`, data: view.text, contentType: TEXT_FILE },
    }),
  };
}

/** What a queued or running request is sampled at, before its tokens are known: "**T = -1** · vocab ascii". */
export function requestHeading(request: { temperature: number; schedule?: Schedule; vocab?: Vocabulary }): string {
  const { temperature, schedule, vocab } = request;
  return `**${schedule ? `schedule ${formatSchedule(schedule)}` : formatTemperature(temperature)}**${vocab ? ` · vocab ${vocab}` : ""}`;
}

export function progressMessage(
  request: { prompt: string; temperature: number; schedule?: Schedule; vocab?: Vocabulary; source?: string },
  text: string,
  tokenCount: number,
): MessageBody {
  const header = `${requestHeading(request)} · generating… ${tokenCount} tokens\n${promptLines(request.prompt, request.source)}`;
  return { content: fit(header, codeBlockText(text), "*…*").content, components: [], allowed_mentions: NO_MENTIONS };
}

/** A notice in place of a reply; on a card (which can never become plain again) as a card. */
export function noticeMessage(text: string, layout?: ResultLayout): MessageBody {
  if (layout === "cards")
    return {
      content: "",
      components: [{ type: ComponentType.TextDisplay, content: text }],
      flags: MessageFlags.IsComponentsV2,
      allowed_mentions: NO_MENTIONS,
    };
  return { content: text, components: [], allowed_mentions: NO_MENTIONS };
}

// Buttons carry short custom ids routed by a global handler, so they work after restarts.
export type ButtonAction = "vote" | "reroll" | "flip" | "why";

export function customId(action: ButtonAction, outputId: string): string {
  return `${action}:${outputId}`;
}

export function parseCustomId(id: string): { action: ButtonAction; outputId: string } | undefined {
  const match = /^(vote|reroll|flip|why):([\w-]{1,64})$/.exec(id);
  return match ? { action: match[1] as ButtonAction, outputId: match[2]! } : undefined;
}

export function resultButtons(
  outputId: string,
  votes: number,
  temperature: number,
  schedule?: Schedule,
): APIActionRowComponent<APIButtonComponent> {
  return new ActionRowBuilder<ButtonBuilder>()
    .addComponents(
      new ButtonBuilder()
        .setCustomId(customId("vote", outputId))
        .setStyle(ButtonStyle.Primary)
        .setLabel(`Weird! · ${votes}`),
      new ButtonBuilder().setCustomId(customId("reroll", outputId)).setStyle(ButtonStyle.Secondary).setLabel("Reroll"),
      new ButtonBuilder()
        .setCustomId(customId("flip", outputId))
        .setStyle(ButtonStyle.Secondary)
        .setLabel(
          schedule ? `Flip to ${formatSchedule(flipSchedule(schedule))}` : `Flip to T = ${flipSign(temperature)}`,
        ),
      new ButtonBuilder().setCustomId(customId("why", outputId)).setStyle(ButtonStyle.Secondary).setLabel("Why weird?"),
    )
    .toJSON();
}

export interface SweepRowView {
  outputId: string;
  temperature: number;
  text: string;
  surprisal: number | null;
  votes: number;
}

export interface SweepView {
  prompt: string;
  seed: number;
  model: string;
  maxTokens: number;
  rows: SweepRowView[];
  /** The chart of weirdness against β, as a PNG. */
  chart?: Buffer;
  /** Stopped early to arrive within its reply window. */
  cutShort?: boolean;
}

/** One sweep in one message: a table of rows in a code block, the chart attached, a vote button per row. */
export function sweepMessage(view: SweepView): MessageBody {
  const header = `**Sweep** · ${view.rows.length} temperatures${view.cutShort ? " (cut short to arrive in time)" : ""} · ${view.maxTokens} tokens each · weirdness in nats/token · ${safeInline(view.model)} · seed ${view.seed}\n${quotePrompt(view.prompt)}`;
  const lines = view.rows.map(row => {
    const t = String(row.temperature).padStart(6);
    const beta = formatBeta(row.temperature).padStart(7);
    return `${t} │ ${beta} │ ${formatWeirdness(row.surprisal).padStart(6)} │ `;
  });
  const tableHead = `${"T".padStart(6)} │ ${"β".padStart(7)} │ ${"weird".padStart(6)} │ continuation`;
  // Each row's continuation gets an equal share of what the message has room for.
  const room = MESSAGE_LIMIT - header.length - tableHead.length - 16 - lines.reduce((n, l) => n + l.length + 1, 0);
  const share = Math.max(8, Math.floor(room / Math.max(1, view.rows.length)));
  const table = view.rows.map((row, i) => {
    const text = codeBlockText(row.text).replace(/\n/g, "⏎");
    return lines[i]! + truncate(text, share);
  });
  return {
    content: `${header}\n${codeBlock([tableHead, ...table].join("\n"))}`,
    components: sweepButtons(view.rows),
    allowed_mentions: NO_MENTIONS,
    ...(view.chart && { attachment: { name: "belowzero-sweep.png", data: view.chart, contentType: "image/png" } }),
  };
}

/** A vote button per row, four to an action row. */
export function sweepButtons(rows: Array<Pick<SweepRowView, "outputId" | "temperature" | "votes">>) {
  const actionRows: APIActionRowComponent<APIButtonComponent>[] = [];
  for (let i = 0; i < rows.length; i += 4) {
    const buttons = rows
      .slice(i, i + 4)
      .map(row =>
        new ButtonBuilder()
          .setCustomId(customId("vote", row.outputId))
          .setStyle(ButtonStyle.Primary)
          .setLabel(`T = ${row.temperature} · ${row.votes}`),
      );
    actionRows.push(new ActionRowBuilder<ButtonBuilder>().addComponents(...buttons).toJSON());
  }
  return actionRows;
}
