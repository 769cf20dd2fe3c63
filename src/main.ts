// npm start — the bot and one worker side by side, for a one-box setup. Signals are passed
// on, and if either process dies the other is stopped too, so a supervisor sees the failure.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

// Run as TypeScript through tsx (npm start) or compiled from dist/ (the images, no tsx there).
const compiled = import.meta.url.endsWith(".js");
const here = (path: string) => fileURLToPath(new URL(compiled ? path : path.replace(/\.js$/, ".ts"), import.meta.url));
const children: ChildProcess[] = ["./bot/main.js", "./worker/main.js"].map(entry =>
  spawn(process.execPath, [...(compiled ? [] : ["--import", "tsx"]), here(entry)], { stdio: "inherit" }),
);

// Each child is signalled once; a terminal's Ctrl-C reaches them directly as well.
const signalled = new Set<ChildProcess>();
const stop = (child: ChildProcess, signal: NodeJS.Signals) => {
  if (signalled.has(child) || child.exitCode !== null) return;
  signalled.add(child);
  child.kill(signal);
};
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.on(signal, () => children.forEach(child => stop(child, signal)));
for (const child of children) {
  child.on("exit", code => {
    children.filter(other => other !== child).forEach(other => stop(other, "SIGTERM"));
    process.exitCode = code ?? 1;
  });
}
