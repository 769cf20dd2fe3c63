// Script-limited vocabularies: which tokens a request may sample by the text they spell. No
// native imports, so the bot can offer and check the names without loading node-llama-cpp.
//
// A token is allowed under a vocabulary other than "any" when its own text (decoded alone,
// spaces as spaces) is non-empty and every character is either in the vocabulary's set or
// common: whitespace (Unicode White_Space), ASCII digits, punctuation and symbols
// (U+0021–U+0040, U+005B–U+0060, U+007B–U+007E), or a punctuation mark (P) or decimal digit
// (Nd) of the Common script (“ ” — … « » 、 。 and the like). A script's set is every character
// whose Unicode Script_Extensions include that script. "ascii" is stricter: printable ASCII
// (U+0020–U+007E) plus tab, line feed and carriage return, nothing else. End-of-generation
// tokens are left to the token policy (they spell no text but end it). Below zero the argmin is
// then taken over the allowed tokens only: "weird English" under ascii.

export const VOCABULARIES = [
  "any",
  "ascii",
  "latin",
  "cyrillic",
  "greek",
  "cjk",
  "arabic",
  "hebrew",
  "devanagari",
] as const;
export type Vocabulary = (typeof VOCABULARIES)[number];

export const DEFAULT_VOCABULARY: Vocabulary = "any";

/** One line per vocabulary, for help texts and command choices. */
export const VOCABULARY_DESCRIPTIONS: Record<Vocabulary, string> = {
  any: "every token (no limit)",
  ascii: "printable ASCII only",
  latin: "Latin script",
  cyrillic: "Cyrillic script",
  greek: "Greek script",
  cjk: "Chinese, Japanese and Korean (Han, Hiragana, Katakana, Hangul, Bopomofo)",
  arabic: "Arabic script",
  hebrew: "Hebrew script",
  devanagari: "Devanagari script",
};

const COMMON = String.raw`\p{White_Space}\u0021-\u0040\u005B-\u0060\u007B-\u007E`;
const COMMON_SCRIPT = String.raw`(?=\p{Script=Common})[\p{P}\p{Nd}]`;
const SCRIPTS: Record<Exclude<Vocabulary, "any" | "ascii">, string> = {
  latin: String.raw`\p{scx=Latin}`,
  cyrillic: String.raw`\p{scx=Cyrillic}`,
  greek: String.raw`\p{scx=Greek}`,
  cjk: String.raw`\p{scx=Han}\p{scx=Hiragana}\p{scx=Katakana}\p{scx=Hangul}\p{scx=Bopomofo}`,
  arabic: String.raw`\p{scx=Arabic}`,
  hebrew: String.raw`\p{scx=Hebrew}`,
  devanagari: String.raw`\p{scx=Devanagari}`,
};

interface CharacterSets {
  /** The whole text is made of allowed characters. */
  allowed: RegExp;
  /** The text holds at least one character of the script itself (not only common ones). */
  ofScript: RegExp;
}

const SETS = new Map<Vocabulary, CharacterSets>([
  ["ascii", { allowed: /^[\u0020-\u007E\t\n\r]+$/u, ofScript: /[\u0021-\u007E]/u }],
  ...Object.entries(SCRIPTS).map(
    ([name, letters]) =>
      [
        name as Vocabulary,
        {
          allowed: new RegExp(`^(?:[${COMMON}${letters}]|${COMMON_SCRIPT})+$`, "u"),
          ofScript: new RegExp(`[${letters}]`, "u"),
        },
      ] as const,
  ),
]);

export function isVocabulary(value: unknown): value is Vocabulary {
  return typeof value === "string" && (VOCABULARIES as readonly string[]).includes(value);
}

/** Whether a token whose own text is `text` may be sampled under the vocabulary. */
export function allowsText(vocabulary: Vocabulary, text: string): boolean {
  const sets = SETS.get(vocabulary);
  return sets === undefined || sets.allowed.test(text);
}

/** Whether an allowed text holds a character of the script, not only punctuation, digits and spaces. */
export function hasScriptCharacter(vocabulary: Vocabulary, text: string): boolean {
  const sets = SETS.get(vocabulary);
  return sets === undefined || sets.ofScript.test(text);
}
