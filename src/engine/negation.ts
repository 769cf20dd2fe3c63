// Negating the logits, so that the native sampler at temperature |T| samples at T < 0.
//
// The sign-flipping LoRA adapter: llama.cpp adds scale·(alpha/rank)·B·A·x to every matmul
// that has an adapter. With A = identity (n_embd × n_embd), B = a byte copy of the model's
// own output.weight, alpha = rank and scale −2, the output layer computes W·x − 2·W·x = −W·x:
// every logit is negated, and the native sampler at temperature |T| samples at T < 0.
import { accessSync, closeSync, constants, mkdirSync, openSync, readSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import {
  GgmlType,
  encodeMetadata,
  metadataWithout,
  readGguf,
  WRITE_ALIGNMENT,
  writeGguf,
  type GgufFile,
  type GgufTensorInfo,
  type TensorSource,
  type TensorToWrite,
  type TypedValue,
} from "./gguf.js";
import { flipSigns, canFlipSigns } from "./signFlip.js";
import { DEFAULT_NEGATION } from "./defaults.js";

/** The LoRA scale that turns W into −W (alpha/rank is 1). */
export const NEGATION_SCALE = -2;
/** 2: tensors 64-byte aligned (files of version 1 are rewritten). */
const FORMAT_VERSION = 2;

export class CannotInvertError extends Error {
  constructor(model: string, reason: string) {
    super(`Cannot sample ${basename(model)} below zero: ${reason}`);
    this.name = "CannotInvertError";
  }
}

interface Fingerprint {
  size: number;
  mtimeMs: number;
}

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
  return (
    Number(meta.get(`${prefix}.format`)) === FORMAT_VERSION &&
    Number(meta.get(`${prefix}.source.size`)) === fingerprint.size &&
    Number(meta.get(`${prefix}.source.mtime_ms`)) === fingerprint.mtimeMs
  );
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

/** Writes a copy of the model whose output.weight is the given tensor (all else byte for byte). */
async function writeModelCopy(
  source: GgufFile,
  target: string,
  prefix: string,
  fingerprint: Fingerprint,
  output: TensorToWrite,
): Promise<void> {
  const extra = encodeMetadata(fingerprintMetadata(prefix, fingerprint));
  const tensors: TensorToWrite[] = [...source.tensors.values()]
    .filter(t => t.name !== "output.weight")
    .sort((a, b) => a.offset - b.offset)
    .map(t => ({ name: t.name, dims: t.dims, type: t.type, data: tensorData(source, t) }));
  tensors.push(output);
  const kept = metadataWithout(source, ["general.alignment"]); // written anew by writeGguf
  const metadata = { raw: Buffer.concat([kept.raw, extra.raw]), count: kept.count + extra.count };
  await writeGguf(target, metadata, tensors, alignmentFor(source));
}

function tensorData(file: GgufFile, tensor: GgufTensorInfo): TensorSource {
  return { path: file.path, start: file.dataOffset + tensor.offset, length: tensor.span };
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
  await writeGguf(
    target,
    metadata,
    [
      { name: "output.weight.lora_a", dims: [embeddingLength, embeddingLength], type: GgmlType.F32, data: identity },
      {
        name: "output.weight.lora_b",
        dims: output.dims,
        type: output.type,
        data: tensorData(model, output),
      },
    ],
    alignmentFor(model),
  );
}

/**
 * Tensors copied from a file keep its padding (their spans), so a copy needs an alignment
 * that is a multiple of the source's: 64 (WRITE_ALIGNMENT), or the source's own when larger
 * (both are powers of two). llama.cpp checks every offset against it.
 */
function alignmentFor(source: GgufFile): number {
  return Math.max(WRITE_ALIGNMENT, source.alignment);
}

/**
 * How the negated logits are made:
 * - "sampler": node-llama-cpp's own sampler negates the candidates at T < 0 and samples them at
 *   |T|. Only a backend built from patched sources (scripts/patch-node-llama-cpp.sh, run by the
 *   build scripts) does this, and the engine proves it at load time: one context for both signs,
 *   no derived file, nothing extra per step.
 * - "adapter": the LoRA above, in a second context of the same model. Extra memory is one
 *   copy of output.weight; extra time is one more output matmul per token, which is a few
 *   percent on LLaMA-sized models but most of the work on tiny ones.
 * - "copy": a second model file whose output.weight has every sign flipped, loaded as a
 *   second model. Native speed exactly, at the cost of a second copy of the whole model.
 * - "auto": "sampler" when the loaded backend can; otherwise "copy" for models up to
 *   copyMaxBytes (whose output layer dominates the work and whose copy is cheap), else "adapter".
 */
export type NegationRoute = "auto" | "sampler" | "adapter" | "copy";

export interface NegationOptions {
  route: NegationRoute;
  /** Largest model file "auto" negates by copying. */
  copyMaxBytes: number;
}

export type NegationFiles =
  | { route: "adapter"; modelPath: string; adapterPath: string }
  | { route: "copy"; modelPath: string; negatedModelPath: string };

/** The route an engine runs: the patched sampler needs no files. */
export type Negation = NegationFiles | { route: "sampler"; modelPath: string };

/** One line for the worker's log and the CLI: which path samples below zero, and why. */
export function describeNegation(negation: Negation): string {
  switch (negation.route) {
    case "sampler":
      return "negation: sampler (the addon's own sampler negates below zero: one context for both signs)";
    case "adapter":
      return "negation: adapter (a LoRA that negates the output layer, in a second context)";
    case "copy":
      return "negation: copy (a sign-flipped copy of the model, in a second context)";
  }
}

/** For tied-embedding models: a copy with output.weight = token_embd, as a LoRA on token_embd would also change the inputs. */
async function untied(model: GgufFile, cacheDir: string): Promise<GgufFile> {
  if (model.tensors.has("output.weight")) return model;
  const embeddings = model.tensors.get("token_embd.weight");
  if (!embeddings) throw new CannotInvertError(model.path, "it has neither output.weight nor token_embd.weight");
  const untiedPath = derivedPath(model.path, cacheDir, ".belowzero-untied.gguf");
  const fingerprint = fingerprintOf(model.path);
  if (!isValidDerivedFile(untiedPath, "belowzero.untied", fingerprint, ["output.weight"])) {
    await writeModelCopy(model, untiedPath, "belowzero.untied", fingerprint, {
      name: "output.weight",
      dims: embeddings.dims,
      type: embeddings.type,
      data: tensorData(model, embeddings),
    });
  }
  return readGguf(untiedPath);
}

function chooseRoute(model: GgufFile, options: NegationOptions): "adapter" | "copy" {
  if (options.route === "sampler")
    throw new Error('The "sampler" route needs no files; prepareNegation is for "adapter" and "copy"');
  const output = model.tensors.get("output.weight")!;
  if (options.route === "copy" && !canFlipSigns(output.type)) {
    throw new CannotInvertError(
      model.path,
      `the "copy" route cannot flip signs of ggml type ${output.type}; use the "adapter" route`,
    );
  }
  if (options.route !== "auto") return options.route;
  return autoTakesCopy(output.type, statSync(model.path).size, options) ? "copy" : "adapter";
}

/** "auto" without the patched sampler: a copy for a model small enough whose output layer can flip signs. */
function autoTakesCopy(outputType: GgufTensorInfo["type"], size: number, options: NegationOptions): boolean {
  return canFlipSigns(outputType) && size <= options.copyMaxBytes;
}

/** What a model's negation will cost once loaded, known before anything is written or loaded. */
export interface NegationPlan {
  route: "sampler" | "adapter" | "copy";
  /** Bytes of weights loaded besides the model's own. */
  extraBytes: number;
  /** Contexts per model: one for both signs on the sampler route, one per sign otherwise. */
  contexts: 1 | 2;
}

/**
 * The route a model will take and what it loads besides the model: nothing on the sampler
 * route; otherwise a tied model's untied output layer, and then the adapter (lora_b, a byte
 * copy of the output layer, and lora_a, an n_embd² F32 identity) or a whole second model.
 * `patchedSampler`: the addon carries belowzero's patch, so "auto" takes the sampler route
 * (the engine proves it at load time).
 */
export function planNegation(
  modelPath: string,
  options: NegationOptions = DEFAULT_NEGATION,
  patchedSampler = false,
): NegationPlan {
  if (options.route === "sampler" || (options.route === "auto" && patchedSampler))
    return { route: "sampler", extraBytes: 0, contexts: 1 };
  const model = readGguf(modelPath);
  const embeddings = model.tensors.get("token_embd.weight");
  const output = model.tensors.get("output.weight") ?? embeddings;
  const untiedExtra = model.tensors.has("output.weight") ? 0 : (embeddings?.span ?? 0);
  const size = statSync(modelPath).size + untiedExtra;
  const copy =
    options.route === "copy" ||
    (options.route === "auto" && output !== undefined && autoTakesCopy(output.type, size, options));
  if (copy) return { route: "copy", extraBytes: untiedExtra + size, contexts: 2 };
  const embeddingLength = output?.dims[0] ?? 0;
  const adapter = (output?.span ?? 0) + embeddingLength * embeddingLength * 4;
  return { route: "adapter", extraBytes: untiedExtra + adapter, contexts: 2 };
}

/**
 * Makes sure the files for sampling below zero exist for this model, for the routes of a
 * backend without the patched sampler ("auto" chooses between them by size): the negation
 * adapter or the sign-flipped copy (and, for tied-embedding models, an untied copy first).
 * Each is written once and reused while the file it was made from is unchanged.
 */
export async function prepareNegation(
  modelPath: string,
  cacheDir: string,
  options: NegationOptions = DEFAULT_NEGATION,
): Promise<NegationFiles> {
  const source = readGguf(modelPath);
  architectureOf(source);
  if (source.tensors.has("output.bias"))
    throw new CannotInvertError(
      modelPath,
      "its output layer has a bias, which a sign flip of the weights would not negate",
    );
  const model = await untied(source, cacheDir);
  const fingerprint = fingerprintOf(model.path);

  if (chooseRoute(model, options) === "copy") {
    const negatedModelPath = derivedPath(model.path, cacheDir, ".belowzero-negated.gguf");
    if (!isValidDerivedFile(negatedModelPath, "belowzero.negated", fingerprint, ["output.weight"])) {
      const output = model.tensors.get("output.weight")!;
      const flipped = flipSigns(readTensor(model, output), output.type);
      await writeModelCopy(model, negatedModelPath, "belowzero.negated", fingerprint, {
        name: output.name,
        dims: output.dims,
        type: output.type,
        data: flipped,
      });
    }
    return { route: "copy", modelPath: model.path, negatedModelPath };
  }

  const adapterPath = derivedPath(model.path, cacheDir, ".belowzero-negate.gguf");
  if (
    !isValidDerivedFile(adapterPath, "belowzero.negate", fingerprint, ["output.weight.lora_a", "output.weight.lora_b"])
  ) {
    await writeAdapter(model, adapterPath, fingerprint);
  }
  return { route: "adapter", modelPath: model.path, adapterPath };
}

function readTensor(file: GgufFile, tensor: GgufTensorInfo): Buffer {
  const data = Buffer.alloc(tensor.span);
  const fd = openSync(file.path, "r");
  try {
    readSync(fd, data, 0, data.length, file.dataOffset + tensor.offset);
  } finally {
    closeSync(fd);
  }
  return data;
}
