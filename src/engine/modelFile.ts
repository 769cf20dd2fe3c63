// Finds the model file: a local path, or a URI (hf:…, https://…) downloaded once.
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { resolveModelFile } from "node-llama-cpp";
import { hasGgufMagic, NotGgufError } from "./gguf.js";

export class ModelNotFoundError extends Error {
  constructor(path: string) {
    super(`Model file not found: ${path} (set MODEL or pass --model)`);
    this.name = "ModelNotFoundError";
  }
}

export function isModelUri(model: string): boolean {
  return /^(hf:|huggingface:|https?:\/\/)/i.test(model);
}

/** Checks that a local model path exists and is a GGUF file; returns its absolute path. */
export function checkModelPath(path: string): string {
  const absolute = resolve(path);
  if (!existsSync(absolute) || !statSync(absolute).isFile()) throw new ModelNotFoundError(absolute);
  if (!hasGgufMagic(absolute)) throw new NotGgufError(absolute, "no GGUF magic bytes");
  return absolute;
}

/**
 * Resolves a model path or URI to a local GGUF file. URIs are downloaded into modelsDir
 * once (with a progress bar when stderr is a terminal) and reused afterwards.
 */
export async function resolveModel(model: string, modelsDir: string): Promise<string> {
  if (!isModelUri(model)) return checkModelPath(model);
  const path = await resolveModelFile(model, { directory: modelsDir, cli: process.stderr.isTTY === true });
  return checkModelPath(path);
}
