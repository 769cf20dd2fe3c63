// The same prompt along a ladder of temperatures, for the sweep table and its chart.
import type { GenerateHooks, GenerationResult } from "./engine.js";
import type { GenerationInput } from "./request.js";

/** ±2, ±1, ±0.5, ±0.001: from near-uniform to (anti-)greedy on both sides of β = 0. */
export const DEFAULT_SWEEP_TEMPERATURES: readonly number[] = [2, 1, 0.5, 0.001, -0.001, -0.5, -1, -2];

/** What a sweep needs of an engine (Engine satisfies it). */
export interface Generator {
  generate(input: GenerationInput, hooks?: GenerateHooks): Promise<GenerationResult>;
}

/**
 * Generates the prompt at each temperature in turn, with one seed for all rows so a rerun
 * reproduces the sweep. Rows come back in ladder order, each with its weirdness score. A fired
 * signal ends the sweep after the row that was running (marked "aborted").
 */
export async function runSweep(
  engine: Generator,
  input: Omit<GenerationInput, "temperature"> & { temperatures?: readonly number[] },
  hooks: Pick<GenerateHooks, "signal"> = {},
): Promise<GenerationResult[]> {
  const { temperatures = DEFAULT_SWEEP_TEMPERATURES, ...request } = input;
  const rows: GenerationResult[] = [];
  for (const temperature of temperatures) {
    rows.push(await engine.generate({ ...request, temperature }, { signal: hooks.signal }));
    if (hooks.signal?.aborted) break;
  }
  return rows;
}
