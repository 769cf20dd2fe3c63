// What /weird-config's options mean as setting changes, checked before anything is stored
// (the store checks values against the operator's limits again: settingProblem).
import {
  InvalidSettingError,
  SETTING_NAMES,
  type ServerModels,
  type ServerSettings,
  type SettingName,
} from "../store/settings.js";

export type ChannelAction = "allow" | "deny" | "clear";

export function parseChannelAction(action: string): ChannelAction {
  if (action === "allow" || action === "deny" || action === "clear") return action;
  throw new InvalidSettingError("The action must be allow, deny or clear.");
}

/**
 * The channel lists after the action. A channel is on one list at most: allowing it takes it
 * off the deny list, and the other way round; clear without a channel forgets every channel.
 */
export function channelListsAfter(
  channels: ServerSettings["channels"],
  action: ChannelAction,
  channelId: string | undefined,
): ServerSettings["channels"] {
  if (channelId === undefined) return { allowed: [], denied: [] }; // only clear comes without one
  const without = {
    allowed: channels.allowed.filter(id => id !== channelId),
    denied: channels.denied.filter(id => id !== channelId),
  };
  if (action === "allow") return { ...without, allowed: [...without.allowed, channelId] };
  if (action === "deny") return { ...without, denied: [...without.denied, channelId] };
  return without;
}

/**
 * /weird-config model's options as the setting: "none" clears the default, "any" the allowed
 * list, and a list left out stays as it was. The store checks the ids (settingProblem).
 */
export function modelsAfter(current: ServerModels, defaultText: string, allowedText: string | null): ServerModels {
  const model = defaultText.trim();
  const allowed =
    allowedText === null
      ? current.allowed
      : allowedText.trim().toLowerCase() === "any"
        ? []
        : [
            ...new Set(
              allowedText
                .split(",")
                .map(id => id.trim())
                .filter(Boolean),
            ),
          ];
  return { default: model.toLowerCase() === "none" || model === "" ? null : model, allowed };
}

/** The setting /weird-config reset names, if it is one (null: all of them). */
export function isSettingName(name: string): name is SettingName {
  return (SETTING_NAMES as readonly string[]).includes(name);
}
