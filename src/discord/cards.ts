// Results as cards: Discord's Components V2 (discord.js 14.28.1's ContainerBuilder,
// TextDisplayBuilder, SeparatorBuilder, FileBuilder; MessageFlags.IsComponentsV2). A card keeps
// its text in text displays (no `content`), within Discord's limits: 40 components and 4000
// characters of text in all. The text is neutralised exactly as the plain layout's (format.ts),
// and mentions are off as on every message. Sweeps stay plain: their table reads best as one
// monospace block with the chart shown inline, which a card could only attach.
import {
  ContainerBuilder,
  FileBuilder,
  MessageFlags,
  SeparatorBuilder,
  SeparatorSpacingSize,
  TextDisplayBuilder,
} from "discord.js";
import { formatWeirdness } from "../engine/weirdness.js";
import {
  codeBlock,
  codeBlockText,
  cutText,
  NO_MENTIONS,
  promptLines,
  requestHeading,
  resultButtons,
  resultMessage,
  safeInline,
  STOP_REASONS,
  temperatureHeading,
  type MessageBody,
  type ResultView,
} from "./format.js";
import type { Schedule } from "../engine/schedule.js";
import type { OutputRecord } from "../store/outputs.js";
import type { ResultLayout } from "../store/settings.js";
import type { Vocabulary } from "../engine/vocabulary.js";

/** Discord's limit on the text of all of a message's text displays together. */
export const CARD_TEXT_LIMIT = 4000;
/** Discord's limit on components in one message, nested ones included. */
export const CARD_COMPONENT_LIMIT = 40;

/** Below zero violet, above it blue: the sign at a glance. */
const ACCENT_BELOW_ZERO = 0x8e44ad;
const ACCENT_ABOVE_ZERO = 0x2e86c1;

/** Weirdness this high fills the meter: the anti-greedy chain of a small model is about 26. */
const METER_FULL = 30;
const METER_CELLS = 10;

/** "▰▰▰▰▰▰▰▰▱▱ strange": how weird, at a glance, beside the number. */
export function weirdnessMeter(surprisal: number | null): string {
  if (surprisal === null) return "no tokens to weigh";
  const filled = Math.round((Math.min(Math.max(surprisal, 0), METER_FULL) / METER_FULL) * METER_CELLS);
  const word = surprisal < 2 ? "ordinary" : surprisal < 8 ? "odd" : surprisal < 16 ? "strange" : "deeply weird";
  return `${"▰".repeat(filled)}${"▱".repeat(METER_CELLS - filled)} ${word}`;
}

/** The output in a code block, cut to `room` characters with a note when it does not fit. */
function outputBlock(text: string, room: number, note: string): { block: string; truncated: boolean } {
  const whole = codeBlock(codeBlockText(text));
  if (whole.length <= room) return { block: whole, truncated: false };
  const cut = cutText(codeBlockText(text), room - note.length - 12);
  return { block: `${codeBlock(cut + "…")}\n${note}`, truncated: true };
}

function card(temperature: number): ContainerBuilder {
  return new ContainerBuilder().setAccentColor(temperature < 0 ? ACCENT_BELOW_ZERO : ACCENT_ABOVE_ZERO);
}

const text = (content: string) => new TextDisplayBuilder().setContent(content);
const divider = () => new SeparatorBuilder().setDivider(true).setSpacing(SeparatorSpacingSize.Small);

function body(container: ContainerBuilder): Pick<MessageBody, "content" | "components" | "flags" | "allowed_mentions"> {
  return {
    content: "",
    components: [container.toJSON()],
    flags: MessageFlags.IsComponentsV2,
    allowed_mentions: NO_MENTIONS,
  };
}

/** A finished result: heading, prompt, output, the weirdness meter and the buttons. */
export function resultCard(view: ResultView): MessageBody {
  const heading = [
    temperatureHeading(view.temperature, view.schedule, view.tokenCount),
    `${view.tokenCount} tokens (${STOP_REASONS[view.stopReason] ?? view.stopReason})`,
    ...(view.vocab ? [`vocab ${view.vocab}`] : []),
    safeInline(view.model),
    `seed ${view.seed}`,
  ].join(" · ");
  const prompt = promptLines(view.prompt, view.source);
  const meter = `**Weirdness ${formatWeirdness(view.surprisal)}** nats/token · ${weirdnessMeter(view.surprisal)}\n-# How surprised the model is by its own output at T = 1: low for its favourite words, high below zero.`;
  const room = CARD_TEXT_LIMIT - heading.length - prompt.length - meter.length;
  const attachment = `belowzero-${view.outputId}.txt`;
  const { block, truncated } = outputBlock(view.text, room, "-# Output truncated; the full text is attached.");
  const container = card(view.temperature)
    .addTextDisplayComponents(text(heading), text(prompt))
    .addSeparatorComponents(divider())
    .addTextDisplayComponents(text(block), text(meter));
  if (truncated) container.addFileComponents(new FileBuilder().setURL(`attachment://${attachment}`));
  container.addActionRowComponents(resultButtons(view.outputId, view.votes, view.temperature, view.schedule));
  return {
    ...body(container),
    ...(truncated && { attachment: { name: attachment, data: view.text, contentType: "text/plain; charset=utf-8" } }),
  };
}

/**
 * A result's message from its record alone: as the worker first shows it, as a retry shows it
 * again, and as a vote on a card redraws it (Discord hands a card's file back as a CDN url,
 * which a file component does not take, so a card is rebuilt rather than copied).
 */
export function resultBody(record: OutputRecord, layout: ResultLayout, votes: number): MessageBody {
  return (layout === "cards" ? resultCard : resultMessage)({
    outputId: record.id,
    prompt: record.prompt,
    temperature: record.temperature,
    seed: record.seed,
    model: record.model,
    text: record.text,
    tokenCount: record.tokenCount ?? record.tokenTexts?.length ?? 0,
    stopReason: record.stopReason ?? "maxTokens",
    votes,
    surprisal: record.surprisal ?? null,
    ...(record.schedule && { schedule: record.schedule }),
    ...(record.vocab && { vocab: record.vocab }),
    ...(record.source && { source: record.source }),
  });
}

/** A generation in progress, as the worker streams it into the reply. */
export function progressCard(
  request: { prompt: string; temperature: number; schedule?: Schedule; vocab?: Vocabulary; source?: string },
  generated: string,
  tokenCount: number,
): MessageBody {
  const heading = `${requestHeading(request)} · generating… ${tokenCount} tokens`;
  const prompt = promptLines(request.prompt, request.source);
  const { block } = outputBlock(generated, CARD_TEXT_LIMIT - heading.length - prompt.length, "-# …");
  return {
    ...body(
      card(request.temperature)
        .addTextDisplayComponents(text(heading), text(prompt))
        .addSeparatorComponents(divider())
        .addTextDisplayComponents(text(block)),
    ),
  };
}

type ComponentJson = {
  type: number;
  custom_id?: string;
  label?: string;
  components?: ComponentJson[];
  accessory?: ComponentJson;
};

/**
 * The message's components as they are, with each vote button's count set from `counts` (by
 * output id). A vote edits the whole message; on a card that is the whole card, so the card
 * is taken from the message itself, whatever its layout, rather than rebuilt.
 */
export function withVoteCounts<T>(components: T[], counts: ReadonlyMap<string, number>): T[] {
  const relabel = (component: ComponentJson): ComponentJson => {
    const outputId = component.custom_id?.startsWith("vote:") ? component.custom_id.slice(5) : undefined;
    const count = outputId === undefined ? undefined : counts.get(outputId);
    return {
      ...component,
      ...(count !== undefined &&
        component.label !== undefined && { label: component.label.replace(/\d+$/, String(count)) }),
      ...(component.components && { components: component.components.map(relabel) }),
      ...(component.accessory && { accessory: relabel(component.accessory) }),
    };
  };
  return components.map(component => relabel(component as ComponentJson) as T);
}

/** Whether the components hold this output's vote button. */
export function hasVoteButton(components: unknown[], outputId: string): boolean {
  const find = (component: ComponentJson): boolean =>
    component.custom_id === `vote:${outputId}` ||
    (component.components ?? []).some(find) ||
    (component.accessory !== undefined && find(component.accessory));
  return (components as ComponentJson[]).some(find);
}
