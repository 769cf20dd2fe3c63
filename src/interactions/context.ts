// What command and button handlers share: the game's context (stores, Redis state) plus the
// config, queue and follow-up edits, and the one way every handler answers privately.
// Redis work fails fast through store/redis.ts's withRedis.
import {
  ApplicationIntegrationType,
  InteractionContextType,
  ApplicationCommandType,
  ContextMenuCommandBuilder,
  MessageFlags,
  type RepliableInteraction,
} from "discord.js";
import type { Queue } from "bullmq";
import type { BotConfig } from "../config.js";
import { NO_MENTIONS } from "../discord/format.js";
import type { GameContext } from "../game/context.js";
import type { Throttle } from "../store/throttle.js";
import type { ModelRegistry } from "../store/models.js";
import type { Queues } from "../store/queues.js";
import type { ComparisonStore } from "../store/comparisons.js";
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
  /** The side-by-side comparisons' shared state (/weird-compare). */
  comparisons: ComparisonStore;
}

export const QUEUE_UNAVAILABLE =
  "The queue is unavailable right now (cannot reach Redis), so nothing was queued. Please try again in a minute.";

export const SETTINGS_UNAVAILABLE =
  "This server's settings are unavailable right now (cannot reach Redis), so nothing was changed. Please try again in a minute.";

/** An answer only the member sees, that can never ping anyone. */
export async function answerPrivately(interaction: RepliableInteraction, content: string): Promise<void> {
  await interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
}

/**
 * Where the commands that work anywhere are offered: installed in a server or by a member on
 * their own account, and used in servers, the bot's DMs and private channels (group DMs).
 */
export const ANYWHERE = {
  integrationTypes: [ApplicationIntegrationType.GuildInstall, ApplicationIntegrationType.UserInstall],
  contexts: [InteractionContextType.Guild, InteractionContextType.BotDM, InteractionContextType.PrivateChannel],
} as const;

/** A message command (the Apps menu on a message), offered wherever belowzero is. */
export function messageCommandDefinition(name: string): ContextMenuCommandBuilder {
  return new ContextMenuCommandBuilder()
    .setName(name)
    .setType(ApplicationCommandType.Message)
    .setIntegrationTypes(...ANYWHERE.integrationTypes)
    .setContexts(...ANYWHERE.contexts);
}

/**
 * Whether the interaction's token is belowzero's only way to answer: it is not a member where
 * the member used it (their own install in a server that never added belowzero, or a group
 * DM), so it can neither post nor edit in the channel. Results there must arrive through the
 * token, within its 15 minutes. Judged from what Discord says of the install: a payload naming
 * no owner is taken as a server's install, as before user installs existed.
 */
export function answersOnlyThroughInteraction(interaction: RepliableInteraction): boolean {
  if (interaction.context === InteractionContextType.PrivateChannel) return true;
  const owners = interaction.authorizingIntegrationOwners;
  return interaction.inGuild() && owners.guildId === null && owners.userId !== null;
}

/**
 * Why a server-only command (settings, leaderboards, stats: each belongs to one server) cannot
 * run in this server, or undefined: belowzero is only installed on the member's own account
 * here, so this server never added it and has none of its own.
 */
export function notInstalledInServer(interaction: RepliableInteraction, what: string): string | undefined {
  // Judged only when Discord names the member's install: a payload naming neither is let through.
  const owners = interaction.authorizingIntegrationOwners;
  if (owners.guildId !== null || owners.userId === null) return undefined;
  return `${what} belong to a server that has added belowzero, and this one has not (you are using it from your own account here). Ask its admins to add belowzero, or use this command in a server that has.`;
}
