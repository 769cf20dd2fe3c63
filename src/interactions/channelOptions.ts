// The channel options of /weird-config: which channel types each accepts, and the checks
// Discord's own option types leave to the handler (the channel's server, the bot's permissions).
import { ChannelType, PermissionFlagsBits, PermissionsBitField, type ChatInputCommandInteraction } from "discord.js";
import { safeInline } from "../discord/format.js";
import { InvalidSettingError } from "../store/settings.js";

export type GuildInteraction = ChatInputCommandInteraction<"cached" | "raw">;

/** Where /weird can be allowed or denied: channels members can type in (a thread counts as its parent). */
export const COMMAND_CHANNEL_TYPES = [
  ChannelType.GuildText,
  ChannelType.GuildAnnouncement,
  ChannelType.GuildVoice,
  ChannelType.GuildStageVoice,
  ChannelType.GuildForum,
] as const;
/** The hall of fame is a channel of plain messages. */
export const HALL_CHANNEL_TYPES = [ChannelType.GuildText, ChannelType.GuildAnnouncement] as const;
/** What the bot needs in the hall-of-fame channel to post there. */
export const HALL_PERMISSIONS = [PermissionFlagsBits.ViewChannel, PermissionFlagsBits.SendMessages];

type PickedChannel = NonNullable<ReturnType<GuildInteraction["options"]["getChannel"]>>;

/** The channel option, checked: of the right type, and of this server (Discord checks too, but the handler does not rely on it). */
export function pickedChannel(
  interaction: GuildInteraction,
  types: readonly ChannelType[],
  wanted: string,
): PickedChannel {
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
export function botPermissionsIn(picked: PickedChannel, interaction: GuildInteraction): PermissionsBitField | null {
  if ("appPermissions" in picked) {
    if (picked.appPermissions) return picked.appPermissions;
    // Computed from the gateway's cache: the server's roles, the channel's overwrites, the bot's member.
    const me = interaction.client.user ? interaction.guild?.members.me : null;
    return me ? picked.permissionsFor(me) : null;
  }
  return picked.app_permissions === undefined ? null : new PermissionsBitField(BigInt(picked.app_permissions));
}
