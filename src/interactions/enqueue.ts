// The one way a generation enters the queue, shared by /weird, reroll and flip: cooldown and
// caps first (answered privately), then a public deferred reply, the job, and the position.
// Before it, the server's settings: where generations are allowed, and the range.
import { randomUUID } from "node:crypto";
import {
  MessageFlags,
  PermissionFlagsBits,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type MessageContextMenuCommandInteraction,
  type SlashCommandStringOption,
} from "discord.js";
import { InvalidRequestError, type RequestLimits } from "../engine/request.js";
import { namedTemperatures } from "../engine/schedule.js";
import { NO_MENTIONS, noticeMessage, requestHeading } from "../discord/format.js";
import type { WeirdJob, WeirdRequest } from "../job.js";
import { refusals, type RefusalReason } from "../observability/metrics.js";
import { channelAllowed, type ServerSettings } from "../store/settings.js";
import { answerPrivately, answersOnlyThroughInteraction, QUEUE_UNAVAILABLE, type BotContext } from "./context.js";
import { judgeWindow, queueSpeed, workAhead } from "./replyWindow.js";
import { withRedis } from "../store/redis.js";
import { routeRequest, type ModelView, type Route } from "../store/models.js";
import type { Queue } from "bullmq";
import { settingsFor } from "../game/context.js";
import { channelsText } from "../discord/settingsMessages.js";

/** Every interaction that can queue a generation: a command (slash or message) or a result's button. */
export type GeneratingInteraction =
  ChatInputCommandInteraction | MessageContextMenuCommandInteraction | ButtonInteraction;

export const JOB_OPTIONS = {
  attempts: 3,
  backoff: { type: "exponential", delay: 2000 },
  removeOnComplete: { age: 24 * 3600, count: 1000 },
  removeOnFail: { age: 7 * 24 * 3600 },
} as const;

/** BullMQ's lowest priority number; every job gets one, since jobs without a priority would all go first. */
const MAX_PRIORITY = 2 ** 21;

/**
 * Takes the member's cooldown and a place in the queue. Returns a refusal to show, or the
 * job's priority: its server's count of queued and running jobs, this one included. BullMQ
 * runs lower numbers first and keeps arrival order within one, so servers take turns: a
 * server's first job goes before any server's second.
 */
async function admit(
  ctx: BotContext,
  userId: string,
  guildId: string | null,
  jobId: string,
  cooldownSeconds: number,
): Promise<{ refusal: string } | { priority: number }> {
  const wait = await startCooldown(ctx, userId, guildId, jobId, cooldownSeconds);
  if (wait) return wait;
  const place = await claimQueuePlace(ctx, userId, guildId, jobId);
  // Refused by a cap: they may try again as soon as there is room.
  if ("refusal" in place) await ctx.throttle.clearCooldown(guildId, userId, jobId);
  return place;
}

/** Starts the member's cooldown for request `requestId`; a refusal to show when one is running. */
export async function startCooldown(
  ctx: BotContext,
  userId: string,
  guildId: string | null,
  requestId: string,
  cooldownSeconds: number,
): Promise<{ refusal: string } | undefined> {
  const wait = await ctx.throttle.startCooldown(guildId, userId, requestId, cooldownSeconds * 1000);
  return wait > 0 ? refuse("cooldown", `Easy there: you can ask again in ${Math.ceil(wait / 1000)} s.`) : undefined;
}

/** Takes a place in the queue for one job: its priority, or a refusal to show when a cap is reached. */
export async function claimQueuePlace(
  ctx: BotContext,
  userId: string,
  guildId: string | null,
  jobId: string,
): Promise<{ refusal: string } | { priority: number }> {
  const place = await claimQueuePlaces(ctx, userId, guildId, [jobId]);
  return "refusal" in place ? place : { priority: place.priorities[0]! };
}

/** Takes a place for every job, or none: their priorities, or a refusal to show when they would not all fit. */
export async function claimQueuePlaces(
  ctx: BotContext,
  userId: string,
  guildId: string | null,
  jobIds: string[],
): Promise<{ refusal: string } | { priorities: number[] }> {
  const { queue: settings } = ctx.config;
  const place = await ctx.throttle.claimPlaces(guildId, userId, jobIds, settings);
  if (place.ok) return { priorities: jobIds.map((_, i) => Math.min(place.count + i, MAX_PRIORITY)) };
  return place.full === "everything"
    ? refuse(
        "queue_full",
        `The queue is full (${place.count} generations waiting or running). Please try again in a minute.`,
      )
    : refuse(
        "server_queue_full",
        `This server's queue is full (${place.count} of ${settings.maxPerGuild} generations waiting or running). Please try again in a minute.`,
      );
}

/** Undoes an admission whose job will never run: the queue place, and the cooldown it started. */
export async function giveBack(ctx: BotContext, guildId: string | null, userId: string, jobId: string): Promise<void> {
  await ctx.throttle.freePlace(jobId).catch(() => undefined);
  await ctx.throttle.clearCooldown(guildId, userId, jobId).catch(() => undefined);
}

function refuse(reason: RefusalReason, refusal: string): { refusal: string } {
  refusals.inc({ reason });
  return { refusal };
}

/** Jobs that will start before one of this priority: those waiting at the same or a lower number. */
async function placeInQueue(queue: Queue, priority: number): Promise<number> {
  const counts = await queue.getCountsPerPriority(Array.from({ length: priority }, (_, i) => i + 1));
  return Object.values(counts).reduce((sum, count) => sum + count, 0) + 1;
}

/** Why generations are not allowed in the interaction's channel (a thread counts as its parent), or undefined. */
export function outsideServerChannels(
  interaction: GeneratingInteraction,
  settings: ServerSettings,
): string | undefined {
  const { channel } = interaction;
  const parentId = channel?.isThread() ? channel.parentId : null;
  // A thread whose parent is unknown could sit under a denied channel: with a channel list in
  // force, not knowing the channel means no.
  const unknown = interaction.inGuild() && channel === null;
  const listed = settings.channels.allowed.length > 0 || settings.channels.denied.length > 0;
  // A channel on the allow list is a channel, never a thread: no parent to worry about.
  if (unknown && listed && !settings.channels.allowed.includes(interaction.channelId)) {
    refusals.inc({ reason: "channel_not_allowed" });
    return `I can't tell which channel this is, so I can't check it against this server's list: /weird works ${channelsText(settings.channels)}. Please try it in another channel.`;
  }
  if (channelAllowed(settings.channels, interaction.channelId, parentId)) return undefined;
  refusals.inc({ reason: "channel_not_allowed" });
  return `/weird and its buttons don't work in this channel. On this server they work ${channelsText(settings.channels)}.`;
}

/** Why this server's range does not allow the request, or undefined when it does. */
export function outsideServerRange(request: WeirdRequest, settings: ServerSettings): string | undefined {
  const { min, max } = settings.temperature;
  let why: string | undefined;
  // A schedule's ends (or its two values) must be allowed; between an anneal's ends it is hotter.
  const outside = (request.schedule ? namedTemperatures(request.schedule) : [request.temperature]).find(
    t => t < min || t > max,
  );
  if (outside !== undefined) why = `This server allows T from ${min} to ${max}; T = ${outside} is outside it.`;
  else if (request.maxTokens > settings.maxTokens.max)
    why = `This server allows at most ${settings.maxTokens.max} tokens; ${request.maxTokens} is more.`;
  if (why) refusals.inc({ reason: "outside_server_range" });
  return why;
}

/**
 * The checks every generating command makes first: the member may post here (checked in the
 * handler too: a channel may allow commands but not messages), the server's settings can be
 * read, and they allow this channel. Returns the settings, or undefined once the member has
 * been told privately why not.
 */
export async function settingsWhereAllowed(
  interaction: GeneratingInteraction,
  ctx: BotContext,
): Promise<ServerSettings | undefined> {
  // In a thread, posting takes Send Messages in Threads; Send Messages is the parent's.
  const posting = interaction.channel?.isThread()
    ? PermissionFlagsBits.SendMessagesInThreads
    : PermissionFlagsBits.SendMessages;
  if (interaction.inGuild() && !interaction.memberPermissions?.has(posting)) {
    await answerPrivately(
      interaction,
      interaction.isChatInputCommand()
        ? `You can't post messages in this channel, so /${interaction.commandName} can't either.`
        : interaction.isCommand()
          ? `You can't post messages in this channel, so “${interaction.commandName}” can't either.`
          : "You can't post messages in this channel, so this button can't either.",
    );
    refusals.inc({ reason: "no_send_permission" });
    return undefined;
  }
  let settings;
  try {
    settings = await settingsFor(ctx, interaction.guildId);
  } catch (error) {
    ctx.log(`redis unavailable at command time: ${(error as Error).message}`);
    await answerPrivately(interaction, QUEUE_UNAVAILABLE);
    refusals.inc({ reason: "redis_unavailable" });
    return undefined;
  }
  const elsewhere = outsideServerChannels(interaction, settings);
  if (elsewhere) {
    await answerPrivately(interaction, elsewhere);
    return undefined;
  }
  return settings;
}

/** Discord caps string options at 6000 characters. */
const DISCORD_MAX_OPTION_LENGTH = 6000;

/** The prompt option every generating command takes. */
export function promptOption(option: SlashCommandStringOption, limits: RequestLimits): SlashCommandStringOption {
  return option
    .setName("prompt")
    .setDescription("The text to continue")
    .setRequired(true)
    .setMaxLength(Math.min(limits.maxPromptCharacters, DISCORD_MAX_OPTION_LENGTH));
}

/**
 * For a slash command: the request read from its options (an invalid option throws
 * InvalidRequestError), checked against the server's range, then queued. Every problem is
 * answered privately.
 */
export async function enqueueFromOptions(
  ctx: BotContext,
  interaction: ChatInputCommandInteraction | MessageContextMenuCommandInteraction,
  settings: ServerSettings,
  readRequest: () => WeirdRequest,
): Promise<void> {
  let request: WeirdRequest;
  try {
    request = readRequest();
  } catch (error) {
    if (!(error instanceof InvalidRequestError)) throw error;
    return answerPrivately(interaction, error.message);
  }
  const outside = outsideServerRange(request, settings);
  if (outside) return answerPrivately(interaction, outside);
  await enqueueGeneration(ctx, interaction, request, settings);
}

export async function enqueueGeneration(
  ctx: BotContext,
  interaction: GeneratingInteraction,
  request: WeirdRequest,
  /** The settings in effect where the interaction happened. */
  settings: ServerSettings,
): Promise<void> {
  const userId = interaction.user.id;
  const guildId = interaction.guildId;
  // Which model's queue: told privately before anything is taken when the model has no worker.
  let route: Route;
  let models: ModelView[];
  try {
    models = await withRedis(ctx, () => ctx.models.models());
    route = routeRequest(models, request.model, settings.model);
  } catch (error) {
    ctx.log(`redis unavailable at command time: ${(error as Error).message}`, { guildId });
    refusals.inc({ reason: "redis_unavailable" });
    return answerPrivately(interaction, QUEUE_UNAVAILABLE);
  }
  if ("refusal" in route) {
    refusals.inc({ reason: "model_unavailable" });
    return answerPrivately(interaction, route.refusal);
  }
  const queue = ctx.queues.get(route.queue);
  const jobId = randomUUID();
  let admission: { refusal: string } | { priority: number };
  let admitting: Promise<typeof admission> | undefined;
  try {
    admission = await withRedis(ctx, () => (admitting = admit(ctx, userId, guildId, jobId, settings.cooldownSeconds)));
  } catch (error) {
    // Past the deadline Redis may still take the cooldown and the place: the member is told
    // nothing was queued, so whatever it takes later is given back.
    void admitting?.then(
      async late => {
        if (!("priority" in late)) return;
        await giveBack(ctx, guildId, userId, jobId);
        ctx.log("gave back a queue place Redis took after the deadline", { jobId, guildId });
      },
      () => giveBack(ctx, guildId, userId, jobId),
    );
    ctx.log(`redis unavailable at command time: ${(error as Error).message}`, { guildId });
    refusals.inc({ reason: "redis_unavailable" });
    return answerPrivately(interaction, QUEUE_UNAVAILABLE);
  }
  if ("refusal" in admission) return answerPrivately(interaction, admission.refusal);
  const { priority } = admission;
  // Where only the interaction can answer, the result must arrive in its window, or not be queued.
  const deadline = answersOnlyThroughInteraction(interaction)
    ? interaction.createdTimestamp + ctx.config.queue.replyWindowMs
    : undefined;
  let windowWarning: string | undefined;
  if (deadline !== undefined) {
    const verdict = await withRedis(ctx, () =>
      workAhead(queue, priority, ctx.config.queue.maxTotal, ctx.config.defaults.maxTokens),
    ).then(
      ahead =>
        judgeWindow({
          ahead,
          ownTokens: request.maxTokens * (request.sweep?.length ?? 1),
          speed: queueSpeed(models, route.queue),
          interactionAt: interaction.createdTimestamp,
          deadline,
          now: Date.now(),
        }),
      () => ({ fits: true }) as const, // Redis will be asked again below, and answer for itself
    );
    if ("refusal" in verdict) {
      refusals.inc({ reason: "reply_window" });
      await giveBack(ctx, guildId, userId, jobId);
      return answerPrivately(interaction, verdict.refusal);
    }
    if ("warning" in verdict) windowWarning = verdict.warning;
  }

  try {
    await interaction.deferReply();
  } catch (error) {
    // Discord refused the acknowledgement (too late, or down): no job will come, so give back
    // what was taken instead of holding a queue place for an hour.
    await giveBack(ctx, guildId, userId, jobId);
    throw error;
  }
  const job: WeirdJob = {
    applicationId: interaction.applicationId,
    interactionToken: interaction.token,
    interactionAt: interaction.createdTimestamp,
    guildId,
    channelId: interaction.channelId,
    userId,
    ...request,
    ...(route.model !== undefined && { model: route.model }),
    ...(deadline !== undefined && { deadline }),
    // A sweep is always plain (cards.ts says why).
    ...(settings.layout === "cards" && !request.sweep && { layout: "cards" as const }),
    allowBytes: settings.allowBytes,
  };
  // On a card from its first words: the deferred reply becomes a card at once, as Discord
  // documents, rather than a message with content later (which a card may not have).
  const say = (text: string) =>
    job.layout === "cards"
      ? { components: noticeMessage(text, "cards").components, flags: MessageFlags.IsComponentsV2 as const }
      : { content: text };
  // The reply says "queued" before the job exists: a fast worker's result must not be
  // overwritten by a late "queued" edit. If Discord fails here, the worker's edits still come.
  const position = await withRedis(ctx, () => placeInQueue(queue, priority)).catch(() => 1);
  const place = position === 1 ? "next in the queue" : `#${position} in the queue`;
  await interaction
    .editReply({
      ...say(
        request.sweep
          ? `Queued a sweep over T = ${request.sweep.join(", ")} (seed ${request.seed}): ${place}.`
          : `Queued at ${requestHeading(request)} (seed ${request.seed}): ${place}.`,
      ),
      allowedMentions: NO_MENTIONS,
    })
    .catch((error: Error) => ctx.log(`could not show the queue position: ${error.message}`, { jobId, guildId }));
  try {
    await queue.add("weird", job, { ...JOB_OPTIONS, jobId, priority });
  } catch (error) {
    // A timeout can come after Redis took the job: only undo what really did not happen.
    if (await queue.getJob(jobId).catch(() => undefined)) return;
    ctx.log(`enqueue failed: ${(error as Error).message}`, { jobId, guildId });
    await giveBack(ctx, guildId, userId, jobId);
    await interaction.editReply({ ...say(QUEUE_UNAVAILABLE), allowedMentions: NO_MENTIONS });
    return;
  }
  if (windowWarning)
    await interaction
      .followUp({ content: windowWarning, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS })
      .catch((error: Error) => ctx.log(`could not warn of the reply window: ${error.message}`, { jobId, guildId }));
}
