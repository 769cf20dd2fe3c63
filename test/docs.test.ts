// Every command in every doc still works as written: each `npm run X` is a script of ours,
// each `npm run weird -- …` parses with the CLI's real options, each script, source file
// and link it names exists, and each #anchor is a heading of its page.
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "..");
const docs = [
  "README.md",
  "ARCHITECTURE.md",
  "bench/README.md",
  ...readdirSync(join(root, "docs"))
    .filter(name => name.endsWith(".md"))
    .map(name => `docs/${name}`),
];
const text = (doc: string) => readFileSync(join(root, doc), "utf8");
const scripts = (path: string) =>
  Object.keys((JSON.parse(readFileSync(join(root, path), "utf8")) as { scripts: object }).scripts);
const ours = new Set(scripts("package.json"));
// deploy.md names the build script of node-llama-cpp's own package.
const nodeLlamaCpp = new Set(scripts("node_modules/node-llama-cpp/package.json"));

/** Every match of `pattern` in every doc, with where it was. */
function found(pattern: RegExp): Array<{ doc: string; match: RegExpExecArray }> {
  return docs.flatMap(doc => [...text(doc).matchAll(pattern)].map(match => ({ doc, match })));
}

/** The words of a shell command line, quotes removed (enough for the commands the docs show). */
function words(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map(m => m[1] ?? m[2] ?? m[3]!);
}

/** GitHub's anchor for a heading. */
const anchorOf = (heading: string) =>
  heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, "")
    .replace(/ /g, "-");

describe("the docs", () => {
  it("name only npm scripts that exist", () => {
    const runs = found(/npm run ([a-z][\w:-]*)/g);
    expect(runs.length).toBeGreaterThan(20);
    const missing = runs
      .filter(({ doc, match }) => !ours.has(match[1]!) && !(doc === "docs/deploy.md" && nodeLlamaCpp.has(match[1]!)))
      .map(({ doc, match }) => `${doc}: npm run ${match[1]}`);
    expect(missing).toEqual([]);
  });

  it("show weird command lines that the CLI parses", async () => {
    const lines = found(/npm run weird -- ([^`\n]+)/g)
      .map(({ match }) => match[1]!.trim())
      .filter(line => !line.includes("[options]"));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      // --help after the documented options: parsed with the real option table, nothing loaded.
      const run = promisify(execFile)(
        process.execPath,
        [join(root, "node_modules/tsx/dist/cli.mjs"), join(root, "src/cli/weird.ts"), ...words(line), "--help"],
        { cwd: root },
      );
      await expect(run, line).resolves.toMatchObject({ stdout: expect.stringContaining("Usage: npm run weird") });
    }
  }, 120_000);

  it("name scripts and entry points that exist", () => {
    const paths = [
      ...found(/\b(scripts\/[\w./-]+\.(?:sh|ts))/g).map(({ doc, match }) => ({ doc, path: match[1]! })),
      // Built entry points (node dist/x.js) come from src/x.ts.
      ...found(/\bdist\/([\w/]+)\.js/g).map(({ doc, match }) => ({ doc, path: `src/${match[1]}.ts` })),
    ];
    expect(paths.length).toBeGreaterThan(5);
    expect(paths.filter(({ path }) => !existsSync(join(root, path))).map(({ doc, path }) => `${doc}: ${path}`)).toEqual(
      [],
    );
  });

  it("link to files and headings that exist", () => {
    const broken: string[] = [];
    for (const { doc, match } of found(/\]\(([^)\s]+)\)/g)) {
      const target = match[1]!;
      if (/^[a-z]+:/.test(target)) continue; // https:, mailto:
      const [file, anchor] = target.split("#") as [string, string | undefined];
      const path = file === "" ? join(root, doc) : resolve(dirname(join(root, doc)), file);
      if (!existsSync(path)) {
        broken.push(`${doc}: ${target}`);
        continue;
      }
      if (anchor === undefined || !path.endsWith(".md")) continue;
      const headings = [...readFileSync(path, "utf8").matchAll(/^#+ (.+)$/gm)].map(h => anchorOf(h[1]!));
      if (!headings.includes(anchor)) broken.push(`${doc}: ${target}`);
    }
    expect(broken).toEqual([]);
  });
});
