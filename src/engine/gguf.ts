// A minimal GGUF (v2/v3) reader and writer: just enough to read a model's header, copy
// tensors byte for byte into a new file, and write small synthetic models for tests.
// Tensor data is never decoded, so every ggml type (quantized or not) is supported.
import {
  closeSync,
  openSync,
  readSync,
  fstatSync,
  createReadStream,
  createWriteStream,
  renameSync,
  rmSync,
} from "node:fs";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import type { Writable } from "node:stream";

const MAGIC = 0x46554747; // "GGUF" little-endian
const DEFAULT_ALIGNMENT = 32;

/** ggml tensor type ids (ggml.h). */
export const GgmlType = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q5_0: 6,
  Q5_1: 7,
  Q8_0: 8,
  Q2_K: 10,
  Q3_K: 11,
  Q4_K: 12,
  Q5_K: 13,
  Q6_K: 14,
  BF16: 30,
} as const;
export type GgmlTypeName = keyof typeof GgmlType;

enum ValueType {
  U8,
  I8,
  U16,
  I16,
  U32,
  I32,
  F32,
  Bool,
  String,
  Array,
  U64,
  I64,
  F64,
}

export type GgufScalar = number | bigint | boolean | string;
export type GgufValue = GgufScalar | GgufScalar[];

export interface GgufTensorInfo {
  name: string;
  /** ggml order: dims[0] is the row length. */
  dims: number[];
  type: number;
  /** Offset of the data from the start of the data section. */
  offset: number;
  /** Bytes the data occupies up to the next tensor (ggml size plus alignment padding). */
  span: number;
}

export interface GgufFile {
  path: string;
  version: number;
  alignment: number;
  metadata: Map<string, GgufValue>;
  /** The metadata section exactly as stored, so a copy can keep every type and value. */
  rawMetadata: Buffer;
  /** Where each key's entry lies in rawMetadata, so a copy can leave one out. */
  metadataSpans: Map<string, { start: number; end: number }>;
  tensors: Map<string, GgufTensorInfo>;
  /** Absolute file offset where tensor data starts. */
  dataOffset: number;
}

export class NotGgufError extends Error {
  constructor(path: string, reason: string) {
    super(`${path} is not a GGUF model file (${reason})`);
    this.name = "NotGgufError";
  }
}

/** Sequential reader over a file descriptor with a growing buffer window. */
class FileCursor {
  private buffer = Buffer.alloc(0);
  private bufferStart = 0;
  position = 0;

  constructor(
    private readonly fd: number,
    readonly size: number,
    private readonly path: string,
  ) {}

  take(length: number): Buffer {
    const end = this.position + length;
    if (end > this.size) throw new NotGgufError(this.path, "the header is truncated");
    if (end > this.bufferStart + this.buffer.length) {
      const want = Math.max(length, 1 << 20);
      const chunk = Buffer.alloc(Math.min(want, this.size - this.position));
      readSync(this.fd, chunk, 0, chunk.length, this.position);
      this.buffer = chunk;
      this.bufferStart = this.position;
    }
    const start = this.position - this.bufferStart;
    this.position = end;
    return this.buffer.subarray(start, start + length);
  }

  u32(): number {
    return this.take(4).readUInt32LE(0);
  }
  u64(): number {
    const value = this.take(8).readBigUInt64LE(0);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new NotGgufError(this.path, "a length is impossibly large");
    return Number(value);
  }
  string(): string {
    return this.take(this.u64()).toString("utf8");
  }

  scalar(type: ValueType): GgufScalar {
    switch (type) {
      case ValueType.U8:
        return this.take(1).readUInt8(0);
      case ValueType.I8:
        return this.take(1).readInt8(0);
      case ValueType.U16:
        return this.take(2).readUInt16LE(0);
      case ValueType.I16:
        return this.take(2).readInt16LE(0);
      case ValueType.U32:
        return this.take(4).readUInt32LE(0);
      case ValueType.I32:
        return this.take(4).readInt32LE(0);
      case ValueType.F32:
        return this.take(4).readFloatLE(0);
      case ValueType.Bool:
        return this.take(1).readUInt8(0) !== 0;
      case ValueType.String:
        return this.string();
      case ValueType.U64:
        return this.take(8).readBigUInt64LE(0);
      case ValueType.I64:
        return this.take(8).readBigInt64LE(0);
      case ValueType.F64:
        return this.take(8).readDoubleLE(0);
      default:
        throw new NotGgufError(this.path, `unknown metadata value type ${type}`);
    }
  }

  value(type: ValueType): GgufValue {
    if (type !== ValueType.Array) return this.scalar(type);
    const itemType = this.u32() as ValueType;
    const count = this.u64();
    const items = new Array<GgufScalar>(count);
    for (let i = 0; i < count; i++) items[i] = this.scalar(itemType);
    return items;
  }
}

/** Reads the header of a GGUF file: metadata and tensor directory, not the tensor data. */
export function readGguf(path: string): GgufFile {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    const cursor = new FileCursor(fd, size, path);
    if (size < 24 || cursor.u32() !== MAGIC) throw new NotGgufError(path, "no GGUF magic bytes");
    const version = cursor.u32();
    if (version < 2 || version > 3) throw new NotGgufError(path, `unsupported GGUF version ${version}`);
    const tensorCount = cursor.u64();
    const kvCount = cursor.u64();

    const metadataStart = cursor.position;
    const metadata = new Map<string, GgufValue>();
    const metadataSpans = new Map<string, { start: number; end: number }>();
    for (let i = 0; i < kvCount; i++) {
      const start = cursor.position - metadataStart;
      const key = cursor.string();
      metadata.set(key, cursor.value(cursor.u32()));
      metadataSpans.set(key, { start, end: cursor.position - metadataStart });
    }
    const metadataEnd = cursor.position;

    const directory: Omit<GgufTensorInfo, "span">[] = [];
    for (let i = 0; i < tensorCount; i++) {
      const name = cursor.string();
      const dims = Array.from({ length: cursor.u32() }, () => cursor.u64());
      directory.push({ name, dims, type: cursor.u32(), offset: cursor.u64() });
    }

    const alignment = Number(metadata.get("general.alignment") ?? DEFAULT_ALIGNMENT);
    const dataOffset = alignUp(cursor.position, alignment);
    const dataSize = size - dataOffset;
    const byOffset = [...directory].sort((a, b) => a.offset - b.offset);
    const tensors = new Map<string, GgufTensorInfo>();
    byOffset.forEach((tensor, i) => {
      const end = i + 1 < byOffset.length ? byOffset[i + 1]!.offset : dataSize;
      if (end > dataSize || end < tensor.offset)
        throw new NotGgufError(path, `tensor ${tensor.name} lies outside the file`);
      tensors.set(tensor.name, { ...tensor, span: end - tensor.offset });
    });

    const rawMetadata = Buffer.alloc(metadataEnd - metadataStart);
    readSync(fd, rawMetadata, 0, rawMetadata.length, metadataStart);
    return { path, version, alignment, metadata, rawMetadata, metadataSpans, tensors, dataOffset };
  } finally {
    closeSync(fd);
  }
}

/** True when the file starts with the GGUF magic bytes. */
export function hasGgufMagic(path: string): boolean {
  const fd = openSync(path, "r");
  try {
    const magic = Buffer.alloc(4);
    return readSync(fd, magic, 0, 4, 0) === 4 && magic.readUInt32LE(0) === MAGIC;
  } finally {
    closeSync(fd);
  }
}

export function alignUp(value: number, alignment: number): number {
  return Math.ceil(value / alignment) * alignment;
}

// ---- writing ----

export type TypedValue =
  | { type: "string"; value: string }
  | { type: "u32" | "i32" | "f32"; value: number }
  | { type: "u64"; value: bigint }
  | { type: "bool"; value: boolean }
  | { type: "string[]"; value: string[] }
  | { type: "f32[]" | "i32[]"; value: ArrayLike<number> };

/** Tensor data comes from memory or from a byte range of another file. */
export type TensorSource = Buffer | { path: string; start: number; length: number };

export interface TensorToWrite {
  name: string;
  dims: number[];
  type: number;
  data: TensorSource;
}

function encodeString(value: string): Buffer {
  const bytes = Buffer.from(value, "utf8");
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(bytes.length));
  return Buffer.concat([length, bytes]);
}

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value);
  return b;
}
function u64(value: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(value));
  return b;
}

function encodeNumbers(values: ArrayLike<number>, write: (b: Buffer, v: number, o: number) => void): Buffer {
  const out = Buffer.alloc(values.length * 4);
  for (let i = 0; i < values.length; i++) write(out, values[i]!, i * 4);
  return out;
}

function encodeValue(typed: TypedValue): Buffer {
  switch (typed.type) {
    case "string":
      return Buffer.concat([u32(ValueType.String), encodeString(typed.value)]);
    case "u32":
      return Buffer.concat([u32(ValueType.U32), u32(typed.value)]);
    case "i32": {
      const b = Buffer.alloc(4);
      b.writeInt32LE(typed.value);
      return Buffer.concat([u32(ValueType.I32), b]);
    }
    case "f32": {
      const b = Buffer.alloc(4);
      b.writeFloatLE(typed.value);
      return Buffer.concat([u32(ValueType.F32), b]);
    }
    case "u64":
      return Buffer.concat([u32(ValueType.U64), u64(typed.value)]);
    case "bool":
      return Buffer.concat([u32(ValueType.Bool), Buffer.from([typed.value ? 1 : 0])]);
    case "string[]":
      return Buffer.concat([
        u32(ValueType.Array),
        u32(ValueType.String),
        u64(typed.value.length),
        ...typed.value.map(encodeString),
      ]);
    case "f32[]":
      return Buffer.concat([
        u32(ValueType.Array),
        u32(ValueType.F32),
        u64(typed.value.length),
        encodeNumbers(typed.value, (b, v, o) => b.writeFloatLE(v, o)),
      ]);
    case "i32[]":
      return Buffer.concat([
        u32(ValueType.Array),
        u32(ValueType.I32),
        u64(typed.value.length),
        encodeNumbers(typed.value, (b, v, o) => b.writeInt32LE(v, o)),
      ]);
  }
}

/** A metadata section in its stored byte layout, with the number of entries it holds. */
export interface EncodedMetadata {
  raw: Buffer;
  count: number;
}

/** A file's metadata as stored, without the given keys. */
export function metadataWithout(file: GgufFile, keys: readonly string[]): EncodedMetadata {
  const kept = [...file.metadataSpans].filter(([key]) => !keys.includes(key));
  return {
    raw: Buffer.concat(kept.map(([, span]) => file.rawMetadata.subarray(span.start, span.end))),
    count: kept.length,
  };
}

export function encodeMetadata(entries: Array<[string, TypedValue]>): EncodedMetadata {
  return {
    raw: Buffer.concat(entries.flatMap(([key, value]) => [encodeString(key), encodeValue(value)])),
    count: entries.length,
  };
}

async function writeAll(out: Writable, chunk: Buffer): Promise<void> {
  if (!out.write(chunk)) await once(out, "drain");
}

/**
 * Where written tensors start: a multiple of 64 bytes, the cache line and the AVX-512 vector,
 * since llama.cpp computes straight from the mapped file. At GGUF's default of 32 bytes half
 * the files put every weight row across two cache lines: a sign-flipped copy of the
 * synthetic test model decoded 13% slower than its 64-aligned original.
 */
export const WRITE_ALIGNMENT = 64;

/**
 * Writes a GGUF v3 file. The metadata is given pre-encoded (see encodeMetadata), so a copy
 * can reuse another file's section verbatim; it must not hold general.alignment, which is
 * written here. Written to a temporary name and renamed, so a crash never leaves a
 * half-written file under the final name.
 */
export async function writeGguf(
  path: string,
  metadata: EncodedMetadata,
  tensors: TensorToWrite[],
  alignment = WRITE_ALIGNMENT,
): Promise<void> {
  const alignmentEntry = encodeMetadata([["general.alignment", { type: "u32", value: alignment }]]);
  const directory: Buffer[] = [];
  let offset = 0;
  for (const tensor of tensors) {
    directory.push(
      encodeString(tensor.name),
      u32(tensor.dims.length),
      ...tensor.dims.map(d => u64(d)),
      u32(tensor.type),
      u64(offset),
    );
    offset = alignUp(offset + tensor.data.length, alignment);
  }
  const header = Buffer.concat([
    u32(MAGIC),
    u32(3),
    u64(tensors.length),
    u64(metadata.count + 1),
    metadata.raw,
    alignmentEntry.raw,
    ...directory,
  ]);

  // Unique per writer: two containers sharing a cache volume both run as PID 1.
  const temporary = `${path}.${randomUUID()}.partial`;
  const out = createWriteStream(temporary);
  try {
    await writeAll(out, header);
    await writeAll(out, Buffer.alloc(alignUp(header.length, alignment) - header.length));
    for (const tensor of tensors) {
      const size = tensor.data.length;
      if (Buffer.isBuffer(tensor.data)) {
        await writeAll(out, tensor.data);
      } else {
        const { path: source, start, length } = tensor.data;
        for await (const chunk of createReadStream(source, { start, end: start + length - 1 }))
          await writeAll(out, chunk as Buffer);
      }
      await writeAll(out, Buffer.alloc(alignUp(size, alignment) - size));
    }
    out.end();
    await once(out, "finish");
    renameSync(temporary, path);
  } catch (error) {
    out.destroy();
    rmSync(temporary, { force: true });
    throw error;
  }
}
