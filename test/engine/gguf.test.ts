import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { encodeMetadata, GgmlType, hasGgufMagic, metadataWithout, readGguf, writeGguf } from "../../src/engine/gguf.js";
import { temporaryFolder } from "../helpers/engine.js";

describe("GGUF files", () => {
  it("round-trip metadata of every written type and tensors from memory and from another file", async () => {
    const folder = temporaryFolder();
    const source = join(folder, "source.bin");
    writeFileSync(source, Buffer.from("xxxxABCDEFGHyyyy"));
    const path = join(folder, "out.gguf");
    const metadata = encodeMetadata([
      ["s", { type: "string", value: "héllo" }],
      ["u", { type: "u32", value: 7 }],
      ["i", { type: "i32", value: -7 }],
      ["f", { type: "f32", value: 0.5 }],
      ["big", { type: "u64", value: 2n ** 40n }],
      ["b", { type: "bool", value: true }],
      ["strings", { type: "string[]", value: ["a", "▁b"] }],
      ["floats", { type: "f32[]", value: [1.5, -2] }],
      ["ints", { type: "i32[]", value: [3, -4] }],
    ]);
    await writeGguf(path, metadata, [
      { name: "a", dims: [3], type: GgmlType.F32, data: Buffer.from(new Float32Array([1, 2, 3]).buffer) },
      { name: "b", dims: [8], type: 24, data: { path: source, start: 4, length: 8 } },
    ]);
    const file = readGguf(path);
    expect(Object.fromEntries(file.metadata)).toEqual({
      s: "héllo",
      u: 7,
      i: -7,
      f: 0.5,
      big: 2n ** 40n,
      b: true,
      strings: ["a", "▁b"],
      floats: [1.5, -2],
      ints: [3, -4],
      "general.alignment": 64,
    });
    // Every tensor on a cache line of its own (see WRITE_ALIGNMENT).
    expect(file.tensors.get("a")).toMatchObject({ dims: [3], type: 0, offset: 0, span: 64 });
    expect(file.tensors.get("b")).toMatchObject({ dims: [8], type: 24, offset: 64 });
    expect(file.dataOffset % 64).toBe(0);
    // A copy can leave a key out, keeping the others byte for byte.
    const without = metadataWithout(file, ["u", "general.alignment"]);
    const copy = `${path}.copy`;
    await writeGguf(copy, without, []);
    expect(readGguf(copy).metadata).toEqual(new Map([...file.metadata].filter(([key]) => key !== "u")));
    expect(hasGgufMagic(path)).toBe(true);
    expect(hasGgufMagic(source)).toBe(false);
  });
});
