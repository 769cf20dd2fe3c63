// Test models with real tokenizers: random LLaMA weights around the vocabulary-only GGUFs that
// llama.cpp keeps in its sources (models/ggml-vocab-*.gguf). node-llama-cpp's package carries
// those sources as a git bundle, so the vocabularies come from there: nothing is downloaded and
// no binary is committed. Written once per test run (see test/globalSetup.ts) and reused.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { inject } from "vitest";
import { writeSyntheticModel, type SyntheticModelOptions } from "./syntheticModel.js";

/** LLaMA 2's 32,000-token SentencePiece vocabulary and LLaMA 3's 128,256-token byte-level BPE. */
export const REAL_VOCABULARIES = { "llama-spm": 32000, "llama-bpe": 128256 } as const;
export type RealVocabulary = keyof typeof REAL_VOCABULARIES;

export function llamaCppBundlePath(): string {
  return resolve(import.meta.dirname, "../../node_modules/node-llama-cpp/llama/gitRelease.bundle");
}

/** Where this run keeps its fixtures: the folder test/globalSetup.ts made, or one of this process's own. */
let ownFolder: string | undefined;
function fixtureFolder(): string {
  let folder: string | undefined;
  try {
    folder = inject("fixtureFolder");
  } catch {
    folder = undefined; // outside vitest (the bench)
  }
  folder ??= ownFolder ??= mkdtempSync(join(tmpdir(), "belowzero-fixtures-"));
  mkdirSync(folder, { recursive: true });
  return folder;
}

/** Extracts models/ggml-vocab-NAME.gguf from the llama.cpp bundle (a second or so, once). */
export function vocabularyFile(name: RealVocabulary, folder = fixtureFolder()): string {
  const path = join(folder, `ggml-vocab-${name}.gguf`);
  if (existsSync(path)) return path;
  const repository = join(folder, "llama.cpp.git");
  const git = (...args: string[]) =>
    execFileSync("git", ["--git-dir", repository, ...args], { maxBuffer: 1 << 26, stdio: ["ignore", "pipe", "pipe"] });
  if (!existsSync(repository)) {
    execFileSync("git", ["init", "--quiet", "--bare", repository]);
    git("fetch", "--quiet", llamaCppBundlePath(), "HEAD");
  }
  const temporary = `${path}.${process.pid}.partial`;
  writeFileSync(temporary, git("cat-file", "blob", `FETCH_HEAD:models/ggml-vocab-${name}.gguf`));
  renameSync(temporary, path);
  return path;
}

export type RealVocabularyModelOptions = Omit<SyntheticModelOptions, "tokenizer" | "vocabularySize">;

/**
 * A random-weight LLaMA with a real vocabulary, kept tiny everywhere else (64 wide, 2 layers)
 * so that two CI cores stay quick; written on first use in a run and reused after that.
 */
export async function realVocabularyModel(
  name: RealVocabulary,
  options: RealVocabularyModelOptions = {},
): Promise<string> {
  const folder = fixtureFolder();
  const settings = { embeddingLength: 64, layers: 2, feedForwardLength: 128, heads: 4, ...options };
  const key = Object.entries(settings)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([option, value]) => `${option}-${String(value)}`)
    .join("_");
  const path = join(folder, `${name}_${key}.gguf`);
  if (!existsSync(path)) await writeSyntheticModel(path, { ...settings, tokenizer: vocabularyFile(name, folder) });
  return path;
}
