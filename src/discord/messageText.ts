// A Discord message's text as a reader sees it, for use as a prompt: Discord's own markup
// (mentions, custom emoji, timestamps, slash-command mentions, masked links) becomes the plain
// words it shows. What is left is still member text: wherever it is shown it goes through
// safeInline or a code block like any prompt, so markdown and @everyone stay inert there.
import type { Message } from "discord.js";

/** Names Discord resolved with the message; undefined where it did not (e.g. a server the bot is not in). */
export interface MentionNames {
  user: (id: string) => string | undefined;
  role: (id: string) => string | undefined;
  channel: (id: string) => string | undefined;
}

/** Date and time in UTC, minute precision: what a <t:…> timestamp shows, without the reader's time zone. */
function timestampText(seconds: string): string {
  const date = new Date(Number(seconds) * 1000);
  return Number.isNaN(date.getTime()) ? "a date" : `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

const MARKUP: Array<[RegExp, (names: MentionNames, ...groups: string[]) => string]> = [
  [/<@!?(\d{1,20})>/g, (names, id) => `@${names.user(id) ?? "someone"}`],
  [/<@&(\d{1,20})>/g, (names, id) => `@${names.role(id) ?? "a role"}`],
  [/<#(\d{1,20})>/g, (names, id) => `#${names.channel(id) ?? "a channel"}`],
  [/<\/([\w -]{1,100}):\d{1,20}>/gu, (_names, name) => `/${name}`],
  [/<a?:(\w{1,32}):\d{1,20}>/g, (_names, name) => `:${name}:`],
  [/<t:(-?\d{1,13})(?::[tTdDfFR])?>/g, (_names, seconds) => timestampText(seconds)],
  // A masked link reads as its text; a link in angle brackets (no embed) as the link.
  [/\[([^\]\n]{0,256})\]\(\s*<?[a-z][\w+.-]*:\/\/[^)\s>]*>?(?:\s+"[^"]*")?\s*\)/gi, (_names, text) => text],
  [/<([a-z][\w+.-]*:\/\/[^>\s]+)>/gi, (_names, link) => link],
];

/** Characters a reader does not see: white space, format characters (zero-width, direction marks), Hangul fillers. */
const INVISIBLE_ONLY = /^[\s\p{Cf}\u115F\u1160\u3164\uFFA0]*$/u;

/** The message's text with Discord's markup rendered as plain words; empty when a reader sees nothing. */
export function plainMessageText(content: string, names: MentionNames): string {
  const text = MARKUP.reduce(
    (text, [pattern, render]) => text.replace(pattern, (...match: string[]) => render(names, ...match.slice(1))),
    content,
  ).trim();
  return INVISIBLE_ONLY.test(text) ? "" : text;
}

/** Cuts text to at most `limit` characters without splitting a surrogate pair. */
export function capText(text: string, limit: number): { text: string; cut: boolean } {
  if (text.length <= limit) return { text, cut: false };
  return { text: text.slice(0, limit).replace(/[\uD800-\uDBFF]$/, ""), cut: true };
}

/** The names Discord resolved with a message (its mentions), else what the bot has cached. */
export function namesIn(message: Message): MentionNames {
  return {
    user: id => {
      const user = message.mentions.users.get(id) ?? message.client.users.cache.get(id);
      return message.mentions.members?.get(id)?.displayName ?? user?.displayName;
    },
    role: id => message.mentions.roles.get(id)?.name ?? message.guild?.roles.cache.get(id)?.name,
    channel: id => {
      const channel = message.mentions.channels.get(id) ?? message.client.channels.cache.get(id);
      return channel && "name" in channel && channel.name ? channel.name : undefined;
    },
  };
}
