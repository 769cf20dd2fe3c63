// What the community game needs from the bot process: its stores, and whether Redis is up.
// Plain data and Redis only; the discord.js side (src/interactions/) extends it.
import type { CommunityStore } from "../store/community.js";
import type { Log } from "../observability/log.js";
import type { OutputStore } from "../store/outputs.js";
import { withRedis } from "../store/redis.js";
import type { ServerSettings, SettingsStore } from "../store/settings.js";
import type { UnansweredClicks } from "./votes.js";

export interface GameContext {
  outputs: OutputStore;
  /** Per-server settings, read through on every request (no cache: changes apply at once). */
  settings: SettingsStore;
  community: CommunityStore;
  /** Votes sent to Redis that got no answer, so a retry counts once (see UnansweredClicks). */
  unansweredClicks: UnansweredClicks;
  /** False while the Redis connection is down: handlers then answer at once, within Discord's 3 s. */
  redisReady: () => boolean;
  log: Log;
}

/** The settings in effect where the interaction happened: the server's, or the operator's in DMs. */
export function settingsFor(
  ctx: Pick<GameContext, "settings" | "redisReady">,
  guildId: string | null,
): Promise<ServerSettings> {
  if (guildId === null) return Promise.resolve(ctx.settings.operator.defaults);
  return withRedis(ctx, () => ctx.settings.forServer(guildId));
}
