// /weird-config: server admins set /weird's defaults, range and limits for their server.
// Manage Server only (the command's default permission, and checked again here: servers can
// override command permissions). Every answer is private; a refused change changes nothing.
import {
  ApplicationIntegrationType,
  InteractionContextType,
  PermissionFlagsBits,
  SlashCommandBuilder,
  type ChatInputCommandInteraction,
  type SlashCommandNumberOption,
} from "discord.js";
import { safeInline } from "../discord/format.js";
import {
  bytesText,
  channelsText,
  hallText,
  selfVotesText,
  settingsViewText,
  temperatureText,
  tokensText,
  vocabText,
  layoutText,
  modelsSettingText,
} from "../discord/settingsMessages.js";
import { VOCABULARIES, VOCABULARY_DESCRIPTIONS, type Vocabulary } from "../engine/vocabulary.js";
import {
  botPermissionsIn,
  COMMAND_CHANNEL_TYPES,
  HALL_CHANNEL_TYPES,
  HALL_PERMISSIONS,
  pickedChannel,
  type GuildInteraction,
} from "../interactions/channelOptions.js";
import {
  InvalidSettingError,
  MAX_COOLDOWN_SECONDS,
  SETTING_NAMES,
  RESULT_LAYOUTS,
  type ResultLayout,
  type ServerSettings,
  type SettingChange,
} from "../store/settings.js";
import {
  answerPrivately,
  notInstalledInServer,
  SETTINGS_UNAVAILABLE,
  type BotContext,
} from "../interactions/context.js";
import { channelListsAfter, isSettingName, modelsAfter, parseChannelAction } from "../game/settings.js";
import { withRedis } from "../store/redis.js";

export function definition(ctx: Pick<BotContext, "config">) {
  const { limits, queue } = ctx.config;
  const t = limits.maxAbsTemperature;
  const temperature = (o: SlashCommandNumberOption, name: string, what: string) =>
    o.setName(name).setDescription(what).setMinValue(-t).setMaxValue(t);
  return new SlashCommandBuilder()
    .setName("weird-config")
    .setDescription("Set /weird's defaults and limits for this server")
    .setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild)
    .setIntegrationTypes(ApplicationIntegrationType.GuildInstall)
    .setContexts(InteractionContextType.Guild)
    .addSubcommand(s => s.setName("show").setDescription("Every setting, where it comes from, and the last change"))
    .addSubcommand(s =>
      s
        .setName("temperature")
        .setDescription("The default T, and the range members may ask for")
        .addNumberOption(o => temperature(o, "default", "T when /weird leaves it out").setRequired(true))
        .addNumberOption(o => temperature(o, "min", "Lowest T members may ask for (e.g. -2)"))
        .addNumberOption(o => temperature(o, "max", "Highest T members may ask for (e.g. 0: below zero only)")),
    )
    .addSubcommand(s =>
      s
        .setName("tokens")
        .setDescription("The default number of tokens, and the most a member may ask for")
        .addIntegerOption(o =>
          o
            .setName("default")
            .setDescription("Tokens when /weird leaves it out")
            .setRequired(true)
            .setMinValue(1)
            .setMaxValue(limits.maxTokensCap),
        )
        .addIntegerOption(o =>
          o
            .setName("max")
            .setDescription("Most tokens a member may ask for")
            .setMinValue(1)
            .setMaxValue(limits.maxTokensCap),
        ),
    )
    .addSubcommand(s =>
      s
        .setName("cooldown")
        .setDescription("How long each member waits between generations")
        .addIntegerOption(o =>
          o
            .setName("seconds")
            .setDescription("Seconds between a member's generations")
            .setRequired(true)
            .setMinValue(Math.ceil(queue.cooldownMs / 1000))
            .setMaxValue(MAX_COOLDOWN_SECONDS),
        ),
    )
    .addSubcommand(s =>
      s
        .setName("channel")
        .setDescription("Where /weird and its buttons work (default: everywhere)")
        .addStringOption(o =>
          o
            .setName("action")
            .setDescription("allow: only listed channels; deny: everywhere but these; clear: forget one or all")
            .setRequired(true)
            .addChoices(
              { name: "allow", value: "allow" },
              { name: "deny", value: "deny" },
              { name: "clear", value: "clear" },
            ),
        )
        .addChannelOption(o =>
          o
            .setName("channel")
            .setDescription("The channel (clear without one forgets every channel)")
            .addChannelTypes(...COMMAND_CHANNEL_TYPES),
        ),
    )
    .addSubcommand(s =>
      s
        .setName("hall-of-fame")
        .setDescription("Where the weirdest outputs are reposted, and at how many votes")
        .addChannelOption(o =>
          o
            .setName("channel")
            .setDescription("A text channel the bot can post in")
            .setRequired(true)
            .addChannelTypes(...HALL_CHANNEL_TYPES),
        )
        .addIntegerOption(o =>
          o
            .setName("threshold")
            .setDescription("Votes to get in; 0 turns the hall of fame off")
            .setRequired(true)
            .setMinValue(0),
        )
        .addIntegerOption(o =>
          o.setName("remove_below").setDescription("Take a post down when its votes fall below this").setMinValue(0),
        ),
    )
    .addSubcommand(s =>
      s
        .setName("votes")
        .setDescription("Whether authors may vote for their own outputs")
        .addBooleanOption(o => o.setName("self").setDescription("Allow voting for your own output").setRequired(true)),
    )
    .addSubcommand(s =>
      s
        .setName("policy")
        .setDescription("The token policy for this server")
        .addBooleanOption(o =>
          o.setName("allow_bytes").setDescription("Let raw byte tokens be sampled below zero").setRequired(true),
        ),
    )
    .addSubcommand(s =>
      s
        .setName("vocab")
        .setDescription("The vocabulary /weird samples from when a member names none")
        .addStringOption(o =>
          o
            .setName("default")
            .setDescription("A script (ascii: weird English), or any")
            .setRequired(true)
            .addChoices(
              ...VOCABULARIES.map(name => ({
                name: `${name}: ${VOCABULARY_DESCRIPTIONS[name]}`.slice(0, 100),
                value: name,
              })),
            ),
        ),
    )
    .addSubcommand(s =>
      s
        .setName("model")
        .setDescription("The model /weird uses when a member names none, and which models members may pick")
        .addStringOption(o =>
          o
            .setName("default")
            .setDescription("A model id (see /weird-models), or none")
            .setRequired(true)
            .setMaxLength(64),
        )
        .addStringOption(o =>
          o
            .setName("allowed")
            .setDescription("Model ids members may pick, separated by commas, or any (default: unchanged)")
            .setMaxLength(1000),
        ),
    )
    .addSubcommand(s =>
      s
        .setName("layout")
        .setDescription("How results look: cards, or plain messages for clients that cannot show cards")
        .addStringOption(o =>
          o
            .setName("style")
            .setDescription("cards (Discord's current look) or plain")
            .setRequired(true)
            .addChoices(...RESULT_LAYOUTS.map(name => ({ name, value: name }))),
        ),
    )
    .addSubcommand(s =>
      s
        .setName("reset")
        .setDescription("Back to the operator's defaults: one setting, or all")
        .addStringOption(o =>
          o
            .setName("setting")
            .setDescription("The setting to reset (all when left out)")
            .addChoices(...SETTING_NAMES.map(name => ({ name, value: name }))),
        ),
    );
}

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  if (!interaction.inGuild()) return answerPrivately(interaction, "/weird-config works only in a server.");
  const elsewhere = notInstalledInServer(interaction, "Settings");
  if (elsewhere) return answerPrivately(interaction, elsewhere);
  if (!interaction.memberPermissions.has(PermissionFlagsBits.ManageGuild))
    return answerPrivately(interaction, "Only members with the Manage Server permission can change /weird's settings.");
  let answer: string;
  try {
    answer = await run(interaction, ctx);
  } catch (error) {
    if (error instanceof InvalidSettingError)
      return answerPrivately(interaction, `${error.message} Nothing was changed.`);
    ctx.log(
      `weird-config ${interaction.options.getSubcommand(false) ?? ""} failed: ${(error as Error).stack ?? String(error)}`,
    );
    return answerPrivately(interaction, SETTINGS_UNAVAILABLE);
  }
  await answerPrivately(interaction, answer);
}

async function run(interaction: GuildInteraction, ctx: BotContext): Promise<string> {
  const { guildId, options } = interaction;
  const memberId = interaction.user.id;
  const store = ctx.settings;
  const current = () => withRedis(ctx, () => store.forServer(guildId));
  const set = async (change: SettingChange) => {
    const changed = await withRedis(ctx, () => store.set(guildId, memberId, change));
    return changed ? "" : " (unchanged)";
  };
  const subcommand = options.getSubcommand(true);
  switch (subcommand) {
    case "show":
      return settingsViewText(
        await withRedis(ctx, () => store.view(guildId)),
        await withRedis(ctx, () => ctx.community.hallOfFameProblem(guildId)),
        { limits: store.operator.limits, maxPerGuild: ctx.config.queue.maxPerGuild },
      );
    case "temperature": {
      const { temperature } = await current();
      const value = {
        default: options.getNumber("default", true),
        min: options.getNumber("min") ?? temperature.min,
        max: options.getNumber("max") ?? temperature.max,
      };
      const note = await set({ setting: "temperature", value });
      return `Temperature${note}: ${temperatureText(value)}.`;
    }
    case "tokens": {
      const { maxTokens } = await current();
      const value = { default: options.getInteger("default", true), max: options.getInteger("max") ?? maxTokens.max };
      const note = await set({ setting: "tokens", value });
      return `Max tokens${note}: ${tokensText(value)}.`;
    }
    case "cooldown": {
      const value = options.getInteger("seconds", true);
      return `Cooldown${await set({ setting: "cooldown", value })}: ${value} s per member.`;
    }
    case "channel":
      return channel(interaction, current, set);
    case "hall-of-fame": {
      const picked = pickedChannel(interaction, HALL_CHANNEL_TYPES, "a text channel");
      const permissions = botPermissionsIn(picked, interaction);
      if (!permissions) throw new InvalidSettingError(`I can't tell whether I can post in <#${picked.id}>.`);
      if (!permissions.has(HALL_PERMISSIONS))
        throw new InvalidSettingError(
          `I can't post in <#${picked.id}>: I need View Channel and Send Messages there. Give me those, or pick another channel.`,
        );
      const value = {
        channelId: picked.id,
        threshold: options.getInteger("threshold", true),
        removeBelow: options.getInteger("remove_below"),
      };
      return `Hall of fame${await set({ setting: "hall-of-fame", value })}: ${hallText(value)}.`;
    }
    case "votes": {
      const value = options.getBoolean("self", true);
      return `Votes${await set({ setting: "votes", value })}: ${selfVotesText(value)}.`;
    }
    case "policy": {
      const value = options.getBoolean("allow_bytes", true);
      return `Token policy${await set({ setting: "policy", value })}: ${bytesText(value)}.`;
    }
    case "vocab": {
      // Checked by the store (settingProblem), like every value: a client past the choices is refused there.
      const value = options.getString("default", true) as Vocabulary;
      return `Vocabulary${await set({ setting: "vocab", value })}: ${vocabText(value)}.`;
    }
    case "model": {
      const { model } = await current();
      const value = modelsAfter(model, options.getString("default", true), options.getString("allowed"));
      const note = await set({ setting: "model", value });
      // Allowed even when no worker serves it now (one may be restarting); said, so a typo shows.
      const known = await withRedis(ctx, () => ctx.models.models());
      const missing = [value.default, ...value.allowed].filter(
        (id): id is string => id !== null && !known.some(m => m.id === id),
      );
      const warning = missing.length > 0 ? ` No worker has served ${[...new Set(missing)].join(", ")} yet.` : "";
      return `Models${note}: ${modelsSettingText(value)}.${warning}`;
    }
    case "layout": {
      // Checked by the store (settingProblem), like every value.
      const value = options.getString("style", true) as ResultLayout;
      return `Layout${await set({ setting: "layout", value })}: ${layoutText(value)}.`;
    }
    case "reset": {
      const setting = options.getString("setting");
      if (setting !== null && !isSettingName(setting))
        throw new InvalidSettingError(`There is no setting called ${safeInline(setting)}.`);
      const changed = await withRedis(ctx, () => store.reset(guildId, memberId, setting ?? undefined));
      if (changed.length > 0) return `Reset to the operator's defaults: ${changed.join(", ")}.`;
      return setting
        ? `Nothing to reset: ${setting} is the operator's default already.`
        : "Nothing to reset: this server uses the operator's defaults already.";
    }
    default:
      throw new InvalidSettingError(`Unknown subcommand ${safeInline(subcommand)}.`);
  }
}

async function channel(
  interaction: GuildInteraction,
  current: () => Promise<ServerSettings>,
  set: (change: SettingChange) => Promise<string>,
): Promise<string> {
  const action = parseChannelAction(interaction.options.getString("action", true));
  const picked = interaction.options.getChannel("channel")
    ? pickedChannel(interaction, COMMAND_CHANNEL_TYPES, "a channel members can type in")
    : undefined;
  if (!picked && action !== "clear") throw new InvalidSettingError(`Name the channel to ${action}.`);
  const { channels } = await current();
  const value = channelListsAfter(channels, action, picked?.id);
  const note = await set({ setting: "channel", value });
  return `Channels${note}: ${channelsText(value)}.`;
}
