// What command and button handlers share: the game's context (stores, Redis state) plus the
// config, queue and follow-up edits, and the one way every handler answers privately.
// Redis work fails fast through store/redis.ts's withRedis.
import { MessageFlags, type RepliableInteraction } from "discord.js";
import type { Queue } from "bullmq";
import type { BotConfig } from "../config.js";
import { NO_MENTIONS } from "../discord/format.js";
import type { GameContext } from "../game/context.js";
import type { Throttle } from "../store/throttle.js";
import type { ModelRegistry } from "../store/models.js";
import type { Queues } from "../store/queues.js";
import type { Refreshes } from "./refreshes.js";

/** One per bot process. */
export interface BotContext extends GameContext {
  config: BotConfig;
  /** The shared queue (queues.shared). */
  queue: Queue;
  /** Every model's queue, by name. */
  queues: Queues;
  /** The live models, for routing, autocomplete and /weird-models. */
  models: ModelRegistry;
  throttle: Throttle;
  /** Follow-up edits of vote counts and hall-of-fame posts, one in flight per message. */
  refreshes: Refreshes;
}

export const QUEUE_UNAVAILABLE =
  "The queue is unavailable right now (cannot reach Redis), so nothing was queued. Please try again in a minute.";

export const SETTINGS_UNAVAILABLE =
  "This server's settings are unavailable right now (cannot reach Redis), so nothing was changed. Please try again in a minute.";

/** An answer only the member sees, that can never ping anyone. */
export async function answerPrivately(interaction: RepliableInteraction, content: string): Promise<void> {
  await interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
}
