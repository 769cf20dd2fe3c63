// The gateway client: the fewest intents that work (slash commands and buttons arrive as
// interactions, which need none beyond Guilds), and one router for every interaction.
import { Client, GatewayIntentBits, MessageFlags, Partials, type Interaction } from "discord.js";
import { handleButton } from "../interactions/buttons.js";
import * as weirdMine from "../commands/weirdMine.js";
import { commands, messageCommands } from "../interactions/commands.js";
import { HALL_CLAIM_LEASE_MS } from "../game/hallOfFame.js";
import { recoverHallOfFame } from "../interactions/hallOfFame.js";
import { NO_MENTIONS } from "../discord/format.js";
import { observeRest } from "../observability/metrics.js";
import type { BotContext } from "../interactions/context.js";

/** The gateway shards one process connects, and how many the bot has in all. */
export interface ShardAssignment {
  shards: number[];
  shardCount: number;
}

const oneShard = (): ShardAssignment => ({ shards: [0], shardCount: 1 });

/**
 * Under discord.js's ShardingManager, the share it gave this process (14.28.1's Shard.js puts
 * SHARDING_MANAGER, SHARDS and SHARD_COUNT in each shard's environment); on its own, shard 0
 * of 1. Passed to the client, which then reads only SHARD_COUNT, and that only when the count
 * is 1 (see main.ts).
 */
export function assignedShards(env: Record<string, string | undefined> = process.env): ShardAssignment {
  if (!env.SHARDING_MANAGER) return oneShard();
  return { shards: [Number(env.SHARDS)], shardCount: Number(env.SHARD_COUNT) };
}

export function createBot(ctx: BotContext, assignment: ShardAssignment = oneShard()): Client {
  const client = new Client({
    intents: [GatewayIntentBits.Guilds],
    ...assignment,
    // Every interaction carries its channel. Caching it even when the gateway never sent that
    // channel (a private thread the bot is not in) lets handlers see a thread and its parent.
    partials: [Partials.Channel],
    rest: { api: ctx.config.discord.apiUrl },
    allowedMentions: NO_MENTIONS,
  });
  observeRest(client.rest);
  const byName = new Map(commands(ctx).map(command => [command.name, command]));
  const messageByName = new Map(messageCommands().map(command => [command.name, command]));

  client.on("interactionCreate", (interaction: Interaction) => void route(interaction));
  // Hall-of-fame posts whose process died between posting and recording: finish them now,
  // and every lease (claims of a process that died just before this one started go stale then).
  const recover = () =>
    void recoverHallOfFame(ctx, client.rest).catch((error: Error) => ctx.log(`hall of fame: ${error.message}`));
  client.once("clientReady", () => {
    recover();
    // A post that failed for a passing reason (a Discord outage) is retried too.
    const timer = setInterval(() => (client.isReady() ? recover() : clearInterval(timer)), HALL_CLAIM_LEASE_MS);
    timer.unref();
  });
  async function route(interaction: Interaction): Promise<void> {
    try {
      if (interaction.isChatInputCommand()) {
        const command = byName.get(interaction.commandName);
        if (command) await command.execute(interaction, ctx);
      } else if (interaction.isMessageContextMenuCommand()) {
        const command = messageByName.get(interaction.commandName);
        if (command) await command.execute(interaction, ctx);
      } else if (interaction.isButton()) {
        if (weirdMine.ownsButton(interaction.customId)) await weirdMine.handleButton(interaction, ctx);
        else await handleButton(interaction, ctx);
      } else if (interaction.isAutocomplete()) {
        await byName.get(interaction.commandName)?.autocomplete?.(interaction, ctx);
      }
    } catch (error) {
      ctx.log(
        `interaction ${interaction.id} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
      if (!interaction.isRepliable()) return;
      const content = "Something went wrong on our side; nothing was queued. Please try again.";
      const reply =
        interaction.deferred || interaction.replied
          ? interaction.editReply({ content, allowedMentions: NO_MENTIONS })
          : interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
      await reply.catch(() => undefined);
    }
  }
  return client;
}
