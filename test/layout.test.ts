// Data flows one way (docs/layout.md): no import runs from a lower room back up, and
// src/commands/ holds one module per command and nothing else.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const src = resolve(import.meta.dirname, "../src");

function sourceFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap(entry =>
    entry.isDirectory()
      ? sourceFiles(join(folder, entry.name))
      : entry.name.endsWith(".ts")
        ? [join(folder, entry.name)]
        : [],
  );
}

/** Each file's imports (static and dynamic), as src-relative paths or package names. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const specifiers = [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^import\s+)"([^"]+)"/gm)].map(m => m[1]!);
  return specifiers.map(spec =>
    spec.startsWith(".") ? relative(src, resolve(join(file, ".."), spec)).replace(/\.js$/, "") : spec,
  );
}

/** What each lower room must not import: Discord, and the rooms above it. */
const FORBIDDEN: Record<string, RegExp> = {
  engine: /^(discord\.js|@discordjs\/|ioredis|bullmq)|^(store|game|discord|interactions|commands|bot|worker)\//,
  store: /^(discord\.js|@discordjs\/)|^(game|discord|interactions|commands|bot|worker)\//,
  game: /^(discord\.js|@discordjs\/)|^(discord|interactions|commands|bot|worker)\//,
  chart: /^(discord\.js|@discordjs\/|ioredis|bullmq)|^(store|game|discord|interactions|commands|bot|worker)\//,
};

describe("the layout", () => {
  it("has no import from a lower room back up (engine and store know nothing of Discord, game nothing of discord.js)", () => {
    const files = sourceFiles(src);
    expect(files.length).toBeGreaterThan(50);
    const upward = files.flatMap(file => {
      const room = relative(src, file).split("/")[0]!;
      const forbidden = FORBIDDEN[room];
      if (!forbidden) return [];
      return importsOf(file)
        .filter(target => forbidden.test(target))
        .map(target => `${relative(src, file)} imports ${target}`);
    });
    expect(upward).toEqual([]);
    // The check sees imports at all: the engine does import node-llama-cpp.
    expect(importsOf(join(src, "engine/engine.ts"))).toContain("node-llama-cpp");
  });

  it("keeps src/commands/ to commands: each module exports a definition and its handler", () => {
    const modules = readdirSync(join(src, "commands"));
    expect(modules.length).toBeGreaterThan(5);
    const notCommands = modules.filter(name => {
      const text = readFileSync(join(src, "commands", name), "utf8");
      return !/^export function definition\(/m.test(text) || !/^export async function execute\(/m.test(text);
    });
    expect(notCommands).toEqual([]);
  });
});
