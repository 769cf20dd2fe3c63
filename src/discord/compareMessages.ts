// How a comparison (/weird-compare) reads: one message, a section per part (its model, T,
// weirdness and text, or where it stands), and a vote button per finished part. Composed
// whole from saved state every time, so it always fits Discord's limits: 2,000 characters of
// content (each text gets an equal share, the full texts attached when cut), 5 buttons to a
// row, 80 characters to a label.
import {
  ActionRowBuilder,
  ButtonBuilder,
  ButtonStyle,
  type APIActionRowComponent,
  type APIButtonComponent,
} from "discord.js";
import { formatWeirdness } from "../engine/weirdness.js";
import type { PartState } from "../store/comparisons.js";
import type { Vocabulary } from "../engine/vocabulary.js";
import {
  codeBlockText,
  customId,
  cutText,
  formatTemperature,
  MESSAGE_LIMIT,
  NO_MENTIONS,
  quotePrompt,
  safeInline,
  truncate,
  truncateEscaped,
  type MessageBody,
} from "./format.js";

export interface ComparisonPartView {
  label: string;
  temperature: number;
  outputId: string;
  state: PartState;
  /** Once done: */
  text?: string;
  tokenCount?: number;
  surprisal?: number | null;
  votes?: number;
}

export interface ComparisonView {
  id: string;
  prompt: string;
  maxTokens: number;
  seed: number;
  vocab?: Vocabulary;
  parts: ComparisonPartView[];
}

const BUTTONS_PER_ROW = 5;
const BUTTON_LABEL_LIMIT = 80;
/** A reason or label is ours or a model id, but never allowed to crowd out the texts. */
const REASON_LIMIT = 200;
const CUT_NOTE = "*Texts cut to fit; the full texts are attached.*";
/** What each finished text keeps at least before failed parts' reasons are cut for room. */
const MIN_TEXT_SHARE = 100;

const fence = (text: string) => "```\n" + (text === "" ? " " : text) + "\n```";

function partHeading(part: ComparisonPartView, reasonLimit = REASON_LIMIT): string {
  const name = `**${truncateEscaped(safeInline(part.label), 100)}** · ${formatTemperature(part.temperature)}`;
  switch (part.state.state) {
    case "waiting":
      return `${name} · waiting in the queue…`;
    case "running":
      return `${name} · generating…`;
    case "failed":
      return `${name} · ${truncateEscaped(safeInline(part.state.reason), reasonLimit)}`;
    case "done":
      return `${name} · weirdness ${formatWeirdness(part.surprisal)}${part.tokenCount === undefined ? "" : ` · ${part.tokenCount} tokens`}`;
  }
}

/**
 * Every part's heading within `room` (each followed by a newline): failed parts' reasons are
 * cut to an equal share when all of them in full would not fit, so no heading is ever lost.
 */
function headingsWithin(parts: ComparisonPartView[], room: number): string[] {
  const full = parts.map(part => partHeading(part));
  if (full.reduce((n, h) => n + h.length + 1, 0) <= room) return full;
  // A reason cut to nothing is its "…" alone, counted here.
  const bare = parts.reduce((n, part) => n + partHeading(part, 0).length + 1, 0);
  const failed = parts.filter(p => p.state.state === "failed").length;
  const share = Math.max(0, Math.floor((room - bare) / Math.max(1, failed)));
  return parts.map(part => partHeading(part, share));
}

export function comparisonMessage(view: ComparisonView): MessageBody {
  const header = `**Compare** · ${view.parts.length} results · ${view.maxTokens} tokens each${view.vocab ? ` · vocab ${view.vocab}` : ""} · seed ${view.seed} · weirdness in nats/token\n${quotePrompt(view.prompt)}`;
  const done = view.parts.filter(p => p.state.state === "done");
  // Headings come before texts: what is left for them after each text's fence, a little of its
  // text and the cut note.
  const headingRoom =
    MESSAGE_LIMIT - header.length - CUT_NOTE.length - 1 - done.length * (fence("").length + 1 + MIN_TEXT_SHARE);
  const headings = headingsWithin(view.parts, headingRoom);
  const texts = view.parts.map(p => (p.state.state === "done" ? codeBlockText(p.text ?? "") : undefined));
  const whole = (shown: Array<string | undefined>) =>
    [header, ...headings.map((h, i) => (shown[i] === undefined ? h : `${h}\n${fence(shown[i])}`))].join("\n");
  let content = whole(texts);
  let cut = false;
  if (content.length > MESSAGE_LIMIT) {
    // Every finished text gets an equal share of the room left (with a little slack for "…").
    const frame = whole(texts.map(t => (t === undefined ? undefined : ""))).length + CUT_NOTE.length + 1;
    const share = Math.max(0, Math.floor((MESSAGE_LIMIT - frame) / Math.max(1, done.length)) - 1);
    content = `${whole(texts.map(t => (t === undefined ? undefined : truncate(t, share))))}\n${CUT_NOTE}`;
    cut = true;
  }
  // Never past the limit. Unreachable while labels and the prompt are capped and reasons budgeted
  // above; it would cut through a heading or a fence.
  if (content.length > MESSAGE_LIMIT) content = cutText(content, MESSAGE_LIMIT - 1) + "…";
  return {
    content,
    components: comparisonButtons(done),
    allowed_mentions: NO_MENTIONS,
    ...(cut && {
      attachment: {
        name: `belowzero-compare-${view.id}.txt`,
        data: done
          .map(p => `${p.label} · T = ${p.temperature} · weirdness ${formatWeirdness(p.surprisal)}\n${p.text ?? ""}\n`)
          .join("\n"),
        contentType: "text/plain; charset=utf-8",
      },
    }),
  };
}

/** A vote button per finished part, five to an action row. */
export function comparisonButtons(
  parts: Array<Pick<ComparisonPartView, "outputId" | "label" | "temperature" | "votes">>,
): APIActionRowComponent<APIButtonComponent>[] {
  const rows: APIActionRowComponent<APIButtonComponent>[] = [];
  for (let i = 0; i < parts.length; i += BUTTONS_PER_ROW) {
    const buttons = parts.slice(i, i + BUTTONS_PER_ROW).map(part => {
      const votes = ` · ${part.votes ?? 0}`;
      const name = truncate(`${part.label} · T = ${part.temperature}`, BUTTON_LABEL_LIMIT - votes.length);
      return new ButtonBuilder()
        .setCustomId(customId("vote", part.outputId))
        .setStyle(ButtonStyle.Primary)
        .setLabel(name + votes);
    });
    rows.push(new ActionRowBuilder<ButtonBuilder>().addComponents(...buttons).toJSON());
  }
  return rows;
}
