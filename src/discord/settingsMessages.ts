// How server settings read, in /weird-config (every answer and the settings view), /weird-help
// and the refusals of /weird outside the allowed channels. Channels show as mentions, which
// never ping (every answer carries NO_MENTIONS).
import { formatBeta } from "../engine/request.js";
import type { OperatorLimits, ServerSettings, SettingName, SettingsView } from "../store/settings.js";
import { VOCABULARY_DESCRIPTIONS, type Vocabulary } from "../engine/vocabulary.js";

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
export function hallText(h: ServerSettings["hallOfFame"]): string {
  if (h.threshold === 0 || h.channelId === null) return "off";
  const removal = h.removeBelow === null ? "never taken down" : `taken down below ${h.removeBelow} votes`;
  return `<#${h.channelId}> at ${h.threshold} votes, ${removal}`;
}
export const selfVotesText = (allowed: boolean) =>
  allowed ? "authors may vote for their own outputs" : "authors may not vote for their own outputs";
export const bytesText = (allowed: boolean) =>
  allowed ? "raw byte tokens may be sampled below zero" : "no raw byte tokens below zero";
export function modelsSettingText(m: ServerSettings["model"]): string {
  const preferred =
    m.default === null ? "default: the shared queue's model, else the first live one" : `default ${m.default}`;
  return `${preferred}; members may pick ${m.allowed.length === 0 ? "any model" : `only ${m.allowed.join(", ")}`}`;
}
export const vocabText = (vocab: Vocabulary) =>
  vocab === "any"
    ? "any: every token (members may pick a script with /weird vocab:)"
    : `${vocab}: ${VOCABULARY_DESCRIPTIONS[vocab]}, unless a member picks another with /weird vocab:`;
export const layoutText = (layout: ServerSettings["layout"]) =>
  layout === "cards"
    ? "cards: results as Discord's cards, with a weirdness meter (sweeps stay plain)"
    : "plain: results as plain messages, for clients or bridges that cannot show cards";

const SOURCE_TEXT = {
  server: "set here",
  default: "default",
  ignored: "default: this server's value is outside the operator's limits now",
};

/** /weird-config show: every setting, where it comes from, the operator's limits and the last change. */
export function settingsViewText(
  view: SettingsView,
  hallProblem: string | undefined,
  operator: { limits: OperatorLimits; maxPerGuild: number },
): string {
  const { settings: s, source, lastChange } = view;
  const { limits } = operator;
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
    line("vocab", vocabText(s.vocab)),
    line("model", modelsSettingText(s.model)),
    line("layout", layoutText(s.layout)),
    `Operator's limits: |T| ≤ ${limits.maxAbsTemperature}, at most ${limits.maxTokensCap} tokens, a cooldown of at least ${limits.minCooldownSeconds} s, ${operator.maxPerGuild} generations queued per server.`,
    lastChange
      ? `Last change: ${lastChange.setting} by <@${lastChange.memberId}> <t:${Math.floor(lastChange.at / 1000)}:f>.`
      : "Last change: none; this server uses the operator's defaults.",
  ].join("\n");
}
