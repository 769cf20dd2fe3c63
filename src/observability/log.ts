// Structured logs: one JSON line per event (pino), with the job and server ids as fields on
// every job line. Secrets never reach the output: the bot token and interaction tokens are
// removed from the finished line itself, so no field, message or stack trace can carry one.
import { pino, type Logger } from "pino";

/** Fields a log line may carry; job lines carry jobId and guildId. */
export type LogFields = Record<string, unknown> & { jobId?: string; guildId?: string | null };
export type Log = (message: string, fields?: LogFields) => void;

export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

const REDACTED = "[redacted]";
// Interaction tokens travel in webhook and callback paths, and look like base64("interaction:…").
const TOKEN_PATTERNS: Array<[RegExp, string]> = [
  [/(\/webhooks\/\d+\/)[^/\s"?]+/g, `$1${REDACTED}`],
  [/(\/interactions\/\d+\/)[^/\s"?]+/g, `$1${REDACTED}`],
  [/aW50ZXJhY3Rpb246[\w.-]+/g, REDACTED],
];

/** Removes the given secrets and anything shaped like an interaction token from text. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let clean = text;
  for (const secret of secrets) if (secret.length >= 8) clean = clean.split(secret).join(REDACTED);
  for (const [pattern, replacement] of TOKEN_PATTERNS) clean = clean.replace(pattern, replacement);
  return clean;
}

export interface LoggerOptions {
  /** "bot", "worker", … — on every line. */
  service: string;
  level?: LogLevel;
  /** Exact strings never to print (the bot token). */
  secrets?: string[];
  /** Where lines go; stdout by default. */
  write?: (line: string) => void;
  /** Fields on every line (e.g. the shard). */
  base?: Record<string, unknown>;
}

export function createLogger(options: LoggerOptions): Logger {
  const secrets = (options.secrets ?? []).filter(Boolean);
  const write = options.write ?? ((line: string) => void process.stdout.write(line));
  return pino(
    {
      level: options.level ?? "info",
      base: { service: options.service, ...options.base },
      // Named fields are dropped before the line is even written.
      redact: { paths: ["token", "interactionToken", "*.token", "*.interactionToken"], censor: REDACTED },
      serializers: { err: pino.stdSerializers.err },
    },
    { write: (line: string) => write(redactSecrets(line, secrets)) },
  );
}

/** The `(message, fields)` function the bot and worker code calls, logging at info (or error with an err field). */
export function logFunction(logger: Logger): Log {
  return (message, fields) => {
    if (fields?.err) logger.error(fields, message);
    else logger.info(fields ?? {}, message);
  };
}
