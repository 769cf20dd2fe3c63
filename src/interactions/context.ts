// What command and button handlers share: the process's stores and config, and the two ways
// every handler answers (privately, and fast when Redis is away).
import { MessageFlags, type RepliableInteraction } from "discord.js";
import type { Queue } from "bullmq";
import type { BotConfig } from "../config.js";
import { NO_MENTIONS } from "../discord/format.js";
import type { CommunityStore } from "../store/community.js";
import type { Log } from "../observability/log.js";
import type { OutputStore } from "../store/outputs.js";
import type { ServerSettings, SettingsStore } from "../store/settings.js";
import type { Throttle } from "../store/throttle.js";
import type { Refreshes } from "./refreshes.js";

/** One per bot process. */
export interface BotContext {
  config: BotConfig;
  queue: Queue;
  throttle: Throttle;
  outputs: OutputStore;
  /** Per-server settings, read through on every request (no cache: changes apply at once). */
  settings: SettingsStore;
  community: CommunityStore;
  /** Follow-up edits of vote counts and hall-of-fame posts, one in flight per message. */
  refreshes: Refreshes;
  /** False while the Redis connection is down: handlers then answer at once, within Discord's 3 s. */
  redisReady: () => boolean;
  log: Log;
}

export const QUEUE_UNAVAILABLE =
  "The queue is unavailable right now (cannot reach Redis), so nothing was queued. Please try again in a minute.";

export const SETTINGS_UNAVAILABLE =
  "This server's settings are unavailable right now (cannot reach Redis), so nothing was changed. Please try again in a minute.";

/** The settings in effect where the interaction happened: the server's, or the operator's in DMs. */
export function settingsFor(ctx: BotContext, guildId: string | null): Promise<ServerSettings> {
  if (guildId === null) return Promise.resolve(ctx.settings.operator.defaults);
  return withRedis(ctx, () => ctx.settings.forServer(guildId));
}

/** An answer only the member sees, that can never ping anyone. */
export async function answerPrivately(interaction: RepliableInteraction, content: string): Promise<void> {
  await interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
}

/** Redis must answer well within Discord's 3-second window for the first reply. */
const REDIS_DEADLINE_MS = 2000;

/** Runs Redis work, failing fast when the connection is down or slow. */
export async function withRedis<T>(ctx: Pick<BotContext, "redisReady">, work: () => Promise<T>): Promise<T> {
  if (!ctx.redisReady()) throw new Error("Redis connection is not ready");
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("Redis did not answer in time")), REDIS_DEADLINE_MS);
  });
  try {
    return await Promise.race([work(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
