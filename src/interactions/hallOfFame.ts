// The hall of fame's Discord side: src/game/hallOfFame.ts decides, this posts through the
// bot's REST with enforce_nonce and turns Discord's refusals into what an admin must fix.
import { RESTJSONErrorCodes, Routes, type APIMessage, type REST } from "discord.js";
import { hasDiscordCode, isPermanentDiscordError, type DiscordError } from "../discord/errors.js";
import { hallOfFameMessage } from "../discord/communityMessages.js";
import {
  HALL_CLAIM_LEASE_MS,
  HallPostGone,
  HallRefused,
  recoverHallOfFame as recover,
  updateHallOfFame as update,
  type HallChannel,
} from "../game/hallOfFame.js";
import type { BotContext } from "./context.js";

type Ctx = Pick<BotContext, "outputs" | "community" | "settings" | "log">;

function problemOf(error: DiscordError, channelId: string): string {
  if (hasDiscordCode(error, RESTJSONErrorCodes.UnknownChannel))
    return `the hall-of-fame channel <#${channelId}> does not exist (any more)`;
  if (hasDiscordCode(error, RESTJSONErrorCodes.MissingAccess, RESTJSONErrorCodes.MissingPermissions))
    return `the bot cannot post in <#${channelId}>: it needs View Channel and Send Messages there`;
  return `posting to <#${channelId}> failed: ${error.status} ${error.message}`;
}

/** Runs one REST call, translating what retrying will not fix into the game's errors. */
async function attempt<T>(channelId: string, call: () => Promise<T>, goneMeansRemoved: boolean): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (goneMeansRemoved && hasDiscordCode(error, RESTJSONErrorCodes.UnknownMessage)) throw new HallPostGone();
    if (isPermanentDiscordError(error)) throw new HallRefused(problemOf(error, channelId));
    throw error;
  }
}

export function restHall(rest: REST): HallChannel {
  return {
    post: (channelId, output, votes, nonce) =>
      attempt(
        channelId,
        async () =>
          (
            (await rest.post(Routes.channelMessages(channelId), {
              body: { ...hallOfFameMessage(output, votes), nonce, enforce_nonce: true },
            })) as APIMessage
          ).id,
        false,
      ),
    edit: async (channelId, messageId, output, votes) => {
      const { content, allowed_mentions } = hallOfFameMessage(output, votes);
      await attempt(
        channelId,
        () => rest.patch(Routes.channelMessage(channelId, messageId), { body: { content, allowed_mentions } }),
        true,
      );
    },
    remove: async (channelId, messageId) => {
      await attempt(channelId, () => rest.delete(Routes.channelMessage(channelId, messageId)), true);
    },
  };
}

/** Brings an output's hall-of-fame state up to date through the bot's REST. */
export function updateHallOfFame(ctx: Ctx, rest: REST, outputId: string, leaseMs = HALL_CLAIM_LEASE_MS): Promise<void> {
  return update(ctx, restHall(rest), outputId, leaseMs);
}

/** Finishes claims whose process died between posting and recording (run at startup, and after a lease). */
export function recoverHallOfFame(ctx: Ctx, rest: REST, leaseMs = HALL_CLAIM_LEASE_MS): Promise<void> {
  return recover(ctx, restHall(rest), leaseMs);
}
