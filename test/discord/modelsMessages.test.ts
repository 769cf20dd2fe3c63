// /weird-models' text at Discord's 2000-character limit: whole models, never half a line.
import { describe, expect, it } from "vitest";
import { modelsMessage } from "../../src/discord/modelsMessages.js";
import type { ModelView } from "../../src/store/models.js";

function deadModel(n: number): ModelView {
  const id = `model_${String(n).padStart(2, "0")}_${"x".repeat(40)}`;
  const info = {
    id,
    file: `${id}.gguf`,
    sizeBytes: 7e9,
    type: "llama 7B Q4_K - Medium",
    vocabularySize: 32000,
    contextSize: 4096,
  };
  return { id, queue: `weird-${id}`, info, live: [], lastSeenAt: 1_796_000_000_000 };
}

describe("the /weird-models answer", () => {
  it("lists as many whole models as fit in one message, and says how many more there are", () => {
    const models = Array.from({ length: 30 }, (_, n) => ({ model: deadModel(n), depth: { waiting: 0, running: 0 } }));
    const text = modelsMessage(models, { default: null, allowed: [] });
    expect(text.length).toBeLessThanOrEqual(2000);
    const lines = text.split("\n");
    // Every model shown has both its lines, the last one's timestamp whole.
    expect(lines.at(-2)).toMatch(/^ {2}no worker running \(last seen <t:1796000000:R>\)$/);
    const shown = lines.filter(line => line.startsWith("**model")).length;
    expect(shown).toBeGreaterThan(5);
    expect(lines.at(-1)).toBe(`…and ${30 - shown} more`);
  });
});
