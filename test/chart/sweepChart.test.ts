// The sweep chart is a real PNG with real text on it, drawn with the font the package ships
// (no system fonts needed, as in the slim Docker image).
import { createCanvas, loadImage } from "@napi-rs/canvas";
import { describe, expect, it } from "vitest";
import { renderSweepChart, type SweepPoint } from "../../src/chart/sweepChart.js";
import { DEFAULT_SWEEP_TEMPERATURES } from "../../src/engine/sweep.js";

// Weirdness along the default ladder as measured on stories260K (64 tokens, seed 7).
const MEASURED: Record<number, number> = { 2: 4.2, 1: 0.9, 0.5: 0.46, 0.001: 0.45, "-0.001": 26.43 };
const rows: SweepPoint[] = DEFAULT_SWEEP_TEMPERATURES.map(temperature => ({
  temperature,
  beta: 1 / temperature,
  surprisal: MEASURED[temperature] ?? 25,
}));

/** Dark pixels in a horizontal band of the image: text and lines are dark, the background white. */
async function darkPixels(png: Buffer, top: number, bottom: number): Promise<number> {
  const image = await loadImage(png);
  const canvas = createCanvas(image.width, image.height);
  const context = canvas.getContext("2d");
  context.drawImage(image, 0, 0);
  const { data } = context.getImageData(0, top, image.width, bottom - top);
  let dark = 0;
  for (let i = 0; i < data.length; i += 4) if (data[i]! + data[i + 1]! + data[i + 2]! < 384) dark++;
  return dark;
}

describe("the sweep chart", () => {
  it("is a PNG of the asked size", async () => {
    const png = await renderSweepChart(rows, { width: 640, height: 360 });
    expect(png.subarray(1, 4).toString("latin1")).toBe("PNG");
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([640, 360]);
  });

  it("draws its title text with the bundled font", async () => {
    const withTitle = await renderSweepChart(rows, { title: "Once upon a time · seed 7" });
    const titleBand = await darkPixels(withTitle, 0, 50);
    expect(titleBand).toBeGreaterThan(500); // two lines of 16px glyphs
  });

  it("leaves out rows it cannot place (T = 0, no score) and refuses an empty chart", async () => {
    const png = await renderSweepChart([...rows, { temperature: 0, beta: Infinity, surprisal: 0.4 }]);
    expect(png.length).toBeGreaterThan(1000);
    await expect(renderSweepChart([{ temperature: 1, beta: 1, surprisal: null }])).rejects.toThrow(/Nothing to chart/);
  });
});
