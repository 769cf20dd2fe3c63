// The negation routes a test runs through. The "sampler" route exists only on a backend built
// from belowzero's patched sources (npm run build:cpu-backend; CI runs the engine tests again
// on one); elsewhere its tests are skipped, and their names say why.
import { describe } from "vitest";
import type { NegationRoute } from "../../src/engine/negation.js";
import { loadTestEngine } from "./engine.js";

export type Route = Exclude<NegationRoute, "auto">;

async function loadedBackendNegates(): Promise<boolean> {
  const engine = await loadTestEngine(); // "auto" takes the sampler route wherever it can
  try {
    return engine.negation.route === "sampler";
  } finally {
    await engine.dispose();
  }
}

/** Whether the backend node-llama-cpp loads here samples T < 0 in its sampler (the patched source build). */
export const SAMPLER_BUILD = await loadedBackendNegates();

export const SAMPLER_SKIPPED =
  "skipped: the loaded backend is not the patched source build (npm run build:cpu-backend)";

/** describe() once per route, "%s" in the title naming it; the sampler route is skipped where it cannot run. */
export function describeRoutes(title: string, routes: readonly Route[], body: (route: Route) => void): void {
  for (const route of routes) {
    const skip = route === "sampler" && !SAMPLER_BUILD;
    describe.skipIf(skip)(`${title.replace("%s", route)}${skip ? ` (${SAMPLER_SKIPPED})` : ""}`, () => body(route));
  }
}
