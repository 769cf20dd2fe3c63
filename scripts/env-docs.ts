// npm run docs:env — writes .env.example and the README's configuration table from the
// table in src/environment.ts (test/environment.test.ts fails when they drift apart).
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { README_TABLE_MARKERS, renderEnvExample, renderReadmeTable } from "../src/environment.js";

const root = resolve(import.meta.dirname, "..");

export function readmeWithTable(readme: string): string {
  const [start, end] = README_TABLE_MARKERS;
  const from = readme.indexOf(start!);
  const to = readme.indexOf(end!);
  if (from < 0 || to < from) throw new Error(`README.md lacks the markers ${start} … ${end}`);
  return `${readme.slice(0, from + start!.length)}\n${renderReadmeTable()}\n${readme.slice(to)}`;
}

if (process.argv[1] === import.meta.filename) {
  writeFileSync(resolve(root, ".env.example"), renderEnvExample());
  const readmePath = resolve(root, "README.md");
  writeFileSync(readmePath, readmeWithTable(readFileSync(readmePath, "utf8")));
  console.log("Wrote .env.example and the README's configuration table.");
}
