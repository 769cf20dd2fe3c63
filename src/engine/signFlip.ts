// Negating a tensor in place of its stored bytes, for the "copy" negation route. Floats
// flip their sign bit; quantized blocks store values as scale × integer (minus min ×
// integer for the _1 and _K types), so flipping the sign of the f16 scale (and min) fields
// negates every value of the block exactly.

export interface SignLayout {
  /** Values per unit: 1 for floats, the block length for quantized types. */
  unitValues: number;
  /** Bytes per element (floats) or per block (quantized types). */
  unitBytes: number;
  /** Offsets within a unit of the bytes holding a sign bit (the high byte of an f16/f32, little-endian). */
  signBytes: number[];
}

/** By ggml type id. */
export const SIGN_LAYOUTS: Record<number, SignLayout> = {
  0: { unitValues: 1, unitBytes: 4, signBytes: [3] }, // F32
  1: { unitValues: 1, unitBytes: 2, signBytes: [1] }, // F16
  30: { unitValues: 1, unitBytes: 2, signBytes: [1] }, // BF16
  2: { unitValues: 32, unitBytes: 18, signBytes: [1] }, // Q4_0: d, qs
  3: { unitValues: 32, unitBytes: 20, signBytes: [1, 3] }, // Q4_1: d, m, qs
  6: { unitValues: 32, unitBytes: 22, signBytes: [1] }, // Q5_0: d, qh, qs
  7: { unitValues: 32, unitBytes: 24, signBytes: [1, 3] }, // Q5_1: d, m, qh, qs
  8: { unitValues: 32, unitBytes: 34, signBytes: [1] }, // Q8_0: d, qs
  10: { unitValues: 256, unitBytes: 84, signBytes: [81, 83] }, // Q2_K: scales, qs, d, dmin
  11: { unitValues: 256, unitBytes: 110, signBytes: [109] }, // Q3_K: hmask, qs, scales, d
  12: { unitValues: 256, unitBytes: 144, signBytes: [1, 3] }, // Q4_K: d, dmin, scales, qs
  13: { unitValues: 256, unitBytes: 176, signBytes: [1, 3] }, // Q5_K: d, dmin, scales, qh, qs
  14: { unitValues: 256, unitBytes: 210, signBytes: [209] }, // Q6_K: ql, qh, scales, d
};

export function canFlipSigns(ggmlType: number): boolean {
  return ggmlType in SIGN_LAYOUTS;
}

/** Negates every value of a tensor of the given ggml type (modifies and returns the buffer). */
export function flipSigns(data: Buffer, ggmlType: number): Buffer {
  const layout = SIGN_LAYOUTS[ggmlType];
  if (!layout) throw new Error(`Cannot flip the signs of ggml type ${ggmlType}`);
  const units = Math.floor(data.length / layout.unitBytes);
  for (let unit = 0; unit < units; unit++) {
    const base = unit * layout.unitBytes;
    for (const offset of layout.signBytes) data[base + offset]! ^= 0x80;
  }
  return data;
}
