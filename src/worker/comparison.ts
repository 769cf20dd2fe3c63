// A comparison's one message, composed from saved state and shown over REST: by the bot when
// it queues the parts, by each worker as its part starts and ends, by the bot again for a part
// whose worker died. Anyone may edit at any time; each edit re-reads everything, and whoever
// edits again when the version moved during its edit, so the last edit always shows the last
// state (two edits in flight land in any order; the later reader's check catches the earlier).
import type { REST } from "@discordjs/rest";
import type { APIMessage } from "discord.js";
import { comparisonMessage, type ComparisonView } from "../discord/compareMessages.js";
import type { Comparison, ComparisonStore, PartState } from "../store/comparisons.js";
import type { OutputStore } from "../store/outputs.js";
import type { MessageBody } from "../discord/format.js";
import { ReplyTarget, type Delivery } from "./reply.js";

export interface ComparisonDeps {
  comparisons: ComparisonStore;
  outputs: OutputStore;
  rest: REST;
}

/** Each state change is one more round at most; a comparison has few parts and each changes twice. */
const MAX_ROUNDS = 20;

async function viewOf(comparison: Comparison, outputs: OutputStore): Promise<ComparisonView> {
  const ids = comparison.parts.map(p => p.outputId);
  const done = comparison.states.map(s => s.state === "done");
  const [records, votes] = await Promise.all([
    outputs.getMany(ids),
    Promise.all(ids.map((id, i) => (done[i] ? outputs.voteCount(id) : Promise.resolve(0)))),
  ]);
  return {
    id: comparison.id,
    ...comparison.request,
    parts: comparison.parts.map((part, i) => {
      const record = records[i];
      const state: PartState =
        done[i] && !record ? { state: "failed", reason: "no longer on record" } : comparison.states[i]!;
      return {
        ...part,
        state,
        ...(state.state === "done" &&
          record && {
            text: record.text,
            ...(record.tokenTexts && { tokenCount: record.tokenTexts.length }),
            surprisal: record.surprisal ?? null,
            votes: votes[i]!,
          }),
      };
    }),
  };
}

/** The buttons the message has with the comparison as saved: one per done part, with its votes now. */
export async function comparisonComponents(
  outputs: OutputStore,
  comparison: Comparison,
): Promise<MessageBody["components"]> {
  return comparisonMessage(await viewOf(comparison, outputs)).components;
}

/** Shows the comparison as it stands now; returns the message (undefined when the comparison is gone). */
export async function showComparison(deps: ComparisonDeps, id: string, to: Delivery): Promise<APIMessage | undefined> {
  let message: APIMessage | undefined;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const comparison = await deps.comparisons.get(id);
    if (!comparison) return message;
    // One nonce for every editor: two that fall back to posting at once get the same message.
    const reply = new ReplyTarget(deps.rest, to, `bzc${id}`.slice(0, 25)).editsInChannel(comparison.messageId);
    message = await reply.show(comparisonMessage(await viewOf(comparison, deps.outputs)));
    if (comparison.messageId === undefined) await deps.comparisons.setMessage(id, message.id);
    if ((await deps.comparisons.version(id)) === comparison.version) return message;
  }
  return message;
}

/**
 * Sets a part's state and shows the message. Returns the message, or undefined when nothing
 * changed (the comparison is gone, or the part was done already) and nothing was shown.
 * With showFailed, a failed edit goes there instead of being thrown: the state is saved
 * either way, and whoever edits next shows it.
 */
export async function updatePart(
  deps: ComparisonDeps,
  comparison: { id: string; part: number },
  state: PartState,
  to: Delivery,
  showFailed?: (error: Error) => void,
): Promise<APIMessage | undefined> {
  if (!(await deps.comparisons.mark(comparison.id, comparison.part, state))) return undefined;
  if (!showFailed) return showComparison(deps, comparison.id, to);
  return showComparison(deps, comparison.id, to).catch((error: Error) => {
    showFailed(error);
    return undefined;
  });
}

/**
 * Marks a part done and shows it. A part done already (its edit failed, or its worker died
 * before the edit, and the job is retried) is shown all the same: showing is idempotent.
 * Returns the message, or undefined when the comparison is gone.
 */
export async function showPartDone(
  deps: ComparisonDeps,
  comparison: { id: string; part: number },
  to: Delivery,
): Promise<APIMessage | undefined> {
  return (await updatePart(deps, comparison, { state: "done" }, to)) ?? showComparison(deps, comparison.id, to);
}
