// /weird-models — every model the workers serve: its workers, queue depth and recent speed.
// Private: it is a lookup, not a post.
import { SlashCommandBuilder, type ChatInputCommandInteraction } from "discord.js";
import { modelsMessage } from "../discord/modelsMessages.js";
import { settingsFor } from "../game/context.js";
import { answerPrivately, QUEUE_UNAVAILABLE, type BotContext } from "../interactions/context.js";
import { withRedis } from "../store/redis.js";

export function definition() {
  return new SlashCommandBuilder()
    .setName("weird-models")
    .setDescription("The models you can pick with /weird model:, their workers, queues and speed");
}

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  let text: string;
  try {
    const [models, settings] = await Promise.all([
      withRedis(ctx, () => ctx.models.models()),
      settingsFor(ctx, interaction.guildId),
    ]);
    const depths = await withRedis(ctx, () =>
      Promise.all(
        models.map(async model => {
          const counts = await ctx.queues.get(model.queue).getJobCounts("waiting", "prioritized", "active");
          return {
            model,
            depth: { waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0), running: counts.active ?? 0 },
          };
        }),
      ),
    );
    text = modelsMessage(depths, settings.model);
  } catch (error) {
    ctx.log(`weird-models: ${(error as Error).message}`);
    return answerPrivately(interaction, QUEUE_UNAVAILABLE);
  }
  await answerPrivately(interaction, text);
}
