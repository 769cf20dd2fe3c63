// The real worker entry point (src/worker/main.ts) in a process of its own, configured by its
// environment alone, as an operator runs it: a test reads its log lines and can kill it.
import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { testModelPath, temporaryFolder } from "./engine.js";

const root = resolve(import.meta.dirname, "../..");

export interface WorkerMain {
  child: ChildProcess;
  /** Everything it has printed so far (stdout and stderr). */
  output(): string;
  /** Resolves once the output matches; rejects if the process exits first. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Its exit code once it has exited (null when killed by a signal). */
  exited: Promise<number | null>;
}

/** Starts it with the test model, one thread, on the CPU, and no Discord unless `env` names one. */
export function spawnWorkerMain(env: Record<string, string>): WorkerMain {
  // node --import tsx keeps it one process: SIGKILL hits the worker itself, not a wrapper.
  const child = spawn(process.execPath, ["--import", "tsx", resolve(root, "src/worker/main.ts")], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      ...(env.MODELS === undefined && { MODEL: testModelPath() }),
      BELOWZERO_CACHE_DIR: temporaryFolder(),
      DISCORD_TOKEN: "test-token",
      DISCORD_API_URL: "http://127.0.0.1:9/api",
      REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
      LLAMA_THREADS: "1",
      ...env,
    },
  });
  let output = "";
  const listeners = new Set<() => void>();
  const read = (chunk: Buffer) => {
    output += chunk.toString("utf8");
    for (const listener of listeners) listener();
  };
  child.stdout.on("data", read);
  child.stderr.on("data", read);
  const exited = new Promise<number | null>(done => child.on("exit", code => done(code)));
  return {
    child,
    output: () => output,
    exited,
    waitFor: (pattern, timeoutMs = 60_000) =>
      new Promise<void>((resolveWait, reject) => {
        const timer = setTimeout(() => finish(new Error(`timed out waiting for ${pattern}:\n${output}`)), timeoutMs);
        const check = () => pattern.test(output) && finish();
        const finish = (error?: Error) => {
          clearTimeout(timer);
          listeners.delete(check);
          if (error) reject(error);
          else resolveWait();
        };
        listeners.add(check);
        void exited.then(code => finish(new Error(`the worker exited (${code}) before ${pattern}:\n${output}`)));
        check();
      }),
  };
}
