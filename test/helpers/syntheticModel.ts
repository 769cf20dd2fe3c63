// Writes small LLaMA-architecture GGUF models with random weights: any vocabulary size,
// tied or untied output, F32 or Q8_0 output layer. Used for exact-logit tests and for
// large-vocabulary benchmarks, since only a 512-token model ships with the project.
import {
  encodeMetadata,
  GgmlType,
  readGguf,
  writeGguf,
  type EncodedMetadata,
  type GgmlTypeName,
  type TensorToWrite,
  type TypedValue,
} from "../../src/engine/gguf.js";
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { seededRandom } from "./oracle.js";
import { SIGN_LAYOUTS } from "../../src/engine/signFlip.js";

export interface SyntheticModelOptions {
  vocabularySize?: number;
  embeddingLength?: number;
  layers?: number;
  feedForwardLength?: number;
  heads?: number;
  /** Leave out output.weight, as tied-embedding models (Llama 3.2 1B, Qwen2.5 small) do. */
  tied?: boolean;
  /** F32, F16 and Q8_0 hold random weights; other quantized types hold random blocks. */
  outputType?: GgmlTypeName;
  /** Add an output.bias tensor, which the sign flip cannot negate. */
  outputBias?: boolean;
  seed?: number;
  /** GGUF alignment of the tensor data (default: what writeGguf writes). */
  alignment?: number;
  /**
   * A GGUF file whose tokenizer.* entries are copied as they are (a real vocabulary, such as
   * llama.cpp's vocabulary-only ggml-vocab-*.gguf); vocabularySize is then that vocabulary's size.
   */
  tokenizer?: string;
}

const BYTE_TOKENS = 256;
const TokenType = { normal: 1, unknown: 2, control: 3, byte: 6 } as const;

function vocabulary(size: number): { tokens: string[]; types: number[]; scores: number[] } {
  const tokens = ["<unk>", "<s>", "</s>"];
  const types: number[] = [TokenType.unknown, TokenType.control, TokenType.control];
  for (let b = 0; b < BYTE_TOKENS; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
    types.push(TokenType.byte);
  }
  const letters = "abcdefghijklmnopqrstuvwxyz";
  for (const piece of ["▁", ...letters, ...[...letters].map(l => `▁${l}`)]) {
    tokens.push(piece);
    types.push(TokenType.normal);
  }
  for (let i = 0; tokens.length < size; i++) {
    tokens.push(`▁w${i.toString(36)}`);
    types.push(TokenType.normal);
  }
  return { tokens, types, scores: tokens.map((_, i) => -i) };
}

interface TokenizerEntries {
  metadata: EncodedMetadata;
  size: number;
}

function syntheticTokenizer(size = 1024): TokenizerEntries {
  const { tokens, types, scores } = vocabulary(size);
  const u32 = (value: number): TypedValue => ({ type: "u32", value });
  const metadata = encodeMetadata([
    ["tokenizer.ggml.model", { type: "string", value: "llama" }],
    ["tokenizer.ggml.tokens", { type: "string[]", value: tokens }],
    ["tokenizer.ggml.scores", { type: "f32[]", value: scores }],
    ["tokenizer.ggml.token_type", { type: "i32[]", value: types }],
    ["tokenizer.ggml.unknown_token_id", u32(0)],
    ["tokenizer.ggml.bos_token_id", u32(1)],
    ["tokenizer.ggml.eos_token_id", u32(2)],
  ]);
  return { metadata, size };
}

/** The tokenizer.* entries of another GGUF file, byte for byte (every type and value kept). */
function copiedTokenizer(path: string): TokenizerEntries {
  const file = readGguf(path);
  const tokens = file.metadata.get("tokenizer.ggml.tokens");
  if (!Array.isArray(tokens)) throw new Error(`${path} has no tokenizer.ggml.tokens`);
  const spans = [...file.metadataSpans].filter(([key]) => key.startsWith("tokenizer."));
  return {
    metadata: {
      raw: Buffer.concat(spans.map(([, span]) => file.rawMetadata.subarray(span.start, span.end))),
      count: spans.length,
    },
    size: tokens.length,
  };
}

function randomMatrix(random: () => number, count: number, scale: number): Buffer {
  const values = Buffer.alloc(count * 4);
  for (let i = 0; i < count; i++) values.writeFloatLE((random() * 2 - 1) * scale, i * 4);
  return values;
}

function ones(count: number): Buffer {
  const values = Buffer.alloc(count * 4);
  for (let i = 0; i < count; i++) values.writeFloatLE(1, i * 4);
  return values;
}

function toHalf(value: number): number {
  const f32 = new Float32Array([value]);
  const bits = new Uint32Array(f32.buffer)[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  const mantissa = bits & 0x7fffff;
  if (exponent <= 0) return sign;
  if (exponent >= 31) return sign | 0x7c00;
  return sign | (exponent << 10) | Math.round(mantissa / 0x2000);
}

function toF16(f32: Buffer): Buffer {
  const out = Buffer.alloc(f32.length / 2);
  for (let i = 0; i < f32.length / 4; i++) out.writeUInt16LE(toHalf(f32.readFloatLE(i * 4)), i * 2);
  return out;
}

/**
 * Random bytes as blocks of a quantized type, with each f16 scale (and min) field set to
 * a small positive number so the weights are finite. Any other bits are valid quants.
 */
function randomBlocks(random: () => number, count: number, type: number): Buffer {
  const layout = SIGN_LAYOUTS[type]!;
  const out = Buffer.alloc((count / layout.unitValues) * layout.unitBytes);
  for (let i = 0; i < out.length; i++) out[i] = Math.floor(random() * 256);
  for (let base = 0; base < out.length; base += layout.unitBytes) {
    for (const signByte of layout.signBytes) out.writeUInt16LE(toHalf(0.002 + random() * 0.002), base + signByte - 1);
  }
  return out;
}

/** Q8_0: blocks of 32 weights, each an f16 scale and 32 signed bytes. */
function quantizeQ8_0(f32: Buffer): Buffer {
  const count = f32.length / 4;
  const out = Buffer.alloc((count / 32) * 34);
  for (let block = 0; block < count / 32; block++) {
    const values = Array.from({ length: 32 }, (_, i) => f32.readFloatLE((block * 32 + i) * 4));
    const scale = Math.max(...values.map(Math.abs)) / 127 || 1;
    out.writeUInt16LE(toHalf(scale), block * 34);
    values.forEach((v, i) => out.writeInt8(Math.round(v / scale), block * 34 + 2 + i));
  }
  return out;
}

/** A LLaMA's shape: TinyLlama 1.1B is 2048 wide, 22 layers, 5632 FFN, 32 heads of which 4 key/value. */
export interface ModelShape {
  embeddingLength: number;
  layers: number;
  feedForwardLength: number;
  heads: number;
  kvHeads: number;
}

/** The llama.* hyperparameters of a shape, followed by a tokenizer's entries. */
function llamaMetadata(
  shape: ModelShape,
  tokenizer: TokenizerEntries,
  { fileType, contextLength = 2048 }: { fileType?: TypedValue; contextLength?: number } = {},
): EncodedMetadata {
  const u32 = (value: number): TypedValue => ({ type: "u32", value });
  const architecture = encodeMetadata([
    ["general.architecture", { type: "string", value: "llama" }],
    ["general.name", { type: "string", value: "belowzero synthetic" }],
    ...(fileType ? [["general.file_type", fileType] as [string, TypedValue]] : []),
    ["llama.context_length", u32(contextLength)],
    ["llama.embedding_length", u32(shape.embeddingLength)],
    ["llama.block_count", u32(shape.layers)],
    ["llama.feed_forward_length", u32(shape.feedForwardLength)],
    ["llama.attention.head_count", u32(shape.heads)],
    ["llama.attention.head_count_kv", u32(shape.kvHeads)],
    ["llama.rope.dimension_count", u32(shape.embeddingLength / shape.heads)],
    ["llama.attention.layer_norm_rms_epsilon", { type: "f32", value: 1e-5 }],
  ]);
  return {
    raw: Buffer.concat([architecture.raw, tokenizer.metadata.raw]),
    count: architecture.count + tokenizer.metadata.count,
  };
}

export async function writeSyntheticModel(path: string, options: SyntheticModelOptions = {}): Promise<void> {
  const {
    embeddingLength = 64,
    layers = 2,
    feedForwardLength = 128,
    heads = 4,
    tied = false,
    outputType = "F32",
    outputBias = false,
    seed = 1,
  } = options;
  const random = seededRandom(seed);
  const tokenizer =
    options.tokenizer === undefined ? syntheticTokenizer(options.vocabularySize) : copiedTokenizer(options.tokenizer);
  const vocabularySize = tokenizer.size;
  const metadata = llamaMetadata({ embeddingLength, layers, feedForwardLength, heads, kvHeads: heads }, tokenizer);

  const n = embeddingLength;
  const f32 = (name: string, dims: number[], data: Buffer): TensorToWrite => ({ name, dims, type: GgmlType.F32, data });
  const weightScale = 1 / Math.sqrt(n);
  const tensors: TensorToWrite[] = [
    f32("token_embd.weight", [n, vocabularySize], randomMatrix(random, n * vocabularySize, 1)),
  ];
  for (let layer = 0; layer < layers; layer++) {
    const block = (name: string) => `blk.${layer}.${name}.weight`;
    tensors.push(
      f32(block("attn_norm"), [n], ones(n)),
      f32(block("attn_q"), [n, n], randomMatrix(random, n * n, weightScale)),
      f32(block("attn_k"), [n, n], randomMatrix(random, n * n, weightScale)),
      f32(block("attn_v"), [n, n], randomMatrix(random, n * n, weightScale)),
      f32(block("attn_output"), [n, n], randomMatrix(random, n * n, weightScale)),
      f32(block("ffn_norm"), [n], ones(n)),
      f32(block("ffn_gate"), [n, feedForwardLength], randomMatrix(random, n * feedForwardLength, weightScale)),
      f32(block("ffn_up"), [n, feedForwardLength], randomMatrix(random, n * feedForwardLength, weightScale)),
      f32(
        block("ffn_down"),
        [feedForwardLength, n],
        randomMatrix(random, n * feedForwardLength, 1 / Math.sqrt(feedForwardLength)),
      ),
    );
  }
  tensors.push(f32("output_norm.weight", [n], ones(n)));
  if (!tied) {
    // Larger output weights spread the logits over several units, as in trained models.
    const output = randomMatrix(random, n * vocabularySize, 4 * weightScale);
    const type = GgmlType[outputType];
    const data =
      outputType === "F32"
        ? output
        : outputType === "F16"
          ? toF16(output)
          : outputType === "Q8_0"
            ? quantizeQ8_0(output)
            : randomBlocks(random, n * vocabularySize, type);
    tensors.push({ name: "output.weight", dims: [n, vocabularySize], type, data });
  }
  if (outputBias) tensors.push(f32("output.bias", [vocabularySize], randomMatrix(random, vocabularySize, 1)));
  await writeGguf(path, metadata, tensors, options.alignment);
}

/** Random-weight matrices at real sizes: F16 values, or quantized blocks (random quants, finite scales). */
export type RealSizeType = "F16" | "Q8_0" | "Q4_0";

/**
 * A random-weight LLaMA at a real size (160M, 1.1B) with a real vocabulary, for speed: the weights
 * do not matter, the shapes and the bytes read per step do. writeSyntheticModel holds every tensor
 * in memory as F32; here every matrix is a slice of one pool of random units (halves or blocks) the
 * size of the largest matrix, written to disk once and streamed into the model, so a 1.1 GB file
 * costs one pool and the disk's write speed. Written to `path` once (keyed by the caller) and kept.
 */
export async function writeRealSizeModel(
  path: string,
  shape: ModelShape,
  options: { tokenizer: string; type: RealSizeType; seed?: number },
): Promise<string> {
  if (existsSync(path)) return path;
  mkdirSync(dirname(path), { recursive: true });
  const { embeddingLength: n, layers, feedForwardLength: ffn, heads, kvHeads } = shape;
  const tokenizer = copiedTokenizer(options.tokenizer);
  const vocabularySize = tokenizer.size;
  const type = GgmlType[options.type];
  // general.file_type: "mostly" that type, as llama.cpp's own quantizer writes it
  const fileType: TypedValue = { type: "u32", value: { F16: 1, Q4_0: 2, Q8_0: 7 }[options.type] };
  const metadata = llamaMetadata(shape, tokenizer, { fileType, contextLength: 4096 });
  const kv = (n / heads) * kvHeads;
  const matrices: Array<[string, [number, number]]> = [["token_embd.weight", [n, vocabularySize]]];
  for (let layer = 0; layer < layers; layer++) {
    const block = (name: string) => `blk.${layer}.${name}.weight`;
    matrices.push(
      [block("attn_q"), [n, n]],
      [block("attn_k"), [n, kv]],
      [block("attn_v"), [n, kv]],
      [block("attn_output"), [n, n]],
      [block("ffn_gate"), [n, ffn]],
      [block("ffn_up"), [n, ffn]],
      [block("ffn_down"), [ffn, n]],
    );
  }
  matrices.push(["output.weight", [n, vocabularySize]]);
  const layout = SIGN_LAYOUTS[type]!;
  const largestUnits = Math.max(...matrices.map(([, [a, b]]) => (a * b) / layout.unitValues));
  const random = seededRandom(options.seed ?? 1);
  const temporary = `${path}.${process.pid}.partial`;
  const pool = `${temporary}.pool`;
  writeFileSync(
    pool,
    options.type === "F16"
      ? toF16(randomMatrix(random, largestUnits, 1 / Math.sqrt(n)))
      : randomBlocks(random, largestUnits * layout.unitValues, type),
  );
  try {
    const tensors: TensorToWrite[] = matrices.map(([name, dims], i) => {
      const units = (dims[0] * dims[1]) / layout.unitValues;
      // Each matrix starts somewhere else in the pool, on a unit boundary.
      const start = layout.unitBytes * Math.floor(((i * 0.618034) % 1) * (largestUnits - units));
      return { name, dims, type, data: { path: pool, start, length: units * layout.unitBytes } };
    });
    const norm = (name: string): TensorToWrite => ({ name, dims: [n], type: GgmlType.F32, data: ones(n) });
    for (let layer = 0; layer < layers; layer++)
      tensors.push(norm(`blk.${layer}.attn_norm.weight`), norm(`blk.${layer}.ffn_norm.weight`));
    tensors.push(norm("output_norm.weight"));
    await writeGguf(temporary, metadata, tensors);
    renameSync(temporary, path);
  } finally {
    rmSync(pool, { force: true });
    rmSync(temporary, { force: true });
  }
  return path;
}

/** The GPU check's models (bench/gpuCheck.ts): every matrix F16. */
export async function writeLargeSyntheticModel(
  path: string,
  shape: ModelShape,
  options: { tokenizer: string; seed?: number },
): Promise<void> {
  await writeRealSizeModel(path, shape, { ...options, type: "F16" });
}
