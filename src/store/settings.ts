// Per-server settings that admins manage with /weird-config. Precedence for a /weird request:
// the option the member typed > the server's setting > the operator's environment default.
// A server can only narrow the operator's limits, never widen them.

/** A server's effective settings: its own where set, else the operator's defaults. */
export interface ServerSettings {
  temperature: { default: number; min: number; max: number };
  maxTokens: { default: number; max: number };
  cooldownSeconds: number;
  /** Where /weird and its buttons work: everywhere unless channels are allowed or denied. */
  channels: { allowed: string[]; denied: string[] };
  /** threshold 0: off. removeBelow null: a hall post is never taken down. */
  hallOfFame: { channelId: string | null; threshold: number; removeBelow: number | null };
  /** Whether authors may vote for their own outputs. */
  selfVotes: boolean;
  /** The token policy for this server's jobs (carried by the job to the worker). */
  allowBytes: boolean;
}
