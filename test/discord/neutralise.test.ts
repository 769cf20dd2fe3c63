import { describe, expect, it } from "vitest";
import { noticeMessage, quotePrompt, resultMessage, safeInline } from "../../src/discord/format.js";
import { visibleText } from "../../src/visibleText.js";

// What Discord would render, found in text after its escapes are taken out: a backslash
// before punctuation shows that character literally, so escaped characters become a
// placeholder that no construct below can match.
const LITERAL = "\uE000";
function unescaped(markdown: string): string {
  return markdown.replace(/\\[^\p{L}\p{N}\s]/gu, LITERAL);
}

/** Each construct Discord renders, an example a member could type, and how to spot it rendered. */
const CONSTRUCTS: Array<[name: string, typed: string, rendered: RegExp]> = [
  ["heading", "# HUGE HEADING", /^ {0,3}#{1,3} /m],
  ["small heading", "### small", /^ {0,3}#{1,3} /m],
  ["subtext", "-# subtext", /^-# /m],
  ["block quote", "> quoted", /^>/m],
  ["multi-line block quote", ">>> all of it", /^>/m],
  ["bulleted list", "- item", /^\s*[-*+] /m],
  ["starred list", "* item", /^\s*[-*+] /m],
  ["numbered list", "1. first", /^\s*\d+\. /m],
  ["masked link", "[discord.gift/free-nitro](https://example.com/phish)", /\[[^\]]*\]\([^)]*\)/],
  ["bare link (embeds)", "https://example.com/phish", /\w+:\/\//],
  ["scheme-less gift link", "discord.gift/free-nitro", /discord\.gift\//],
  ["spoiler", "||hidden||", /\|\|.*\|\|/],
  ["bold", "**bold**", /\*\*.+\*\*/],
  ["italic", "*italic*", /\*[^*]+\*/],
  ["underline", "__under__", /__.+__/],
  ["strikethrough", "~~gone~~", /~~.+~~/],
  ["inline code", "`code`", /`[^`]+`/],
  ["code block", "```js\nx\n```", /```/],
  ["timestamp", "<t:1700000000:R>", /<t:\d+(:\w)?>/],
  ["custom emoji", "<:blobcat:123456789012345678>", /<a?:\w+:\d+>/],
  ["animated emoji", "<a:party:123456789012345678>", /<a?:\w+:\d+>/],
  ["user mention", "<@123456789012345678>", /<@!?\d+>/],
  ["nickname mention", "<@!123456789012345678>", /<@!?\d+>/],
  ["role mention", "<@&123456789012345678>", /<@&\d+>/],
  ["channel mention", "<#123456789012345678>", /<#\d+>/],
  ["slash command mention", "</weird:123456789012345678>", /<\/[\w-]+:\d+>/],
  ["everyone", "@everyone and @here", /@(everyone|here)/],
];

/** Lines of a quoted prompt, without the one "> " the bot itself puts in front. */
function quotedLines(quote: string): string {
  return quote
    .split("\n")
    .map(line => line.replace(/^> /, ""))
    .join("\n");
}

describe("member and model text in messages", () => {
  it.each(CONSTRUCTS)("%s renders as plain text inline", (_name, typed, rendered) => {
    expect(typed).toMatch(rendered); // the example really is the construct
    expect(unescaped(safeInline(typed))).not.toMatch(rendered);
    expect(unescaped(safeInline(`some text ${typed} more`))).not.toMatch(rendered);
  });

  it.each(CONSTRUCTS)("%s renders as plain text in a result's quoted prompt", (_name, typed, rendered) => {
    const body = resultMessage({
      outputId: "o",
      prompt: `start\n${typed}\n${typed}`,
      temperature: -0.001,
      seed: 1,
      model: typed.split("\n").join(" "),
      text: "out",
      tokenCount: 1,
      stopReason: "maxTokens",
      votes: 0,
      surprisal: null,
    });
    const beforeOutput = body.content.slice(0, body.content.indexOf("```\nout"));
    const [header, ...quote] = beforeOutput.trimEnd().split("\n");
    expect(header).toContain(` · ${safeInline(typed.split("\n").join(" "))} · `); // the model name
    expect(unescaped(quotedLines(quote.join("\n")))).not.toMatch(rendered);
  });

  it("reads exactly as typed once Discord has taken the escapes out", () => {
    const everything = CONSTRUCTS.map(([, typed]) => typed).join("\n") + "\\ back\\slash \u0000";
    const shown = safeInline(everything).replace(/\\([^\p{L}\p{N}\s])/gu, "$1");
    expect(shown).toBe(visibleText(everything));
  });

  it("never cuts a long quoted prompt between a backslash and the character it escapes", () => {
    for (let length = 390; length < 410; length++) {
      const quote = quotePrompt(".".repeat(length) + "#");
      expect(quote.replace(/…$/, "")).toMatch(/(^|[^\\])(\\\\)*(\\.)*$/);
      expect(/(?<!\\)(\\\\)*\\…$/.test(quote)).toBe(false);
    }
  });

  it("notices never ping", () => {
    expect(noticeMessage("x").allowed_mentions).toEqual({ parse: [] });
  });
});
