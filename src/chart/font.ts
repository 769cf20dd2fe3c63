// The charts' font ships in the dejavu-fonts-ttf package, so text renders in a slim Docker image
// with no system fonts.
import { createRequire } from "node:module";
import { GlobalFonts } from "@napi-rs/canvas";

export const FONT_FAMILY = "DejaVu Sans";
let registered = false;

export function registerChartFont(): void {
  if (registered) return;
  const resolve = createRequire(import.meta.url).resolve;
  for (const file of ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf"]) {
    const path = resolve(`dejavu-fonts-ttf/ttf/${file}`);
    if (!GlobalFonts.registerFromPath(path, FONT_FAMILY)) throw new Error(`Could not load the chart font ${path}`);
  }
  registered = true;
}

/** Numbers as the charts print them: four significant digits, a real minus sign. */
export function formatNumber(value: number): string {
  return String(Number(value.toPrecision(4))).replace("-", "−");
}
