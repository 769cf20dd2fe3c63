// The "where it turned weird" chart is a real PNG: bars coloured by the sign each token was
// sampled at, the schedule drawn in the panel above, labels that show what the token was.
import { createCanvas, loadImage } from "@napi-rs/canvas";
import { describe, expect, it } from "vitest";
import { renderTokenChart, tokenLabel, type TokenPoint } from "../../src/chart/tokenChart.js";

// Eight tokens at T = 0.8 then eight at T = −0.001, surprisals as stories260K gives them.
const tokens: TokenPoint[] = [
  ...Array.from({ length: 8 }, (_, i) => ({
    text: [" there", " was", " a", " little"][i % 4]!,
    surprisal: 0.2 + (i % 3),
    temperature: 0.8,
  })),
  ...Array.from({ length: 8 }, () => ({ text: "|", surprisal: 26.5, temperature: -0.001 })),
];

interface Counts {
  red: number;
  blue: number;
  dark: number;
}

/** Counts reddish, bluish and dark pixels in a rectangle of the image. */
async function colours(png: Buffer, x: number, y: number, width: number, height: number): Promise<Counts> {
  const image = await loadImage(png);
  const canvas = createCanvas(image.width, image.height);
  const context = canvas.getContext("2d");
  context.drawImage(image, 0, 0);
  const { data } = context.getImageData(x, y, width, height);
  const counts = { red: 0, blue: 0, dark: 0 };
  for (let i = 0; i < data.length; i += 4) {
    const [r, g, b] = [data[i]!, data[i + 1]!, data[i + 2]!];
    if (r > 150 && g < 90 && b < 90) counts.red++;
    if (b > 130 && r < 80) counts.blue++;
    if (r + g + b < 384 && Math.abs(r - b) < 40) counts.dark++;
  }
  return counts;
}

describe("the token chart", () => {
  it("is a PNG at least 900 px wide, wider for long outputs", async () => {
    const png = await renderTokenChart(tokens);
    expect(png.subarray(1, 4).toString("latin1")).toBe("PNG");
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([900, 560]);
    const long = await renderTokenChart(Array.from({ length: 100 }, () => tokens[0]!));
    expect(long.readUInt32BE(16)).toBe(120 + 16 * 100);
  });

  it("colours the tokens above zero blue and those below zero red, in their order", async () => {
    const png = await renderTokenChart(tokens, { width: 900, height: 560 });
    const bars = { y: 200, height: 300 };
    const left = await colours(png, 100, bars.y, 380, bars.height);
    const right = await colours(png, 520, bars.y, 370, bars.height);
    expect(left.blue).toBeGreaterThan(1000);
    expect(left.red).toBe(0);
    expect(right.red).toBeGreaterThan(10 * right.blue + 1000);
  });

  it("draws the schedule in a panel above the bars: a step from β = 1.25 down to β = −1000", async () => {
    const png = await renderTokenChart(tokens, { width: 900, height: 560 });
    // The top panel (below the title) holds the β line; without the line it is nearly white.
    const panel = await colours(png, 100, 60, 780, 110);
    expect(panel.dark).toBeGreaterThan(300);
    expect(panel.red + panel.blue).toBe(0);
  });

  it("labels a token with its text, spaces and control characters visible, long ones cut", () => {
    expect(tokenLabel(" there")).toBe("␣there");
    expect(tokenLabel("\n")).toBe("↵");
    expect(tokenLabel("\u0007")).toBe("␇");
    expect(tokenLabel("")).toBe("∅");
    expect(tokenLabel("Хронологија")).toBe("Хронологи…");
  });

  it("refuses an output without tokens", async () => {
    await expect(renderTokenChart([])).rejects.toThrow(/no tokens/);
  });
});
