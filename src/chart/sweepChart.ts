// The sweep chart: weirdness (mean surprisal at T = 1) against β = 1/T, one smooth descent
// through β = 0 from the anti-greedy chain to the greedy one. Drawn in process by Chart.js on
// a Skia canvas (@napi-rs/canvas, prebuilt binaries from npm, no browser).
import { createCanvas } from "@napi-rs/canvas";
import { Chart, registerables, type ChartConfiguration, type Scale, type ScriptableScaleContext } from "chart.js";
import { FONT_FAMILY, formatNumber, registerChartFont } from "./font.js";

Chart.register(...registerables);

/** One row of a sweep, as the chart needs it (a GenerationResult fits). */
export interface SweepPoint {
  temperature: number;
  /** 1/T; rows at T = 0 (β = ∞) cannot be placed on the axis and are left out. */
  beta: number;
  /** Mean surprisal in nats per token; rows without one are left out. */
  surprisal: number | null;
}

export interface SweepChartOptions {
  /** Shown above the chart, e.g. the prompt. */
  title?: string;
  width?: number;
  height?: number;
}

const NEGATIVE = "#c0392b";
const POSITIVE = "#2471a3";

// β spans ±1000 and ±0.5 in one ladder: a symmetric log scale (asinh) keeps both ends and the
// crossing at 0 readable; the factor 5 gives the octaves 0.5, 1, 2 room for their labels.
const toAxis = (beta: number) => Math.asinh(5 * beta);
const fromAxis = (x: number) => Math.sinh(x) / 5;

/** Renders the chart as a PNG. Throws when no row has a finite β and a score. */
export async function renderSweepChart(rows: readonly SweepPoint[], options: SweepChartOptions = {}): Promise<Buffer> {
  registerChartFont();
  const points = rows
    .filter((row): row is SweepPoint & { surprisal: number } => Number.isFinite(row.beta) && row.surprisal !== null)
    .map(row => ({ x: toAxis(row.beta), y: row.surprisal, temperature: row.temperature, beta: row.beta }))
    .sort((a, b) => a.x - b.x);
  if (points.length === 0) throw new Error("Nothing to chart: no row has a finite β and a weirdness score");
  const { width = 900, height = 500 } = options;
  const canvas = createCanvas(width, height);
  const context = canvas.getContext("2d");
  context.fillStyle = "#ffffff";
  context.fillRect(0, 0, width, height);

  Chart.defaults.font.family = FONT_FAMILY;
  const tickBetas = [...new Set([0, ...points.map(p => p.beta)])];
  const config: ChartConfiguration<"line", typeof points> = {
    type: "line",
    data: {
      datasets: [
        {
          data: points,
          borderColor: "#555555",
          borderWidth: 2,
          pointRadius: 5,
          pointBackgroundColor: points.map(p => (p.beta < 0 ? NEGATIVE : POSITIVE)),
          pointBorderColor: points.map(p => (p.beta < 0 ? NEGATIVE : POSITIVE)),
          tension: 0,
        },
      ],
    },
    options: {
      animation: false,
      responsive: false,
      devicePixelRatio: 1,
      parsing: false,
      plugins: {
        legend: { display: false },
        title: {
          display: true,
          text: options.title ? ["Weirdness against β = 1/T", options.title] : "Weirdness against β = 1/T",
          font: { size: 16 },
        },
      },
      scales: {
        x: {
          type: "linear",
          title: { display: true, text: "β = 1/T  (symmetric log scale; T = 1/β, so ±1000 is T = ±0.001)" },
          min: Math.min(...points.map(p => p.x), 0) - 1,
          max: Math.max(...points.map(p => p.x), 0) + 1,
          afterBuildTicks: (axis: Scale) => {
            axis.ticks = tickBetas.map(beta => ({ value: toAxis(beta) }));
          },
          ticks: {
            autoSkip: false,
            maxRotation: 0,
            callback: value => {
              const beta = fromAxis(Number(value));
              return formatNumber(tickBetas.reduce((a, b) => (Math.abs(b - beta) < Math.abs(a - beta) ? b : a)));
            },
          },
          grid: { color: (tick: ScriptableScaleContext) => (tick.tick?.value === 0 ? "#888888" : "#e5e5e5") },
        },
        y: {
          beginAtZero: true,
          title: { display: true, text: "weirdness (mean surprisal at T = 1, nats/token)" },
          grid: { color: "#e5e5e5" },
        },
      },
    },
  };
  // Chart.js only needs a 2D context; the Skia one implements the parts it draws with.
  const chart = new Chart(context, config);
  try {
    return await canvas.encode("png");
  } finally {
    chart.destroy();
  }
}
