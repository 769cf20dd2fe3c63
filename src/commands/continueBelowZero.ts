// "Continue below zero" (Apps menu on any message): the message's text, as its reader sees it,
// is the prompt; everything else is the server's defaults, and it queues like /weird.
import { MessageFlags, type MessageContextMenuCommandInteraction } from "discord.js";
import { answerPrivately, messageCommandDefinition, type BotContext } from "../interactions/context.js";
import { enqueueFromOptions, settingsWhereAllowed } from "../interactions/enqueue.js";
import { checkMaxTokens, checkPrompt, checkTemperature, checkVocabulary, randomSeed } from "../engine/request.js";
import { capText, namesIn, plainMessageText } from "../discord/messageText.js";
import { messageLink, NO_MENTIONS } from "../discord/format.js";

export const NAME = "Continue below zero";

export const NO_TEXT =
  "That message has no text to continue (only an image, embed, sticker or poll), so nothing was queued.";

export function definition() {
  return messageCommandDefinition(NAME);
}

export async function execute(interaction: MessageContextMenuCommandInteraction, ctx: BotContext): Promise<void> {
  const { targetMessage: message } = interaction;
  const text = plainMessageText(message.content, namesIn(message));
  if (text === "") return answerPrivately(interaction, NO_TEXT);
  const settings = await settingsWhereAllowed(interaction, ctx);
  if (!settings) return;
  const { limits } = ctx.config;
  const { text: prompt, cut } = capText(text, limits.maxPromptCharacters);
  await enqueueFromOptions(ctx, interaction, settings, () => {
    const vocab = checkVocabulary(settings.vocab);
    return {
      prompt: checkPrompt(prompt, limits),
      temperature: checkTemperature(settings.temperature.default, limits),
      ...(vocab !== "any" && { vocab }),
      maxTokens: checkMaxTokens(settings.maxTokens.default, limits),
      seed: randomSeed(),
      source: messageLink(interaction.guildId, message.channelId, message.id),
    };
  });
  // Told after the reply exists, privately: the public reply is the generation's.
  if (cut && interaction.deferred)
    await interaction
      .followUp({
        content: `That message is ${text.length} characters long; only its first ${prompt.length} are the prompt.`,
        flags: MessageFlags.Ephemeral,
        allowedMentions: NO_MENTIONS,
      })
      .catch((error: Error) => ctx.log(`could not tell the member the prompt was cut: ${error.message}`));
}
