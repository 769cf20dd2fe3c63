// How the community game looks: leaderboards, members, stats and hall-of-fame posts. Authors
// are shown as mentions, which never ping (NO_MENTIONS on every message); outputs and prompts
// go through the shared escaping helpers.
import type { APIEmbed } from "discord.js";
import { isDiscordId } from "../discordId.js";
import { formatWeirdness } from "../engine/weirdness.js";
import type { BoardEntry, MemberEntry, ServerStats } from "../store/community.js";
import type { Period, RankedBy } from "../store/keys.js";
import type { OutputRecord } from "../store/outputs.js";
import {
  codeBlockText,
  formatTemperature,
  MESSAGE_LIMIT,
  NO_MENTIONS,
  quotePrompt,
  safeInline,
  truncate,
  truncateEscaped,
} from "./format.js";

const EMBED_DESCRIPTION_LIMIT = 4096;
/** Rendered characters of an output shown on a leaderboard line. */
const SNIPPET = 60;

export function periodLabel(period: Period, retentionDays: number): string {
  const labels: Record<Period, string> = {
    day: "the last 24 hours",
    week: "the last 7 days",
    month: "the last 30 days",
    all: `all time (outputs are kept ${retentionDays} days)`,
  };
  return labels[period];
}

export function messageLink(output: Pick<OutputRecord, "guildId" | "channelId" | "messageId">): string | undefined {
  if (!output.messageId) return undefined;
  return `https://discord.com/channels/${output.guildId ?? "@me"}/${output.channelId}/${output.messageId}`;
}

export function mention(userId: string): string {
  return isDiscordId(userId) ? `<@${userId}>` : "someone";
}

function weirdnessText(surprisal: number | undefined): string {
  return `weirdness ${formatWeirdness(surprisal)}`;
}

/** One line of output, escaped; cut after escaping so the cut cannot undo it. */
export function snippet(text: string, length = SNIPPET): string {
  const flat = text.replace(/\s+/g, " ").trim();
  if (flat === "") return "*(empty)*";
  const rendered = safeInline(flat);
  return truncateEscaped(rendered, length);
}

const votesText = (votes: number) => `${votes} vote${votes === 1 ? "" : "s"}`;

export interface BoardView {
  period: Period;
  by: RankedBy;
  memberId?: string;
  /** Only this model's outputs. */
  modelId?: string;
  retentionDays: number;
}

function boardLine(rank: number, entry: BoardEntry): string {
  const output = entry.output!;
  const link = messageLink(output);
  return (
    `**${rank}.** ${votesText(entry.votes)} · ${formatTemperature(output.temperature)} · ${weirdnessText(output.surprisal)} · ` +
    `${mention(output.authorId)}${link ? ` · [message](${link})` : ""}\n${snippet(output.text)}`
  );
}

/** Adds lines while they fit. */
function fitLines(lines: string[], limit: number): string {
  let text = "";
  for (const line of lines) {
    const next = text === "" ? line : `${text}\n${line}`;
    if (next.length > limit) break;
    text = next;
  }
  return text;
}

export function weirdestMessage(entries: BoardEntry[], view: BoardView) {
  const who = view.memberId
    ? ` from ${mention(view.memberId)}`
    : view.modelId
      ? ` made with ${safeInline(view.modelId)}`
      : "";
  const heading = `Weirdest outputs${who} in ${periodLabel(view.period, view.retentionDays)}, by ${view.by}:`;
  const shown = entries.filter(entry => entry.output);
  if (shown.length === 0) {
    const content = who
      ? `No outputs${who} in ${periodLabel(view.period, view.retentionDays)} yet.`
      : `Nothing on the board for ${periodLabel(view.period, view.retentionDays)} yet: make something weird with \`/weird\` and vote with **Weird!**.`;
    return { content, allowedMentions: NO_MENTIONS };
  }
  const embed: APIEmbed = {
    description: fitLines([heading, ...shown.map((entry, i) => boardLine(i + 1, entry))], EMBED_DESCRIPTION_LIMIT),
  };
  return { embeds: [embed], allowedMentions: NO_MENTIONS };
}

export function membersMessage(entries: MemberEntry[], period: Period, retentionDays: number) {
  if (entries.length === 0)
    return {
      content: `Nobody has made anything in ${periodLabel(period, retentionDays)} yet.`,
      allowedMentions: NO_MENTIONS,
    };
  const lines = entries.map(
    (entry, i) =>
      `**${i + 1}.** ${mention(entry.memberId)} · ${votesText(entry.votesReceived)} received · ${entry.outputsMade} output${entry.outputsMade === 1 ? "" : "s"}`,
  );
  const heading = `Members by votes received on what they made in ${periodLabel(period, retentionDays)}:`;
  return {
    embeds: [{ description: fitLines([heading, ...lines], EMBED_DESCRIPTION_LIMIT) }],
    allowedMentions: NO_MENTIONS,
  };
}

export function statsMessage(stats: ServerStats, retentionDays: number, modelId?: string) {
  const mostVoted = stats.mostVoted?.output;
  const link = mostVoted && messageLink(mostVoted);
  const lines = [
    modelId
      ? `This server's outputs made with ${safeInline(modelId)}, over the last ${retentionDays} days (what is kept):`
      : `This server, over the last ${retentionDays} days (what is kept):`,
    `Outputs generated: **${stats.outputs}** · votes cast: **${stats.votes}** · members who played: **${stats.players}**`,
    stats.coldest === undefined
      ? "Coldest and hottest T: none yet"
      : `Coldest T: **${stats.coldest}** · hottest T: **${stats.hottest}**`,
    `Below zero: **${stats.belowZero}** · near zero (|T| < 0.01): **${stats.nearZero}** · above zero: **${stats.aboveZero}**`,
    mostVoted && stats.mostVoted
      ? `Most voted: ${votesText(stats.mostVoted.votes)} · ${formatTemperature(mostVoted.temperature)} · ${mention(mostVoted.authorId)}${link ? ` · [message](${link})` : ""}\n${snippet(mostVoted.text)}`
      : "Most voted: no votes yet",
  ];
  return { embeds: [{ description: lines.join("\n") }], allowedMentions: NO_MENTIONS };
}

/** The hall-of-fame post: prompt, T and β, the output, its weirdness, votes, the author and a link. */
export function hallOfFameMessage(output: OutputRecord, votes: number) {
  const link = messageLink(output);
  const header =
    `🏆 **${votesText(votes)}** · **${formatTemperature(output.temperature)}** · ${weirdnessText(output.surprisal)} · ` +
    `by ${mention(output.authorId)}${link ? ` · [original](${link})` : ""}\n${quotePrompt(output.prompt)}`;
  const room = MESSAGE_LIMIT - header.length - 12;
  const body = truncate(codeBlockText(output.text), room);
  return {
    content: `${header}\n\`\`\`\n${body === "" ? " " : body}\n\`\`\``,
    components: [],
    allowed_mentions: NO_MENTIONS,
  };
}
