// The BullMQ worker: takes a job, generates it with the engine, streams the text into the
// reply at most about once a second, posts the final result with its buttons and records it.
import { DelayedError, Job, MetricsTime, UnrecoverableError, Worker } from "bullmq";
import type { REST } from "@discordjs/rest";
import type { Redis } from "ioredis";
import type { WorkerSettings } from "../config.js";
import { tokenPieces } from "../engine/detokenizer.js";
import type { Engine, GenerationResult } from "../engine/engine.js";
import { betaOf, InvalidRequestError } from "../engine/request.js";
import { renderSweepChart } from "../chart/sweepChart.js";
import { noticeMessage, progressMessage, safeInline, sweepMessage, type MessageBody } from "../discord/format.js";
import type { ResultLayout } from "../store/settings.js";
import { progressCard, resultBody } from "../discord/cards.js";
import {
  generationSeconds,
  observeWorker,
  signOf,
  timeToFirstEdit,
  tokensPerSecond,
} from "../observability/metrics.js";
import type { Throttle } from "../store/throttle.js";
import type { OutputRecord, OutputStore } from "../store/outputs.js";
import { comparisonPartOf, parseJob, readDelivery, SCORE_JOB, stopGeneratingBy, type WeirdJob } from "../job.js";
import { ModelRegistry } from "../store/models.js";
import { oncePerOutage } from "../store/redis.js";
import type { Log, LogFields } from "../observability/log.js";
import { isPermanentDiscordError } from "../discord/errors.js";
import { ReplyTarget, ReplyWindowClosed } from "./reply.js";
import { modelInfo, startHeartbeat, type Heartbeat } from "./registry.js";
import { processScoreJob } from "./score.js";
import { showPartDone, updatePart, type ComparisonDeps } from "./comparison.js";
import { ComparisonStore, partOutputId } from "../store/comparisons.js";
import type { ModelGate } from "./capacity.js";

export interface WorkerDeps {
  engine: Engine;
  rest: REST;
  connection: Redis;
  prefix: string;
  concurrency: number;
  settings: WorkerSettings;
  outputs: OutputStore;
  throttle: Throttle;
  /** Job lines carry the job and server ids as fields. */
  log?: Log;
  /** Where one process serves several models: how many of them generate at once (capacity.ts). */
  gate?: ModelGate;
}

/**
 * Runs a job's engine work when its model's turn comes (at once without a gate). Only the
 * engine waits: reading records, Discord edits and their back-off never hold up other models.
 */
export type TakeTurn = <T>(work: () => Promise<T>, stop: AbortSignal, firstTurn?: boolean) => Promise<T>;
const withoutGate: TakeTurn = work => work();

/** The ids every job line carries; read defensively, as a malformed payload may lack them. */
function jobFields(job: Job): LogFields {
  const guildId = (job.data as { guildId?: unknown } | undefined)?.guildId;
  return { jobId: job.id, guildId: typeof guildId === "string" ? guildId : null };
}

/** Edits the reply with the text so far, never more often than the interval, one edit at a time. */
class StreamingEdits {
  private text = "";
  private tokens = 0;
  private lastEdit = 0;
  private inFlight: Promise<unknown> | undefined;

  constructor(
    private readonly reply: ReplyTarget,
    private readonly job: WeirdJob,
    private readonly intervalMs: number,
    private readonly onEdit: (tokens: number) => void,
    private readonly onError: (error: unknown) => void,
  ) {}

  add(chunk: string, tokens: number): void {
    this.text += chunk;
    this.tokens = tokens;
    if (this.inFlight || Date.now() - this.lastEdit < this.intervalMs) return;
    this.lastEdit = Date.now();
    this.onEdit(this.tokens);
    const progress = layoutOf(this.job) === "cards" ? progressCard : progressMessage;
    this.inFlight = this.reply
      .show(progress(this.job, this.text, this.tokens))
      .catch(this.onError)
      .finally(() => {
        this.inFlight = undefined;
      });
  }

  /** Waits for the edit in flight, so it cannot land after the final message. */
  async settle(): Promise<void> {
    await this.inFlight;
  }
}

/** What the worker serves, for processJob: its model's id and where its speed goes. */
export type Serving = Pick<Heartbeat, "recordSpeed"> & { id: string; file: string; aliased: boolean };

async function generate(
  job: Job,
  request: WeirdJob,
  reply: ReplyTarget,
  deps: WorkerDeps,
  signals: JobSignals,
  serving: Serving | undefined,
): Promise<GenerationResult> {
  let edited = false;
  const edits = new StreamingEdits(
    reply,
    request,
    deps.settings.editIntervalMs,
    tokens => {
      if (!edited) timeToFirstEdit.observe((Date.now() - request.interactionAt) / 1000);
      edited = true;
      void job.updateProgress({ tokens, of: request.maxTokens }).catch(() => undefined);
    },
    error => deps.log?.(`job ${job.id}: streaming edit failed: ${(error as Error).message}`, jobFields(job)),
  );
  const promptLength = signals.deadline ? deps.engine.promptTokens(request.prompt).length : 0;
  try {
    const started = performance.now();
    const result = await deps.engine.generate(
      {
        prompt: request.prompt,
        temperature: request.temperature,
        ...(request.schedule && { schedule: request.schedule }),
        ...(request.vocab && { vocab: request.vocab }),
        maxTokens: request.maxTokens,
        seed: request.seed,
        ...(request.allowBytes !== undefined && { tokenPolicy: { allowBytes: request.allowBytes } }),
      },
      {
        signal: signals.stop,
        onText: (chunk, tokens) => {
          // A comparison's message is shared by several workers: it shows each part once done, not streaming.
          if (!request.compare) edits.add(chunk, tokens);
          const { deadline } = signals;
          if (
            deadline &&
            scoringWouldMiss(deadline.stopBy, promptLength + tokens, deps.engine.scoringTokensPerSecond, Date.now())
          )
            deadline.stopNow();
        },
      },
    );
    // Stopped by its deadline, the text so far is the result; stopped by shutdown, it is retried.
    if (result.stopReason === "aborted" && signals.shutdown.aborted)
      throw new Error("the worker is shutting down; the job will be retried");
    const labels = {
      sign: signOf(request.temperature),
      model: serving?.id ?? modelInfo(deps.engine, deps.settings.modelId).id,
    };
    generationSeconds.observe(labels, (performance.now() - started) / 1000);
    tokensPerSecond.observe(labels, result.tokensPerSecond);
    serving?.recordSpeed(result.tokensPerSecond);
    // Shown and kept under the model's id when it has one of its own (MODEL_ID).
    return serving?.aliased ? { ...result, model: serving.id } : result;
  } finally {
    await edits.settle();
  }
}

/**
 * What became of a job: its output, or the reason it was not generated (told to the member);
 * undelivered when its reply window closed first (the output is kept, for /weird-mine).
 */
export type JobResult = { outputId: string; refused?: string; undelivered?: boolean };

/** Why generation stops early: the worker shutting down, or (either, or) the job's deadline. */
interface JobSignals {
  shutdown: AbortSignal;
  stop: AbortSignal;
  /** For a job with a deadline: when generation must stop, and a way to stop it sooner. */
  deadline?: { stopBy: number; stopNow: () => void };
}

export const TOO_LATE_TO_START =
  "Sorry, this waited in the queue too long to arrive within the 15 minutes Discord gives me here (I'm not a member of this server or group chat, so I can only answer your command), so nothing was generated. Please try again, perhaps with fewer tokens.";

/** The shutdown signal, and for a job with a deadline one that also fires when it must stop generating. */
function jobSignals(request: WeirdJob, shutdown: AbortSignal): JobSignals {
  if (request.deadline === undefined) return { shutdown, stop: shutdown };
  const stopBy = stopGeneratingBy(request.interactionAt, request.deadline);
  const timeLeft = Math.max(0, Math.ceil(stopBy - Date.now()));
  const sooner = new AbortController();
  return {
    shutdown,
    stop: AbortSignal.any([shutdown, AbortSignal.timeout(timeLeft), sooner.signal]),
    deadline: {
      stopBy,
      stopNow: () => sooner.abort(new DOMException("scoring would miss the deadline", "TimeoutError")),
    },
  };
}

/**
 * Whether scoring what is generated so far (prompt and output, one evaluation at T = 1) would
 * run past the time generation must stop by, at the engine's measured scoring speed: the
 * margin before the deadline is for delivery, and a long context's scoring can outgrow it.
 */
export function scoringWouldMiss(
  stopBy: number,
  tokens: number,
  scoringTokensPerSecond: number | undefined,
  now: number,
): boolean {
  if (scoringTokensPerSecond === undefined || scoringTokensPerSecond <= 0) return false;
  return now + (tokens / scoringTokensPerSecond) * 1000 >= stopBy;
}

export async function processJob(
  job: Job,
  deps: WorkerDeps,
  signal: AbortSignal,
  serving?: Serving,
  takeTurn: TakeTurn = withoutGate,
): Promise<JobResult> {
  let request: WeirdJob;
  try {
    request = parseJob(job.data);
  } catch (error) {
    throw new UnrecoverableError((error as Error).message);
  }
  // The bot routes by model; two models left on the shared queue (no MODEL_ID) would mix.
  if (serving && request.model !== undefined && request.model !== serving.id)
    throw new UnrecoverableError(
      `this generation asked for ${request.model}, but reached a worker serving ${serving.id} (give each model its own MODEL_ID)`,
    );
  const outputId = job.id!;
  // A sweep's rows are outputs of their own: <job id>-0, -1, …
  const rowIds = request.sweep ? request.sweep.map((_, i) => `${outputId}-${i}`) : [outputId];
  const earlier = await deps.outputs.get(rowIds[0]!);
  if (earlier?.messageId) {
    // Posted before a crash: never post twice, but free the server's queue place.
    await deps.throttle.freePlace(outputId);
    return { outputId };
  }

  const reply = new ReplyTarget(deps.rest, request, `bz${outputId}`.slice(0, 25));
  // A comparison's part: its state goes into the comparison's one message (src/worker/comparison.ts).
  const comparison = request.compare && { part: request.compare, deps: comparisonDeps(deps) };
  // Generated before a crash or a lost answer from Discord, perhaps already shown: show it as
  // it was made (showing is idempotent; a comparison's part is marked done if it was not yet),
  // never generate it again or call it too late.
  const made = earlier && (await recordsOf(earlier, deps));
  if (made)
    return deliver(job, request, made, deps, async () =>
      comparison
        ? showPartDone(comparison.deps, comparison.part, request)
        : reply.show(
            request.sweep
              ? await sweepBody(request, made, deps)
              : resultBody(made[0]!, layoutOf(request), await deps.outputs.voteCount(outputId)),
          ),
    );
  // A job that can only answer through its token, started too late to: nothing to generate.
  // Told privately, as the bot's own refusal at enqueue is: the public "Queued" reply goes.
  const tooLate = async (): Promise<JobResult> => {
    await deps.throttle.freePlace(outputId);
    await reply.refusePrivately(noticeMessage(TOO_LATE_TO_START)).catch(error => tellFailed(error, job, deps));
    return { outputId, refused: "its deadline had passed before it could start" };
  };
  if (request.deadline !== undefined && Date.now() >= stopGeneratingBy(request.interactionAt, request.deadline))
    return tooLate();
  // A comparison's part shows "running" once its turn comes (until then it waits for its model's
  // turn), without holding the turn up. Only news: a failed edit (Discord down, the token or
  // access gone) or Redis must not stop the part from running.
  let shownRunning: Promise<void> | undefined;
  const showRunning = () => {
    if (!comparison || shownRunning) return;
    const notShown = (error: Error) => deps.log?.(`comparison not shown as running: ${error.message}`, jobFields(job));
    shownRunning = updatePart(comparison.deps, comparison.part, { state: "running" }, request, notShown).then(
      () => undefined,
      notShown,
    );
  };
  const signals = jobSignals(request, signal);
  const results: GenerationResult[] = [];
  try {
    for (const temperature of request.sweep ?? [request.temperature]) {
      // Past its deadline, a sweep shows the rows it has (the first always runs).
      if (results.length > 0 && signals.stop.aborted) break;
      try {
        // Each row takes its own turn, so a long sweep lets other models in between its rows; only
        // a job that has made nothing yet is handed back when shutdown begins.
        const row = { ...request, temperature };
        const start = () => {
          showRunning();
          return generate(job, row, reply, deps, signals, serving);
        };
        results.push(await takeTurn(start, signals.stop, results.length === 0));
      } catch (error) {
        // The deadline (not shutdown) fired while the row waited for its turn or a context: the
        // rows made are the result, and with none it is simply too late.
        if (!signals.stop.aborted || signals.shutdown.aborted) throw error;
        break;
      }
    }
  } catch (error) {
    await shownRunning; // settled before a later state is saved, so "running" never comes after it
    // The bot cannot tokenize (it has no model), so a prompt too long for this worker's
    // context is found only here: tell the member privately, never in the channel.
    if (!(error instanceof InvalidRequestError)) throw error;
    await deps.throttle.freePlace(outputId);
    // The state is saved even when its edit fails; the next edit shows it.
    if (comparison)
      await updatePart(
        comparison.deps,
        comparison.part,
        { state: "failed", reason: `can't be generated: ${error.message}` },
        request,
        showError => deps.log?.(`comparison not shown as failed: ${showError.message}`, jobFields(job)),
      );
    else
      await reply
        .refusePrivately(noticeMessage(`Sorry, that can't be generated: ${safeInline(error.message)}`))
        .catch(error => tellFailed(error, job, deps));
    return { outputId, refused: error.message };
  }
  await shownRunning;
  if (results.length === 0) return tooLate();
  // A retried job keeps its first creation time: that is where the output sits on the leaderboards.
  const records: OutputRecord[] = results.map((result, i) => ({
    id: rowIds[i]!,
    guildId: request.guildId,
    channelId: request.channelId,
    messageId: "",
    authorId: request.userId,
    prompt: request.prompt,
    temperature: result.temperature,
    maxTokens: request.maxTokens,
    seed: request.seed,
    model: result.model,
    ...(serving && { modelId: serving.id }),
    text: result.text,
    createdAt: earlier?.createdAt ?? Date.now(),
    // The weirdness score the leaderboards rank by (none for an empty output).
    ...(result.surprisal !== null && { surprisal: result.surprisal }),
    ...(request.sweep && { sweepRows: rowIds.slice(0, results.length) }),
    ...(request.compare && { compareRows: comparisonRows(request.compare) }),
    ...(result.schedule && { schedule: result.schedule }),
    ...(result.vocab !== "any" && { vocab: result.vocab }),
    ...(request.source && { source: request.source }),
    ...(result.surprisals.length === result.tokens.length && {
      tokenTexts: tokenPieces(deps.engine.model, deps.engine.promptTokens(request.prompt), result.tokens),
      tokenSurprisals: result.surprisals.map(s => Number(s.toFixed(3))),
    }),
    tokenCount: result.tokens.length,
    // The worker's own abort (shutdown) never gets here: a result stopped early met its deadline.
    stopReason: result.stopReason === "aborted" ? "deadline" : result.stopReason,
  }));
  const body = comparison
    ? undefined
    : request.sweep
      ? await sweepBody(request, records, deps)
      : resultBody(records[0]!, layoutOf(request), 0);
  // Recorded before they are shown, so the buttons work from the first click (and a retry
  // finds them); the message id is filled in once Discord has it, and marks them delivered.
  await Promise.all(records.map(record => deps.outputs.save(record)));
  return deliver(job, request, records, deps, () =>
    comparison ? showPartDone(comparison.deps, comparison.part, request) : reply.show(body!),
  );
}

/** Every row of an output saved before a retry, or undefined when a row is missing (killed mid-save). */
async function recordsOf(first: OutputRecord, deps: WorkerDeps): Promise<OutputRecord[] | undefined> {
  if (!first.sweepRows) return [first];
  const rows = await deps.outputs.getMany(first.sweepRows);
  return rows.every(row => row !== undefined) ? rows : undefined;
}

/**
 * Shows saved results and records the message they are in, which marks them delivered.
 * No message (the comparison expired) records none: a made-up id would become a broken link.
 */
async function deliver(
  job: Job,
  request: WeirdJob,
  records: OutputRecord[],
  deps: WorkerDeps,
  show: () => Promise<{ id: string } | undefined>,
): Promise<JobResult> {
  const outputId = job.id!;
  let message;
  try {
    message = await show();
  } catch (error) {
    if (error instanceof ReplyWindowClosed) {
      // Nowhere left to show it; the member finds it with /weird-mine.
      await deps.throttle.freePlace(outputId);
      deps.log?.(`job ${job.id}: its reply window closed before the result; kept for /weird-mine`, jobFields(job));
      return { outputId, undelivered: true };
    }
    if (isPermanentDiscordError(error))
      throw new UnrecoverableError(`Discord refused the result (${error.status} ${error.message})`);
    throw error;
  }
  if (message) await Promise.all(records.map(record => deps.outputs.save({ ...record, messageId: message.id })));
  await deps.throttle.freePlace(outputId);
  const tokens = records.reduce((n, record) => n + (record.tokenCount ?? record.tokenTexts?.length ?? 0), 0);
  await job.updateProgress({ tokens, of: request.maxTokens * records.length, done: true });
  return { outputId };
}

/** The job's layout: a card when the bot queued it as one (never a sweep, see cards.ts). */
function layoutOf(request: WeirdJob): ResultLayout {
  return request.layout === "cards" && !request.sweep ? "cards" : "plain";
}

/** The sweep's table and chart; without the chart if it cannot be drawn (the table says it all). */
async function sweepBody(request: WeirdJob, records: OutputRecord[], deps: WorkerDeps): Promise<MessageBody> {
  const points = records.map(record => ({
    temperature: record.temperature,
    beta: betaOf(record.temperature),
    surprisal: record.surprisal ?? null,
  }));
  const chart = await renderSweepChart(points, { title: "weirdness against β = 1/T" }).catch((error: Error) => {
    deps.log?.(`sweep chart not drawn: ${error.message}`);
    return undefined;
  });
  const votes = await Promise.all(records.map(record => deps.outputs.voteCount(record.id)));
  return sweepMessage({
    prompt: request.prompt,
    seed: request.seed,
    model: records[0]!.model,
    maxTokens: request.maxTokens,
    rows: records.map((record, i) => ({
      outputId: record.id,
      temperature: record.temperature,
      text: record.text,
      surprisal: record.surprisal ?? null,
      votes: votes[i]!,
    })),
    ...(chart && { chart }),
    // Stopped by its deadline: fewer rows than asked, or a last row stopped early.
    cutShort: records.length < (request.sweep?.length ?? 1) || records.some(r => r.stopReason === "deadline"),
  });
}

function comparisonDeps(deps: WorkerDeps): ComparisonDeps {
  return {
    comparisons: new ComparisonStore(deps.connection, deps.prefix),
    outputs: deps.outputs,
    rest: deps.rest,
  };
}

/** Every part's output id, in the order of the comparison's buttons. */
function comparisonRows(compare: { id: string; of: number }): string[] {
  return Array.from({ length: compare.of }, (_, i) => partOutputId(compare.id, i));
}

/**
 * Tells the member when a job has failed for good, and frees its place in the queue. Works
 * from whatever can be read of the payload: a malformed job must not leave anyone hanging.
 */
async function onFinalFailure(job: Job, error: Error, deps: WorkerDeps): Promise<void> {
  deps.log?.(`job ${job.id} failed: ${error.message}`, jobFields(job));
  await deps.throttle
    .freePlace(job.id!)
    .catch((freeError: Error) =>
      deps.log?.(`job ${job.id}: could not free its queue place: ${freeError.message}`, jobFields(job)),
    );
  try {
    // A comparison's part fails within the comparison's message; the other parts stand.
    const part = comparisonPartOf((job.data as { compare?: unknown } | undefined)?.compare);
    const delivery = readDelivery(job.data);
    if (part)
      await updatePart(comparisonDeps(deps), part, { state: "failed", reason: `failed: ${error.message}` }, delivery);
    else
      await new ReplyTarget(deps.rest, delivery, `bzf${job.id}`.slice(0, 25)).show(
        noticeMessage(`Sorry, this generation failed: ${safeInline(error.message)}`, delivery.layout),
      );
  } catch (notifyError) {
    tellFailed(notifyError, job, deps);
  }
}

function tellFailed(error: unknown, job: Job, deps: WorkerDeps): void {
  deps.log?.(`job ${job.id}: could not tell the member: ${(error as Error).message}`, jobFields(job));
}

/** Why a job waiting for its model's turn stopped waiting: the worker is shutting down. */
class WorkerStopping extends Error {
  constructor() {
    super("the worker is shutting down; the job will be retried");
    this.name = "WorkerStopping";
  }
}

export function createWorker(deps: WorkerDeps): {
  worker: Worker;
  shutdown: () => Promise<void>;
  heartbeat: Heartbeat;
} {
  const abort = new AbortController();
  // Says what this worker serves, every few seconds, so the bot can route to it.
  const sayBeatError = oncePerOutage(deps.connection, message => deps.log?.(message));
  const heartbeat = startHeartbeat(
    new ModelRegistry(deps.connection, deps.prefix),
    deps.engine,
    deps.settings.modelId,
    deps.concurrency,
    error => sayBeatError(`model registry: ${error.message}`),
  );
  void heartbeat.beat().catch((error: Error) => sayBeatError(`model registry: ${error.message}`));
  // Shutdown withdraws the jobs still waiting for their model's turn at once: they have started
  // nothing, and another process may serve them while this one finishes what it runs.
  const withdraw = new AbortController();
  const { gate } = deps;
  const takeTurn: TakeTurn = gate
    ? (work, stop, firstTurn = true) => {
        if (gate.wouldWait(serving.id))
          deps.log?.(`a job of ${serving.id} waits for its turn (running: ${gate.state.running.join(", ")})`);
        return gate.run(serving.id, work, firstTurn ? AbortSignal.any([stop, withdraw.signal]) : stop);
      }
    : withoutGate;
  const serving: Serving = {
    id: heartbeat.info.id,
    file: heartbeat.info.file,
    aliased: deps.settings.modelId !== undefined,
    recordSpeed: tps => heartbeat.recordSpeed(tps),
  };
  const worker = new Worker(
    heartbeat.queue,
    async (job: Job, token?: string) => {
      try {
        if (job.name === SCORE_JOB) {
          await processScoreJob(job, deps.engine, deps.rest, work => takeTurn(work, abort.signal));
          await deps.throttle.freePlace(job.id!);
          return { outputId: job.id! };
        }
        return await processJob(job, deps, abort.signal, serving, takeTurn);
      } catch (error) {
        // Cut short by shutdown, or still waiting for its turn when shutdown began: hand the job
        // back without using up one of its attempts.
        if (!(abort.signal.aborted || error instanceof WorkerStopping) || !token) throw error;
        await job.moveToDelayed(Date.now(), token);
        throw new DelayedError();
      }
    },
    {
      connection: deps.connection,
      prefix: deps.prefix,
      concurrency: deps.concurrency,
      lockDuration: deps.settings.lockDurationMs,
      stalledInterval: deps.settings.stalledIntervalMs,
      maxStalledCount: 2,
      // BullMQ's own per-minute completed/failed counts, exported with the queue's metrics.
      metrics: { maxDataPoints: MetricsTime.ONE_WEEK },
    },
  );
  observeWorker(worker, serving.id);
  worker.on("completed", (job, outcome: JobResult) =>
    deps.log?.(
      `job ${job.id} ${outcome.refused ? "refused" : outcome.undelivered ? "completed, undelivered" : "completed"}`,
      jobFields(job),
    ),
  );
  worker.on("failed", (job, error) => {
    if (!job) return;
    const final = error instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    if (final) void onFinalFailure(job, error, deps);
    else deps.log?.(`job ${job.id} attempt ${job.attemptsMade} failed, will retry: ${error.message}`, jobFields(job));
  });
  // A job that stalled too often is failed inside BullMQ's stalled check, which emits
  // "stalled" but not "failed": look it up, so its user is told too.
  worker.on(
    "stalled",
    jobId =>
      void Job.fromId(worker, jobId)
        .then(async job => {
          if (job && (await job.getState()) === "failed")
            await onFinalFailure(job, new Error(job.failedReason || "the job stalled too often"), deps);
        })
        .catch(error => deps.log?.(`job ${jobId}: ${(error as Error).message}`, { jobId })),
  );
  const sayError = oncePerOutage(deps.connection, message => deps.log?.(message));
  worker.on("error", error => sayError(`worker: ${error.message}`));

  const shutdown = async () => {
    // Let running generations finish for up to 30 s, then abort them; their jobs are retried.
    await heartbeat.stop(); // no new jobs are routed here from now on
    const closing = worker.close();
    // Only once it fetches no more: a job handed back now is not taken again by this worker.
    withdraw.abort(new WorkerStopping());
    await Promise.race([closing, new Promise(resolve => setTimeout(resolve, 30_000).unref())]);
    abort.abort();
    await closing;
  };
  return { worker, shutdown, heartbeat };
}
