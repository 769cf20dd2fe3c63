// Records that must survive restarts: each output, and its votes as a set of members (a vote
// is (output, member), so a repeated click is a no-op, not a second vote).
import type { Redis } from "ioredis";

export interface OutputRecord {
  id: string;
  guildId: string | null;
  channelId: string;
  /** Empty until the result has been delivered. */
  messageId: string;
  authorId: string;
  prompt: string;
  temperature: number;
  maxTokens: number;
  seed: number;
  model: string;
  text: string;
  createdAt: number;
  /** The weirdness score: mean surprisal under the model at T = 1, nats per token. */
  surprisal?: number;
}

export class OutputStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(kind: string, id: string): string {
    return `${this.prefix}:${kind}:${id}`;
  }

  async save(output: OutputRecord): Promise<void> {
    await this.redis.set(this.key("output", output.id), JSON.stringify(output));
  }

  async get(id: string): Promise<OutputRecord | undefined> {
    const raw = await this.redis.get(this.key("output", id));
    return raw === null ? undefined : (JSON.parse(raw) as OutputRecord);
  }

  /** Adds the member's vote, or takes it back if it was there; returns the new count. */
  async toggleVote(outputId: string, memberId: string): Promise<{ voted: boolean; count: number }> {
    const key = this.key("votes", outputId);
    const added = await this.redis.sadd(key, memberId);
    if (added === 0) await this.redis.srem(key, memberId);
    return { voted: added === 1, count: await this.redis.scard(key) };
  }
}
