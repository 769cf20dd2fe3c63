// npm start — the bot and one worker side by side, for a one-box setup. Signals are passed
// on, and if either process dies the other is stopped too, so a supervisor sees the failure.
import { spawn, type ChildProcess } from "node:child_process";
import { entryPoint } from "./entryPoint.js";

const children: ChildProcess[] = ["./bot/main.js", "./worker/main.js"].map(entry => {
  const { path, execArgv } = entryPoint(import.meta.url, entry);
  return spawn(process.execPath, [...execArgv, path], { stdio: "inherit" });
});

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
