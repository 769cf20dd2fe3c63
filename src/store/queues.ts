// The bot's BullMQ queues: the shared one and one per model with a MODEL_ID, opened on first
// use and kept (a Queue is a few Redis commands' worth of state, not a connection).
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { QUEUE_NAME } from "./keys.js";

export class Queues {
  private readonly byName = new Map<string, Queue>();

  constructor(
    private readonly connection: Redis,
    private readonly prefix: string,
    private readonly onError: (error: Error) => void = () => undefined,
  ) {}

  /** The shared queue, which workers without a MODEL_ID serve. */
  get shared(): Queue {
    return this.get(QUEUE_NAME);
  }

  get(name: string): Queue {
    let queue = this.byName.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.connection, prefix: this.prefix });
      queue.on("error", this.onError);
      this.byName.set(name, queue);
    }
    return queue;
  }

  async close(): Promise<void> {
    await Promise.all([...this.byName.values()].map(queue => queue.close().catch(() => undefined)));
  }
}
