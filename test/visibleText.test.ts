import { describe, expect, it } from "vitest";
import { visibleText } from "../src/visibleText.js";

describe("visibleText", () => {
  it("shows control, invisible and bidi characters but keeps newlines, tabs and ordinary text", () => {
    expect(visibleText("a\u0000b\u001bc\u007f")).toBe("a␀b␛c␡");
    expect(visibleText("x\u202Ey\u200Bz\uFEFF")).toBe("x⟨U+202E⟩y⟨U+200B⟩z⟨U+FEFF⟩");
    expect(visibleText("line\n\tХронологија 🙂")).toBe("line\n\tХронологија 🙂");
  });
});
