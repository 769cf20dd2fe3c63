// Starting another of the project's entry points as a child process: compiled from dist/ (the
// images, no tsx there) or as TypeScript through tsx, whichever the caller itself runs as.
import { fileURLToPath } from "node:url";

/** The file and Node flags to run `relative` (as "./bot/main.js") beside the module at `from`. */
export function entryPoint(from: string, relative: string): { path: string; execArgv: string[] } {
  const compiled = from.endsWith(".js");
  const file = compiled ? relative : relative.replace(/\.js$/, ".ts");
  return { path: fileURLToPath(new URL(file, from)), execArgv: compiled ? [] : ["--import", "tsx"] };
}
