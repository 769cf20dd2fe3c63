// /weird-config: server admins set /weird's defaults, range and limits for their server.
// Manage Server only (the command's default permission, and checked again here: servers can
// override command permissions). Every answer is private; a refused change changes nothing.
import {
  ChannelType,
  InteractionContextType,
  PermissionFlagsBits,
  PermissionsBitField,
  SlashCommandBuilder,
  type ChatInputCommandInteraction,
  type SlashCommandNumberOption,
} from "discord.js";
import { formatBeta } from "../engine/request.js";
import { safeInline } from "../discord/format.js";
import {
  InvalidSettingError,
  MAX_COOLDOWN_SECONDS,
  SETTING_NAMES,
  type ServerSettings,
  type SettingChange,
  type SettingName,
  type SettingsView,
} from "../store/settings.js";
import { answerPrivately, SETTINGS_UNAVAILABLE, type BotContext } from "../interactions/context.js";
import { withRedis } from "../store/redis.js";

/** Where /weird can be allowed or denied: channels members can type in (a thread counts as its parent). */
const COMMAND_CHANNEL_TYPES = [
  ChannelType.GuildText,
  ChannelType.GuildAnnouncement,
  ChannelType.GuildVoice,
  ChannelType.GuildStageVoice,
  ChannelType.GuildForum,
] as const;
/** The hall of fame is a channel of plain messages. */
const HALL_CHANNEL_TYPES = [ChannelType.GuildText, ChannelType.GuildAnnouncement] as const;
/** What the bot needs in the hall-of-fame channel to post there. */
const HALL_PERMISSIONS = [PermissionFlagsBits.ViewChannel, PermissionFlagsBits.SendMessages];

export function definition(ctx: Pick<BotContext, "config">) {
  const { limits, queue } = ctx.config;
  const t = limits.maxAbsTemperature;
  const temperature = (o: SlashCommandNumberOption, name: string, what: string) =>
    o.setName(name).setDescription(what).setMinValue(-t).setMaxValue(t);
  return new SlashCommandBuilder()
    .setName("weird-config")
    .setDescription("Set /weird's defaults and limits for this server")
    .setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild)
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

type GuildInteraction = ChatInputCommandInteraction<"cached" | "raw">;

export async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  if (!interaction.inGuild()) return answerPrivately(interaction, "/weird-config works only in a server.");
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
      return showText(
        await withRedis(ctx, () => store.view(guildId)),
        await withRedis(ctx, () => ctx.community.hallOfFameProblem(guildId)),
        ctx,
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
    case "reset": {
      const setting = options.getString("setting") as SettingName | null;
      if (setting !== null && !SETTING_NAMES.includes(setting))
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
  const action = interaction.options.getString("action", true);
  if (!["allow", "deny", "clear"].includes(action))
    throw new InvalidSettingError("The action must be allow, deny or clear.");
  const picked = interaction.options.getChannel("channel")
    ? pickedChannel(interaction, COMMAND_CHANNEL_TYPES, "a channel members can type in")
    : undefined;
  if (!picked && action !== "clear") throw new InvalidSettingError(`Name the channel to ${action}.`);
  const { channels } = await current();
  // A channel is on one list at most: allowing it takes it off the deny list, and the other way round.
  const without = {
    allowed: channels.allowed.filter(id => id !== picked?.id),
    denied: channels.denied.filter(id => id !== picked?.id),
  };
  const value = !picked
    ? { allowed: [], denied: [] }
    : action === "allow"
      ? { ...without, allowed: [...without.allowed, picked.id] }
      : action === "deny"
        ? { ...without, denied: [...without.denied, picked.id] }
        : without;
  const note = await set({ setting: "channel", value });
  return `Channels${note}: ${channelsText(value)}.`;
}

type PickedChannel = NonNullable<ReturnType<GuildInteraction["options"]["getChannel"]>>;

/** The channel option, checked: of the right type, and of this server (Discord checks too, but the handler does not rely on it). */
function pickedChannel(interaction: GuildInteraction, types: readonly ChannelType[], wanted: string): PickedChannel {
  const picked = interaction.options.getChannel("channel", true);
  // A channel the bot has cached comes back with its real server; the raw resolved data has none.
  if ("guildId" in picked && picked.guildId !== interaction.guildId)
    throw new InvalidSettingError("That channel is in another server: pick one of this server's channels.");
  if (!types.includes(picked.type))
    throw new InvalidSettingError(`#${safeInline(picked.name ?? picked.id)} is not ${wanted}.`);
  return picked;
}

/**
 * The bot's permissions in the picked channel: Discord sends them with the resolved channel
 * (app_permissions, discord.js's appPermissions); else computed from the gateway's cache.
 */
function botPermissionsIn(picked: PickedChannel, interaction: GuildInteraction): PermissionsBitField | null {
  if ("appPermissions" in picked) {
    if (picked.appPermissions) return picked.appPermissions;
    // Computed from the gateway's cache: the server's roles, the channel's overwrites, the bot's member.
    const me = interaction.client.user ? interaction.guild?.members.me : null;
    return me ? picked.permissionsFor(me) : null;
  }
  return picked.app_permissions === undefined ? null : new PermissionsBitField(BigInt(picked.app_permissions));
}

// How settings read, in /weird-config and /weird-help.
const range = (min: number, max: number) => `${min} … ${max}`;
export const temperatureText = (t: ServerSettings["temperature"]) =>
  `default T = ${t.default} (β = ${formatBeta(t.default)}), members may ask for ${range(t.min, t.max)}`;
export const tokensText = (n: ServerSettings["maxTokens"]) => `default ${n.default}, at most ${n.max}`;
/** Channels shown in a message: the first few, so a long list cannot push it past 2,000 characters. */
const LISTED_IN_MESSAGES = 12;
const channelList = (ids: string[]) =>
  ids
    .slice(0, LISTED_IN_MESSAGES)
    .map(id => `<#${id}>`)
    .join(", ") + (ids.length > LISTED_IN_MESSAGES ? ` and ${ids.length - LISTED_IN_MESSAGES} more` : "");
export function channelsText(c: ServerSettings["channels"]): string {
  if (c.allowed.length > 0)
    return `only in ${channelList(c.allowed)}${c.denied.length > 0 ? ` (never in ${channelList(c.denied)})` : ""}`;
  return c.denied.length > 0 ? `everywhere except ${channelList(c.denied)}` : "everywhere";
}
function hallText(h: ServerSettings["hallOfFame"]): string {
  if (h.threshold === 0 || h.channelId === null) return "off";
  const removal = h.removeBelow === null ? "never taken down" : `taken down below ${h.removeBelow} votes`;
  return `<#${h.channelId}> at ${h.threshold} votes, ${removal}`;
}
const selfVotesText = (allowed: boolean) =>
  allowed ? "authors may vote for their own outputs" : "authors may not vote for their own outputs";
const bytesText = (allowed: boolean) =>
  allowed ? "raw byte tokens may be sampled below zero" : "no raw byte tokens below zero";

const SOURCE_TEXT = {
  server: "set here",
  default: "default",
  ignored: "default: this server's value is outside the operator's limits now",
};

function showText(view: SettingsView, hallProblem: string | undefined, ctx: BotContext): string {
  const { settings: s, source, lastChange } = view;
  const { limits } = ctx.settings.operator;
  // Each line is named as the subcommand that sets it.
  const line = (setting: SettingName, text: string) => `**${setting}**: ${text} *(${SOURCE_TEXT[source[setting]]})*`;
  return [
    "**/weird settings for this server**",
    line("temperature", temperatureText(s.temperature)),
    line("tokens", tokensText(s.maxTokens)),
    line("cooldown", `${s.cooldownSeconds} s per member`),
    line("channel", channelsText(s.channels)),
    line("hall-of-fame", hallText(s.hallOfFame)),
    ...(hallProblem ? [`⚠️ The last hall-of-fame post failed: ${hallProblem}`] : []),
    line("votes", selfVotesText(s.selfVotes)),
    line("policy", bytesText(s.allowBytes)),
    `Operator's limits: |T| ≤ ${limits.maxAbsTemperature}, at most ${limits.maxTokensCap} tokens, a cooldown of at least ${limits.minCooldownSeconds} s, ${ctx.config.queue.maxPerGuild} generations queued per server.`,
    lastChange
      ? `Last change: ${lastChange.setting} by <@${lastChange.memberId}> <t:${Math.floor(lastChange.at / 1000)}:f>.`
      : "Last change: none; this server uses the operator's defaults.",
  ].join("\n");
}
