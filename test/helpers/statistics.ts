export interface ChiSquareResult {
  statistic: number;
  degreesOfFreedom: number;
  criticalValue: number;
}

/** Upper critical value of χ² at α = 0.001 (z = 3.0902), by the Wilson–Hilferty approximation. */
export function chiSquareCritical(degreesOfFreedom: number, z = 3.0902): number {
  const k = degreesOfFreedom;
  return k * (1 - 2 / (9 * k) + z * Math.sqrt(2 / (9 * k))) ** 3;
}

/**
 * Pearson's goodness-of-fit test of observed counts against expected probabilities.
 * Bins expected to hold fewer than 5 samples are pooled into one, as the test requires.
 */
export function chiSquareTest(observed: ArrayLike<number>, probabilities: ArrayLike<number>): ChiSquareResult {
  const total = Array.from(observed).reduce((a, b) => a + b, 0);
  let statistic = 0;
  let bins = 0;
  let pooledObserved = 0;
  let pooledExpected = 0;
  for (let i = 0; i < probabilities.length; i++) {
    const expected = probabilities[i]! * total;
    const seen = observed[i] ?? 0;
    if (expected < 5) {
      pooledObserved += seen;
      pooledExpected += expected;
      continue;
    }
    statistic += (seen - expected) ** 2 / expected;
    bins++;
  }
  if (pooledExpected > 0) {
    // A pooled bin with (almost) nothing expected but samples in it is a clear misfit.
    statistic += (pooledObserved - pooledExpected) ** 2 / Math.max(pooledExpected, 1e-9);
    bins++;
  }
  const degreesOfFreedom = Math.max(1, bins - 1);
  return { statistic, degreesOfFreedom, criticalValue: chiSquareCritical(degreesOfFreedom) };
}
