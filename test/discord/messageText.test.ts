import { describe, expect, it } from "vitest";
import { capText, plainMessageText, type MentionNames } from "../../src/discord/messageText.js";

const names: MentionNames = {
  user: id => ({ "1": "ada" })[id],
  role: id => ({ "2": "mods" })[id],
  channel: id => ({ "3": "general" })[id],
};

describe("a message's text as plain words", () => {
  it("names what Discord resolved, and says what it did not", () => {
    expect(plainMessageText("<@1> <@!1> <@&2> <#3> <@9> <@&9> <#9>", names)).toBe(
      "@ada @ada @mods #general @someone @a role #a channel",
    );
  });

  it("renders emoji, timestamps, command mentions and links as a reader sees them", () => {
    expect(
      plainMessageText(
        "<:blob:12345> <a:dance:12346> <t:86400:F> </weird config:7> [the docs](<https://x.org/a>) <https://y.org/b>",
        names,
      ),
    ).toBe(":blob: :dance: 1970-01-02 00:00 UTC /weird config the docs https://y.org/b");
  });

  it("leaves everything else as typed (markdown is neutralised where it is shown) and trims", () => {
    expect(plainMessageText("  **bold** @everyone `x`\n> quote  ", names)).toBe("**bold** @everyone `x`\n> quote");
  });

  it("is empty when a reader sees nothing: zero-width and other invisible characters only", () => {
    // The "blank message" trick: Discord shows nothing, so there is no text to continue or score.
    expect(plainMessageText("\u200b\u200b", names)).toBe("");
    expect(plainMessageText(" \u2060\ufeff\u200d\u3164 \u200e", names)).toBe("");
    expect(plainMessageText("[\u200b](https://x.org)", names)).toBe("");
    // Invisible characters inside visible text are the member's: kept.
    expect(plainMessageText("a\u200bb", names)).toBe("a\u200bb");
  });

  it("caps without splitting a surrogate pair", () => {
    expect(capText("ab😀", 3)).toEqual({ text: "ab", cut: true });
    expect(capText("abc", 3)).toEqual({ text: "abc", cut: false });
  });
});
