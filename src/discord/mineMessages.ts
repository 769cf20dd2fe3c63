// How /weird-mine reads: a page of the member's own outputs, and one output's full text. Both
// are private; prompts and outputs are member and model text, shown neutralised as everywhere.
import {
  ActionRowBuilder,
  ButtonBuilder,
  ButtonStyle,
  type APIActionRowComponent,
  type APIButtonComponent,
} from "discord.js";
import { formatWeirdness } from "../engine/weirdness.js";
import { formatSchedule } from "../engine/schedule.js";
import type { OutputRecord } from "../store/outputs.js";
import {
  codeBlockText,
  fit,
  formatTemperature,
  messageLink,
  NO_MENTIONS,
  quotePrompt,
  safeInline,
  truncateEscaped,
  type MessageBody,
} from "./format.js";

/** Outputs per page: one "Text" button each, in one row. */
export const MINE_PAGE_SIZE = 5;
/** Escaped characters of each prompt on a page. */
const PROMPT_SNIPPET = 90;

export interface MinePage {
  /** 0-based. */
  page: number;
  total: number;
  entries: Array<{ output: OutputRecord; votes: number }>;
  retentionDays: number;
}

/** Custom ids of /weird-mine's buttons: a page, or one output's full text. */
export const MINE_PAGE = "mine-page";
export const MINE_TEXT = "mine-text";

export function pageCount(total: number): number {
  return Math.max(1, Math.ceil(total / MINE_PAGE_SIZE));
}

function temperatureOf(output: OutputRecord): string {
  return output.schedule ? `schedule ${formatSchedule(output.schedule)}` : formatTemperature(output.temperature);
}

/** Where it can be seen: its message, or why there is none. */
function whereShown(output: OutputRecord): string {
  if (output.messageId === "") return "never shown: its reply window closed first";
  return messageLink(output.guildId, output.channelId, output.messageId);
}

export function minePageMessage(view: MinePage): MessageBody {
  if (view.total === 0)
    return {
      content: `You have no outputs on record (they are kept ${view.retentionDays} days). Make one with /weird.`,
      components: [],
      allowed_mentions: NO_MENTIONS,
    };
  const pages = pageCount(view.total);
  const first = view.page * MINE_PAGE_SIZE;
  const lines = view.entries.map(({ output, votes }, i) => {
    const facts = [
      `<t:${Math.floor(output.createdAt / 1000)}:R>`,
      `**${temperatureOf(output)}**`,
      `weirdness ${formatWeirdness(output.surprisal)}`,
      votes === 1 ? "1 vote" : `${votes} votes`,
      safeInline(output.modelId ?? output.model),
      whereShown(output),
    ];
    const prompt = truncateEscaped(safeInline(output.prompt).replace(/\n/g, " "), PROMPT_SNIPPET);
    return `**${first + i + 1}.** ${facts.join(" · ")}\n> ${prompt}`;
  });
  const heading = `**Your outputs** · ${view.total} on record (kept ${view.retentionDays} days) · page ${view.page + 1} of ${pages}`;
  const texts = new ActionRowBuilder<ButtonBuilder>().addComponents(
    view.entries.map(({ output }, i) =>
      new ButtonBuilder()
        .setCustomId(`${MINE_TEXT}:${output.id}`)
        .setStyle(ButtonStyle.Secondary)
        .setLabel(`Text ${first + i + 1}`),
    ),
  );
  const turns = new ActionRowBuilder<ButtonBuilder>().addComponents(
    new ButtonBuilder()
      .setCustomId(`${MINE_PAGE}:${view.page - 1}`)
      .setStyle(ButtonStyle.Secondary)
      .setLabel("◀ Newer")
      .setDisabled(view.page === 0),
    new ButtonBuilder()
      .setCustomId(`${MINE_PAGE}:${view.page + 1}`)
      .setStyle(ButtonStyle.Secondary)
      .setLabel("Older ▶")
      .setDisabled(view.page + 1 >= pages),
  );
  const components: APIActionRowComponent<APIButtonComponent>[] =
    view.entries.length > 0 ? [texts.toJSON(), turns.toJSON()] : [turns.toJSON()];
  return { content: [heading, ...lines].join("\n"), components, allowed_mentions: NO_MENTIONS };
}

/** One output in full, for its author alone: the whole text attached when it does not fit. */
export function mineTextMessage(output: OutputRecord, votes: number): MessageBody {
  const header = [
    `**${temperatureOf(output)}** · weirdness ${formatWeirdness(output.surprisal)} · ${votes === 1 ? "1 vote" : `${votes} votes`} · ${safeInline(output.modelId ?? output.model)} · seed ${output.seed} · ${whereShown(output)}`,
    quotePrompt(output.prompt),
  ].join("\n");
  const { content, truncated } = fit(
    header,
    codeBlockText(output.text),
    "*Output truncated; the full text is attached.*",
  );
  return {
    content,
    components: [],
    allowed_mentions: NO_MENTIONS,
    ...(truncated && {
      attachment: { name: `belowzero-${output.id}.txt`, data: output.text, contentType: "text/plain; charset=utf-8" },
    }),
  };
}
