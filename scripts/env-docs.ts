// npm run docs:env — writes .env.example and docs/configuration.md's table from the table in
// src/environment.ts (test/environment.test.ts fails when they drift apart).
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { ENVIRONMENT_TABLE_MARKERS, renderEnvExample, renderEnvironmentTable } from "../src/environment.js";

const root = resolve(import.meta.dirname, "..");
export const CONFIGURATION_DOC = resolve(root, "docs/configuration.md");

export function withEnvironmentTable(doc: string): string {
  const [start, end] = ENVIRONMENT_TABLE_MARKERS;
  const from = doc.indexOf(start!);
  const to = doc.indexOf(end!);
  if (from < 0 || to < from) throw new Error(`docs/configuration.md lacks the markers ${start} … ${end}`);
  return `${doc.slice(0, from + start!.length)}\n${renderEnvironmentTable()}\n${doc.slice(to)}`;
}

if (process.argv[1] === import.meta.filename) {
  writeFileSync(resolve(root, ".env.example"), renderEnvExample());
  writeFileSync(CONFIGURATION_DOC, withEnvironmentTable(readFileSync(CONFIGURATION_DOC, "utf8")));
  console.log("Wrote .env.example and the table of docs/configuration.md.");
}
