// The deadline estimate with numbers: how long the queue ahead takes at every worker's pace
// together, how long this job takes on one worker, and what is ahead, read from a real queue.
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { judgeWindow, queueSpeed, workAhead, type WindowEstimate } from "../../src/interactions/replyWindow.js";
import { SCORE_JOB, stopGeneratingBy } from "../../src/job.js";
import type { ModelView, WorkerEntry } from "../../src/store/models.js";
import { deleteKeys, REDIS_URL, testPrefix } from "../helpers/discordBot.js";

const worker = (tokensPerSecond: number | null, concurrency?: number): WorkerEntry => ({
  workerId: `w${tokensPerSecond}-${concurrency}`,
  id: "m",
  queue: "q",
  file: "m.gguf",
  sizeBytes: 1,
  type: "llama",
  vocabularySize: 512,
  contextSize: 512,
  tokensPerSecond,
  ...(concurrency !== undefined && { concurrency }),
  seenAt: 0,
  expiresAt: 0,
});
const model = (queue: string, live: WorkerEntry[]): ModelView => ({
  id: queue,
  queue,
  info: live[0]!,
  live,
  lastSeenAt: 0,
});

describe("queueSpeed", () => {
  it("runs this job at one worker's pace and drains the queue at all of theirs, each times its concurrency", () => {
    const models = [model("q", [worker(10, 2), worker(30), worker(null, 4)]), model("other", [worker(1000, 8)])];
    // One generation: the mean of the measured workers, (10 + 30) / 2; together 10 × 2 + 30 × 1.
    expect(queueSpeed(models, "q")).toEqual({ perJob: 20, throughput: 50 });
    expect(queueSpeed(models, "none")).toBeUndefined();
    expect(queueSpeed([model("q", [worker(null, 2)])], "q")).toBeUndefined();
  });
});

describe("judgeWindow", () => {
  const interactionAt = 1_000_000;
  const deadline = interactionAt + 870_000;
  const timeLeft = stopGeneratingBy(interactionAt, deadline) - interactionAt; // 860 s
  const estimate = (over: Partial<WindowEstimate>): WindowEstimate => ({
    ahead: { jobs: 0, tokens: 0 },
    ownTokens: 0,
    speed: { perJob: 10, throughput: 40 },
    interactionAt,
    deadline,
    now: interactionAt,
    ...over,
  });

  it("starts after the work ahead at the queue's throughput, and takes its own tokens at one worker's speed", () => {
    expect(timeLeft).toBe(860_000);
    // 40 tok/s together: 34 000 tokens ahead take 850 s; 100 own tokens at 10 tok/s take 10 s: 860 s, just in time.
    expect(judgeWindow(estimate({ ahead: { jobs: 3, tokens: 34_000 }, ownTokens: 100 }))).toEqual({ fits: true });
    // One token more of its own (10.1 s) is past the time it has: queued, with a warning.
    expect(judgeWindow(estimate({ ahead: { jobs: 3, tokens: 34_000 }, ownTokens: 101 }))).toHaveProperty("warning");
    // The sum of the workers' speeds would have said 101 own tokens take 2.5 s, and kept quiet.
    // 34 400 tokens ahead take 860 s: it could not start at all.
    const refused = judgeWindow(estimate({ ahead: { jobs: 3, tokens: 34_400 }, ownTokens: 1 }));
    expect(refused).toHaveProperty("refusal");
    expect((refused as { refusal: string }).refusal).toMatch(/would take about 14 minutes/);
  });

  it("without a measured speed, warns only when something is ahead", () => {
    expect(judgeWindow(estimate({ speed: undefined }))).toEqual({ fits: true });
    const warned = judgeWindow(estimate({ speed: undefined, ahead: { jobs: 2, tokens: 64 } }));
    expect((warned as { warning: string }).warning).toMatch(/2 requests are ahead of yours/);
  });
});

describe("workAhead", () => {
  let redis: Redis;
  let prefix: string;
  let queue: Queue;
  beforeEach(() => {
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    prefix = testPrefix();
    queue = new Queue("weird", { connection: redis, prefix });
  });
  afterEach(async () => {
    await queue.close();
    redis.disconnect();
    await deleteKeys(prefix);
  });

  it("reads the jobs ahead for their real size, counts score jobs as none, and skips jobs queued behind", async () => {
    await queue.add("weird", { maxTokens: 200 }, { priority: 1 });
    await queue.add("weird", { maxTokens: 50, sweep: [1, -1, -2] }, { priority: 2 });
    await queue.add(SCORE_JOB, { text: "how weird" }, { priority: 1 });
    await queue.add("weird", { maxTokens: 999 }, { priority: 5 }); // behind a priority-2 job
    // 200 + 50 × 3 + 0: the typical size (32) is not used for jobs that were read.
    expect(await workAhead(queue, 2, 100, 32)).toEqual({ jobs: 3, tokens: 350 });
    // Reading at most 1 (lowest number first): the other two count the typical 32 each.
    expect(await workAhead(queue, 2, 1, 32)).toEqual({ jobs: 3, tokens: 200 + 2 * 32 });
    expect(await workAhead(queue, 5, 100, 32)).toEqual({ jobs: 4, tokens: 1349 });
  });
});
