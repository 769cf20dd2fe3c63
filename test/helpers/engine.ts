import { existsSync, mkdtempSync } from "node:fs";
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

export function temporaryFolder(prefix = "belowzero-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** An engine on the test model, CPU only, one thread (fastest for a 260K-parameter model). */
export function loadTestEngine(options: Partial<EngineOptions> = {}): Promise<Engine> {
  return Engine.load({ model: testModelPath(), cacheDir: temporaryFolder(), gpu: false, threads: 1, contextSize: 512, ...options });
}
