// One fixture folder per test run: models with real tokenizers take a second or two to write,
// so every test file of the run shares them (see helpers/realVocabulary.ts).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    fixtureFolder: string;
  }
}

export default function setup(project: TestProject): () => void {
  const folder = mkdtempSync(join(tmpdir(), "belowzero-fixtures-"));
  project.provide("fixtureFolder", folder);
  return () => rmSync(folder, { recursive: true, force: true });
}
