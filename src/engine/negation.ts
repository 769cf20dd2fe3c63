// The sign-flipping LoRA adapter. llama.cpp adds scale·(alpha/rank)·B·A·x to every matmul
// that has an adapter. With A = identity (n_embd × n_embd), B = a byte copy of the model's
// own output.weight, alpha = rank and scale −2, the output layer computes W·x − 2·W·x = −W·x:
// every logit is negated, and the native sampler at temperature |T| samples at T < 0.
import { accessSync, constants, mkdirSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { GgmlType, encodeMetadata, readGguf, writeGguf, type GgufFile, type TypedValue } from "./gguf.js";

/** The LoRA scale that turns W into −W (alpha/rank is 1). */
export const NEGATION_SCALE = -2;
const FORMAT_VERSION = 1;

export class CannotInvertError extends Error {
  constructor(model: string, reason: string) {
    super(`Cannot sample ${basename(model)} below zero: ${reason}`);
    this.name = "CannotInvertError";
  }
}

export interface NegationFiles {
  /** The model to load: the original, or an untied copy for tied-embedding models. */
  modelPath: string;
  adapterPath: string;
}

interface Fingerprint { size: number; mtimeMs: number }

function fingerprintOf(path: string): Fingerprint {
  const { size, mtimeMs } = statSync(path);
  return { size, mtimeMs: Math.floor(mtimeMs) };
}

function fingerprintMetadata(prefix: string, fingerprint: Fingerprint): Array<[string, TypedValue]> {
  return [
    [`${prefix}.format`, { type: "u32", value: FORMAT_VERSION }],
    [`${prefix}.source.size`, { type: "u64", value: BigInt(fingerprint.size) }],
    [`${prefix}.source.mtime_ms`, { type: "u64", value: BigInt(fingerprint.mtimeMs) }],
  ];
}

function matchesFingerprint(file: GgufFile, prefix: string, fingerprint: Fingerprint): boolean {
  const meta = file.metadata;
  return Number(meta.get(`${prefix}.format`)) === FORMAT_VERSION
    && Number(meta.get(`${prefix}.source.size`)) === fingerprint.size
    && Number(meta.get(`${prefix}.source.mtime_ms`)) === fingerprint.mtimeMs;
}

/** Root ignores permission bits, so a folder without write bits counts as read-only too. */
function isWritableFolder(folder: string): boolean {
  try {
    if ((statSync(folder).mode & 0o222) === 0) return false;
    accessSync(folder, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Next to the model when its folder is writable, else in the cache folder. */
function derivedPath(modelPath: string, cacheDir: string, suffix: string): string {
  const folder = isWritableFolder(dirname(modelPath)) ? dirname(modelPath) : cacheDir;
  mkdirSync(folder, { recursive: true });
  return join(folder, basename(modelPath).replace(/\.gguf$/i, "") + suffix);
}

/** Reuses a derived file only when it parses and was made from this exact source file. */
function isValidDerivedFile(path: string, prefix: string, source: Fingerprint, expectedTensors: string[]): boolean {
  try {
    const file = readGguf(path);
    return matchesFingerprint(file, prefix, source) && expectedTensors.every(name => file.tensors.has(name));
  } catch {
    return false;
  }
}

function architectureOf(file: GgufFile): string {
  const architecture = file.metadata.get("general.architecture");
  if (typeof architecture !== "string") throw new CannotInvertError(file.path, "the file names no architecture");
  return architecture;
}

async function writeUntiedCopy(source: GgufFile, target: string, fingerprint: Fingerprint): Promise<void> {
  const embeddings = source.tensors.get("token_embd.weight")!;
  const extra = fingerprintMetadata("belowzero.untied", fingerprint);
  const fromSource = (offset: number, length: number) => ({ path: source.path, start: source.dataOffset + offset, length });
  const tensors = [...source.tensors.values()]
    .sort((a, b) => a.offset - b.offset)
    .map(t => ({ name: t.name, dims: t.dims, type: t.type, data: fromSource(t.offset, t.span) }));
  tensors.push({ name: "output.weight", dims: embeddings.dims, type: embeddings.type, data: fromSource(embeddings.offset, embeddings.span) });
  const extraMetadata = encodeMetadata(extra);
  const metadata = { raw: Buffer.concat([source.rawMetadata, extraMetadata.raw]), count: source.metadata.size + extraMetadata.count };
  await writeGguf(target, metadata, tensors, source.alignment);
}

async function writeAdapter(model: GgufFile, target: string, fingerprint: Fingerprint): Promise<void> {
  const output = model.tensors.get("output.weight")!;
  const embeddingLength = output.dims[0]!;
  const identity = Buffer.alloc(embeddingLength * embeddingLength * 4);
  for (let i = 0; i < embeddingLength; i++) identity.writeFloatLE(1, (i * embeddingLength + i) * 4);

  const metadata = encodeMetadata([
    ["general.architecture", { type: "string", value: architectureOf(model) }],
    ["general.type", { type: "string", value: "adapter" }],
    ["adapter.type", { type: "string", value: "lora" }],
    ["adapter.lora.alpha", { type: "f32", value: embeddingLength }],
    ...fingerprintMetadata("belowzero.negate", fingerprint),
  ]);
  await writeGguf(target, metadata, [
    { name: "output.weight.lora_a", dims: [embeddingLength, embeddingLength], type: GgmlType.F32, data: identity },
    {
      name: "output.weight.lora_b", dims: output.dims, type: output.type,
      data: { path: model.path, start: model.dataOffset + output.offset, length: output.span },
    },
  ], model.alignment);
}

/**
 * Makes sure the negation adapter (and, for tied-embedding models, an untied copy of the
 * model) exists for this model file, writing it once and reusing it while the model file
 * is unchanged.
 */
export async function prepareNegation(modelPath: string, cacheDir: string): Promise<NegationFiles> {
  let model = readGguf(modelPath);
  architectureOf(model);
  if (model.tensors.has("output.bias")) throw new CannotInvertError(modelPath, "its output layer has a bias, which a sign flip of the weights would not negate");

  if (!model.tensors.has("output.weight")) {
    if (!model.tensors.has("token_embd.weight")) throw new CannotInvertError(modelPath, "it has neither output.weight nor token_embd.weight");
    const untiedPath = derivedPath(modelPath, cacheDir, ".belowzero-untied.gguf");
    const sourceFingerprint = fingerprintOf(modelPath);
    if (!isValidDerivedFile(untiedPath, "belowzero.untied", sourceFingerprint, ["output.weight"])) {
      await writeUntiedCopy(model, untiedPath, sourceFingerprint);
    }
    model = readGguf(untiedPath);
  }

  const adapterPath = derivedPath(model.path, cacheDir, ".belowzero-negate.gguf");
  const modelFingerprint = fingerprintOf(model.path);
  if (!isValidDerivedFile(adapterPath, "belowzero.negate", modelFingerprint, ["output.weight.lora_a", "output.weight.lora_b"])) {
    await writeAdapter(model, adapterPath, modelFingerprint);
  }
  return { modelPath: model.path, adapterPath };
}
