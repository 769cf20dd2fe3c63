// Generated text below zero is full of control and invisible characters; show them instead
// of letting them move the cursor, reorder the line (bidi overrides) or hide text.

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const INVISIBLE = /[\u0000-\u0008\u000B-\u001F\u007F\u0080-\u009F\u200B-\u200F\u2028-\u202E\u2060-\u2069\uFEFF]/g;

function picture(character: string): string {
  const code = character.codePointAt(0)!;
  if (code < 0x20) return String.fromCodePoint(0x2400 + code); // ␀ ␁ … ␟
  if (code === 0x7f) return "\u2421"; // ␡
  return `⟨U+${code.toString(16).toUpperCase().padStart(4, "0")}⟩`;
}

/** Replaces control and invisible characters (but not newline and tab) with visible stand-ins. */
export function visibleText(text: string): string {
  return text.replace(INVISIBLE, picture);
}
