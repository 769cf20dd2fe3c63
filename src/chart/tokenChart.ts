// "Where it turned weird": the surprisal of each generated token (nats, under the model at
// T = 1), the token texts along the axis, and the temperature each token was sampled at drawn
// above it as β = 1/T, so a schedule's crossing of zero lines up with the tokens it made.
import { createCanvas } from "@napi-rs/canvas";
import { Chart, registerables, type ChartConfiguration, type Scale, type ScriptableScaleContext } from "chart.js";
import { visibleText } from "../visibleText.js";
import { FONT_FAMILY, formatNumber, registerChartFont } from "./font.js";

Chart.register(...registerables);

/** One generated token, as the chart needs it. */
export interface TokenPoint {
  /** The token's own text (it may be empty, or only part of a character). */
  text: string;
  /** Surprisal at T = 1, in nats. */
  surprisal: number;
  /** The temperature it was sampled at. */
  temperature: number;
}

export interface TokenChartOptions {
  /** Shown above the chart, e.g. the prompt and the schedule. */
  title?: string;
  /** Defaults to what keeps the labels readable: 16 px a token, 900 to 2400 px. */
  width?: number;
  height?: number;
}

const NEGATIVE = "#c0392b";
const POSITIVE = "#2471a3";
const LABEL_LENGTH = 10;

// β = 1/T spans ±1000 (T = ±0.001) and ±0.5 in one schedule: the symmetric log scale of the
// sweep chart keeps both ends and the crossing at 0 readable.
const toAxis = (beta: number) => Math.asinh(5 * beta);
const fromAxis = (x: number) => Math.sinh(x) / 5;
/** β of T; greedy (T = 0) is drawn at the axis' end, as the limit it is. */
const betaOf = (temperature: number) => (temperature === 0 ? 1e4 : 1 / temperature);

/** A token's text as an axis label: spaces and line breaks visible, long pieces cut. */
export function tokenLabel(text: string): string {
  const shown = visibleText(text).replace(/ /g, "␣").replace(/\n/g, "↵").replace(/\t/g, "⇥");
  if (shown === "") return "∅";
  const characters = [...shown];
  return characters.length > LABEL_LENGTH ? `${characters.slice(0, LABEL_LENGTH - 1).join("")}…` : shown;
}

/** Renders the chart as a PNG. Throws when there is no token. */
export async function renderTokenChart(
  tokens: readonly TokenPoint[],
  options: TokenChartOptions = {},
): Promise<Buffer> {
  if (tokens.length === 0) throw new Error("Nothing to chart: the output has no tokens");
  registerChartFont();
  const { width = Math.min(2400, Math.max(900, 120 + 16 * tokens.length)), height = 560 } = options;
  const canvas = createCanvas(width, height);
  const context = canvas.getContext("2d");
  context.fillStyle = "#ffffff";
  context.fillRect(0, 0, width, height);

  Chart.defaults.font.family = FONT_FAMILY;
  const colours = tokens.map(token => (token.temperature < 0 ? NEGATIVE : POSITIVE));
  const betas = tokens.map(token => betaOf(token.temperature));
  const tickBetas = [...new Set([0, ...betas])];
  const mean = tokens.reduce((sum, token) => sum + token.surprisal, 0) / tokens.length;
  const title = `Surprisal of each token at T = 1 (mean ${formatNumber(mean)} nats/token)`;
  const config: ChartConfiguration<"bar" | "line", number[], string> = {
    type: "bar",
    data: {
      labels: tokens.map(token => tokenLabel(token.text)),
      datasets: [
        {
          type: "bar",
          data: tokens.map(token => token.surprisal),
          backgroundColor: colours,
          borderColor: colours,
          yAxisID: "surprisal",
          categoryPercentage: 0.9,
          barPercentage: 1,
        },
        {
          type: "line",
          data: betas.map(toAxis),
          yAxisID: "beta",
          stepped: "middle",
          borderColor: "#555555",
          borderWidth: 2,
          pointRadius: 0,
        },
      ],
    },
    options: {
      animation: false,
      responsive: false,
      devicePixelRatio: 1,
      plugins: {
        legend: { display: false },
        title: { display: true, text: options.title ? [title, options.title] : title, font: { size: 16 } },
      },
      scales: {
        x: {
          ticks: { autoSkip: tokens.length > 150, maxRotation: 90, minRotation: 90, font: { size: 11 } },
          grid: { display: false },
        },
        // Two panels on one x axis; Chart.js stacks the first-named at the bottom, so the
        // surprisals come first and the schedule is drawn on top of them (a quarter).
        surprisal: {
          type: "linear",
          stack: "panels",
          stackWeight: 3,
          beginAtZero: true,
          title: { display: true, text: "surprisal at T = 1 (nats)" },
          grid: { color: "#e5e5e5" },
        },
        beta: {
          type: "linear",
          stack: "panels",
          stackWeight: 1,
          offset: true,
          min: Math.min(...betas.map(toAxis), 0) - 0.5,
          max: Math.max(...betas.map(toAxis), 0) + 0.5,
          title: { display: true, text: "β = 1/T" },
          afterBuildTicks: (axis: Scale) => {
            axis.ticks = tickBetas.map(beta => ({ value: toAxis(beta) }));
          },
          ticks: {
            autoSkip: false,
            callback: value => {
              const beta = fromAxis(Number(value));
              const nearest = tickBetas.reduce((a, b) => (Math.abs(b - beta) < Math.abs(a - beta) ? b : a));
              return nearest >= 1e4 ? "∞" : formatNumber(nearest);
            },
          },
          grid: { color: (tick: ScriptableScaleContext) => (tick.tick?.value === 0 ? "#888888" : "#eeeeee") },
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
