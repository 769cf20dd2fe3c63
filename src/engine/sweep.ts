// The sweep's ladder of temperatures: the same prompt at each, for the sweep table and its
// chart (the worker runs the rows; /weird-sweep and the CLI's --sweep take the ladder from here).

/** ±2, ±1, ±0.5, ±0.001: from near-uniform to (anti-)greedy on both sides of β = 0. */
export const DEFAULT_SWEEP_TEMPERATURES: readonly number[] = [2, 1, 0.5, 0.001, -0.001, -0.5, -1, -2];

/** The ladder as people read it, "±2, ±1, ±0.5, ±0.001" (it is symmetric about β = 0). */
export const SWEEP_LADDER_TEXT = DEFAULT_SWEEP_TEMPERATURES.filter(t => t > 0)
  .map(t => `±${t}`)
  .join(", ");
