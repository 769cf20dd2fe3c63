import { chmodSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Engine, type EngineOptions } from "../../src/engine/engine.js";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** The bundled trained model (../shared/models/stories260K.gguf), or BELOWZERO_TEST_MODEL. */
export function testModelPath(): string {
  const path = process.env.BELOWZERO_TEST_MODEL ?? resolve(repoRoot, "../shared/models/stories260K.gguf");
  if (!existsSync(path)) {
    throw new Error(`Test model not found at ${path}: run "npm run fetch-test-model" or set BELOWZERO_TEST_MODEL.`);
  }
  return path;
}

const temporaryFolders: string[] = [];

export function temporaryFolder(prefix = "belowzero-test-"): string {
  const folder = mkdtempSync(join(tmpdir(), prefix));
  temporaryFolders.push(folder);
  return folder;
}

/** Removes every folder made by temporaryFolder (test/setup.ts calls it after each file). */
export function removeTemporaryFolders(): void {
  for (const folder of temporaryFolders.splice(0)) {
    chmodSync(folder, 0o755); // some tests make a folder read-only
    rmSync(folder, { recursive: true, force: true });
  }
}

/** An engine on the test model, CPU only, one thread (fastest for a 260K-parameter model). */
export function loadTestEngine(options: Partial<EngineOptions> = {}): Promise<Engine> {
  return Engine.load({
    model: testModelPath(),
    cacheDir: temporaryFolder(),
    gpu: false,
    threads: 1,
    contextSize: 512,
    ...options,
  });
}
