// The community game through real discord.js interactions, real Redis and the fake Discord:
// vote counts that end right on the button, self-votes, restarts, the hall of fame (two bot
// processes, a crash between post and record, missing channels), and the leaderboards.
import {
  ApplicationCommandOptionType,
  InteractionContextType,
  InteractionResponseType,
  MessageFlags,
  PermissionFlagsBits,
} from "discord.js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { recoverHallOfFame } from "../../src/interactions/hallOfFame.js";
import { VOTES_UNAVAILABLE } from "../../src/game/votes.js";
import { definition as weirdConfigDefinition } from "../../src/commands/weirdConfig.js";
import { resultButtons } from "../../src/discord/format.js";
import type { ServerSettings } from "../../src/store/settings.js";
import type { OutputRecord } from "../../src/store/outputs.js";
import { FakeDiscord, type RecordedRequest } from "../helpers/fakeDiscord.js";
import {
  botConfig,
  buttonPress,
  CHANNEL_ID,
  deleteKeys,
  GUILD_ID,
  pauseRedisWrites,
  slashCommand,
  slashSubcommand,
  startBot,
  testPrefix,
  type CommandOption,
  type TestBot,
} from "../helpers/discordBot.js";
import { RedisKeys } from "../../src/store/keys.js";

const HALL = "900000000000000004";
const AUTHOR = "800000000000000001";
const voter = (i: number) => String(810000000000000000n + BigInt(i));

let discord: FakeDiscord;
let prefix: string;
let bots: TestBot[];

beforeEach(async () => {
  discord = await new FakeDiscord().start();
  prefix = testPrefix();
  bots = [];
});
afterEach(async () => {
  for (const bot of bots) {
    await bot.ctx.refreshes.settled();
    await bot.close();
  }
  await discord.stop();
  await deleteKeys(prefix);
});

const ADMIN = "800000000000000099";

/** A bot process; the server's settings are set through the real settings store, as /weird-config does. */
async function bot(settings: { selfVotes?: boolean; hallOfFame?: ServerSettings["hallOfFame"] } = {}) {
  const started = await startBot(botConfig(discord.url, prefix));
  bots.push(started);
  if (settings.selfVotes !== undefined)
    await started.ctx.settings.set(GUILD_ID, ADMIN, { setting: "votes", value: settings.selfVotes });
  if (settings.hallOfFame)
    await started.ctx.settings.set(GUILD_ID, ADMIN, { setting: "hall-of-fame", value: settings.hallOfFame });
  return started;
}

const hall = (threshold: number, removeBelow: number | null = null, channelId: string | null = HALL) => ({
  hallOfFame: { channelId, threshold, removeBelow },
});

let serial = 0;
/** A delivered result: its message in the channel (with buttons) and its record. */
async function result(on: TestBot, fields: Partial<OutputRecord> = {}): Promise<OutputRecord> {
  const id = `out-${++serial}-${prefix.slice(8, 14)}`;
  const message = discord.seedMessage(CHANNEL_ID, {
    content: "result",
    components: [resultButtons(id, 0, -0.001)],
  });
  const record: OutputRecord = {
    id,
    guildId: GUILD_ID,
    channelId: CHANNEL_ID,
    messageId: message.id,
    authorId: AUTHOR,
    prompt: "Once upon a time @everyone",
    temperature: -0.001,
    maxTokens: 8,
    seed: 1,
    model: "stories260K.gguf",
    text: "|||| <@123456789012345678> **loud** `tick",
    createdAt: Date.now(),
    surprisal: 28.6,
    ...fields,
  };
  await on.ctx.outputs.save(record);
  return record;
}

function press(on: TestBot, output: OutputRecord, userId: string, extra: { bot?: boolean } = {}) {
  const raw = buttonPress(`vote:${output.id}`, { userId, messageId: output.messageId, ...extra });
  discord.bindToken(raw.token, output.messageId);
  on.inject(raw);
  return raw;
}

const label = (messageId: string) =>
  (discord.messageById(messageId)?.components as Array<{ components: Array<{ label: string }> }>)[0]!.components[0]!
    .label;
const callbackOf = (raw: { id: string; token: string }) =>
  new RegExp(`^/interactions/${raw.id}/${raw.token}/callback$`);
const answerTo = (raw: { id: string; token: string }) => discord.waitFor(r => callbackOf(raw).test(r.path));
const contentOf = (request: RecordedRequest) => (request.body!.data as { content?: string }).content;
const hallPosts = () => discord.find("POST", new RegExp(`^/channels/${HALL}/messages$`));

function expectNoPings(): void {
  for (const request of discord.requests) {
    const body = (request.body?.data as Record<string, unknown> | undefined) ?? request.body;
    if (body && ("content" in body || "embeds" in body)) expect(body.allowed_mentions).toEqual({ parse: [] });
  }
}

describe("votes", () => {
  it("50 members voting at once: the exact count in Redis and, once settled, on the button; toggling back too", async () => {
    const one = await bot();
    const output = await result(one);
    discord.jitterMs = 40; // responses land in any order, as on Discord
    for (let i = 0; i < 50; i++) press(one, output, voter(i));
    await one.ctx.refreshes.settled();
    expect(await one.ctx.outputs.voteCount(output.id)).toBe(50);
    expect(label(output.messageId)).toBe("Weird! · 50");

    for (let i = 0; i < 20; i++) press(one, output, voter(i));
    await one.ctx.refreshes.settled();
    expect(await one.ctx.outputs.voteCount(output.id)).toBe(30);
    expect(label(output.messageId)).toBe("Weird! · 30");
    expectNoPings();
  });

  it("a click told 'unavailable' that counted after all: the member's retry does not undo it", async () => {
    const one = await bot();
    const output = await result(one);
    press(one, output, voter(2));
    await one.ctx.refreshes.settled(); // Redis knows the vote script now
    const { ended: pauseOver } = await pauseRedisWrites(3000); // the next vote's command times out in the bot, then runs
    expect(contentOf(await answerTo(press(one, output, voter(1))))).toBe(VOTES_UNAVAILABLE);
    await pauseOver;
    expect(await one.ctx.outputs.voteCount(output.id)).toBe(2); // it did count

    const retry = press(one, output, voter(1));
    expect((await answerTo(retry)).body?.type).toBe(InteractionResponseType.UpdateMessage);
    await one.ctx.refreshes.settled();
    expect(await one.ctx.outputs.voteCount(output.id)).toBe(2);
    expect(label(output.messageId)).toBe("Weird! · 2");
    // From then on a click toggles again.
    press(one, output, voter(1));
    await one.ctx.refreshes.settled();
    expect(await one.ctx.outputs.voteCount(output.id)).toBe(1);

    // The same for taking a vote back: the retry keeps it taken back.
    const { ended: secondPause } = await pauseRedisWrites(3000);
    expect(contentOf(await answerTo(press(one, output, voter(2))))).toBe(VOTES_UNAVAILABLE);
    await secondPause;
    await expect.poll(() => one.ctx.outputs.voteCount(output.id)).toBe(0);
    press(one, output, voter(2));
    await one.ctx.refreshes.settled();
    expect(await one.ctx.outputs.voteCount(output.id)).toBe(0);
    expect(label(output.messageId)).toBe("Weird! · 0");
  });

  it("a lone vote is shown by its own answer, with no follow-up edit", async () => {
    const one = await bot();
    const output = await result(one);
    const raw = press(one, output, voter(1));
    await one.ctx.refreshes.settled();
    expect(label(output.messageId)).toBe("Weird! · 1");
    expect(discord.find("PATCH", new RegExp(`/${raw.token}/messages/@original$`))).toEqual([]);
  });

  it("self-votes follow the server setting, and the author is told privately", async () => {
    const strict = await bot({ selfVotes: false });
    const output = await result(strict);
    const refused = press(strict, output, AUTHOR);
    const answer = await answerTo(refused);
    expect(answer.body).toMatchObject({
      type: InteractionResponseType.ChannelMessageWithSource,
      data: { content: "In this server you can't vote for your own outputs.", flags: MessageFlags.Ephemeral },
    });
    expect(await strict.ctx.outputs.voteCount(output.id)).toBe(0);

    const lenient = await bot({ selfVotes: true });
    press(lenient, output, AUTHOR);
    await lenient.ctx.refreshes.settled();
    expect(await lenient.ctx.outputs.voteCount(output.id)).toBe(1);
    expect(label(output.messageId)).toBe("Weird! · 1");
  });

  it("bots cannot vote, and an output no longer on record gets a private answer", async () => {
    const one = await bot();
    const output = await result(one);
    const fromBot = press(one, output, voter(1), { bot: true });
    expect((await answerTo(fromBot)).body).toMatchObject({
      data: { content: "Bots can't vote.", flags: MessageFlags.Ephemeral },
    });
    await one.redis.del(new RedisKeys(prefix).output(output.id)); // as after the retention
    const late = press(one, output, voter(2));
    expect((await answerTo(late)).body).toMatchObject({
      data: { content: "That output is no longer on record.", flags: MessageFlags.Ephemeral },
    });
    expect(await one.ctx.outputs.voteCount(output.id)).toBe(0);
  });

  it("votes survive a bot restart: a vote after it counts on top of the earlier ones", async () => {
    const first = await bot();
    const output = await result(first);
    press(first, output, voter(1));
    await first.ctx.refreshes.settled();
    await first.close();
    bots = bots.filter(b => b !== first);

    const second = await bot();
    press(second, output, voter(2));
    await second.ctx.refreshes.settled();
    expect(label(output.messageId)).toBe("Weird! · 2");
  });

  it("a vote on a message deleted meanwhile is still counted, and the bot keeps serving", async () => {
    const one = await bot();
    const output = await result(one);
    discord.deleteMessage(output.messageId);
    press(one, output, voter(1));
    await one.ctx.refreshes.settled();
    expect(await one.ctx.outputs.voteCount(output.id)).toBe(1);
    const board = slashCommand("weirdest", { userId: voter(3) });
    one.inject(board);
    const answer = await answerTo(board);
    expect(JSON.stringify(answer.body)).toContain("1 vote ·");
  });
});

describe("hall of fame", () => {
  it("is posted exactly once when the deciding votes arrive at once on two bot processes", async () => {
    const a = await bot(hall(3));
    const b = await bot(hall(3));
    const output = await result(a);
    press(a, output, voter(1));
    press(a, output, voter(2));
    await a.ctx.refreshes.settled();
    expect(hallPosts()).toHaveLength(0);

    press(a, output, voter(3));
    press(b, output, voter(4));
    await Promise.all([a.ctx.refreshes.settled(), b.ctx.refreshes.settled()]);
    expect(hallPosts()).toHaveLength(1);
    const [post] = hallPosts();
    expect(post!.body).toMatchObject({ enforce_nonce: true, allowed_mentions: { parse: [] } });
    const [message] = discord.messagesIn(HALL);
    expect(message!.content).toMatch(
      /^🏆 \*\*4 votes\*\* · \*\*T = -0\.001 · β = -1000\*\* · weirdness 28\.60 · by <@800000000000000001>/,
    );
    expect(message!.content).toContain(
      `[original](https://discord.com/channels/${GUILD_ID}/${CHANNEL_ID}/${output.messageId})`,
    );
    expect(message!.content).toContain("> Once upon a time \\@everyone");
    expect(await a.ctx.community.hallEntry(output.id)).toMatchObject({ state: "posted", messageId: message!.id });

    // The count follows the original; below removeBelow it would be taken down (not set here).
    press(b, output, voter(5));
    await b.ctx.refreshes.settled();
    expect(discord.messagesIn(HALL)[0]!.content).toMatch(/^🏆 \*\*5 votes\*\*/);
    expect(hallPosts()).toHaveLength(1);
    expectNoPings();
  });

  it("a process dying between posting and recording: the post is finished with the same nonce, once", async () => {
    const doomed = await bot(hall(1));
    const output = await result(doomed);
    // Discord takes its time with the post; the process dies before it can record it.
    discord.failures.push({
      match: r => r.method === "POST" && r.path === `/channels/${HALL}/messages`,
      status: 200,
      delayMs: 1500,
      times: 1,
    });
    press(doomed, output, voter(1));
    await discord.waitFor(r => r.method === "POST" && r.path === `/channels/${HALL}/messages`);
    await doomed.close();
    await doomed.ctx.refreshes.settled(); // its recording failed: Redis is gone for it
    bots = bots.filter(b => b !== doomed);
    expect(await (await bot()).ctx.community.hallEntry(output.id)).toMatchObject({ state: "claimed" });

    const restarted = await bot(hall(1));
    await recoverHallOfFame(restarted.ctx, restarted.client.rest, 0);
    const posts = hallPosts();
    expect(posts).toHaveLength(2);
    expect(posts[1]!.body?.nonce).toBe(posts[0]!.body?.nonce);
    expect(discord.messagesIn(HALL)).toHaveLength(1);
    expect(await restarted.ctx.community.hallEntry(output.id)).toMatchObject({
      state: "posted",
      messageId: discord.messagesIn(HALL)[0]!.id,
    });
  });

  it("posts nothing without a channel", async () => {
    const one = await bot(hall(1, null, null));
    const output = await result(one);
    press(one, output, voter(1));
    await one.ctx.refreshes.settled();
    expect(discord.requests.filter(r => r.method === "POST" && /^\/channels\//.test(r.path))).toHaveLength(0);
    expect(await one.ctx.community.hallEntry(output.id)).toBeUndefined();
  });

  it("a channel it cannot post in is logged and recorded for /weird-config show, and voting goes on", async () => {
    const one = await bot(hall(1));
    const output = await result(one);
    discord.failures.push({
      match: r => r.method === "POST" && r.path === `/channels/${HALL}/messages`,
      status: 403,
      body: { message: "Missing Permissions", code: 50013 },
      times: 1,
    });
    press(one, output, voter(1));
    await one.ctx.refreshes.settled();
    expect(label(output.messageId)).toBe("Weird! · 1");
    expect(await one.ctx.community.hallOfFameProblem(GUILD_ID)).toBe(
      `the bot cannot post in <#${HALL}>: it needs View Channel and Send Messages there`,
    );
    expect(one.logs.some(line => line.includes("cannot post in"))).toBe(true);
    const show = slashSubcommand(
      weirdConfigDefinition(one.ctx).toJSON(),
      "show",
      {},
      {
        permissions: (PermissionFlagsBits.ManageGuild | PermissionFlagsBits.SendMessages).toString(),
      },
    );
    one.inject(show);
    const shown = await discord.waitFor(r => r.path === `/interactions/${show.id}/${show.token}/callback`);
    expect((shown.body?.data as { content: string }).content).toContain(
      `⚠️ The last hall-of-fame post failed: the bot cannot post in <#${HALL}>: it needs View Channel and Send Messages there`,
    );

    // Fixed by an admin: the next vote posts it, and the problem is gone.
    press(one, output, voter(2));
    await one.ctx.refreshes.settled();
    expect(discord.messagesIn(HALL)).toHaveLength(1);
    expect(await one.ctx.community.hallOfFameProblem(GUILD_ID)).toBeUndefined();
  });

  it("is taken down below removeBelow and never posted again; a hall post deleted by hand stays gone", async () => {
    const one = await bot(hall(2, 2));
    const output = await result(one);
    press(one, output, voter(1));
    press(one, output, voter(2));
    await one.ctx.refreshes.settled();
    expect(discord.messagesIn(HALL)).toHaveLength(1);
    press(one, output, voter(2)); // takes the vote back: 1 < 2
    await one.ctx.refreshes.settled();
    expect(discord.messagesIn(HALL)).toHaveLength(0);
    press(one, output, voter(2));
    await one.ctx.refreshes.settled();
    expect(hallPosts()).toHaveLength(1);

    const other = await result(one);
    press(one, other, voter(1));
    press(one, other, voter(2));
    await one.ctx.refreshes.settled();
    const [post] = discord.messagesIn(HALL);
    discord.deleteMessage(post!.id);
    press(one, other, voter(3));
    await one.ctx.refreshes.settled();
    expect(await one.ctx.community.hallEntry(other.id)).toMatchObject({ state: "removed" });
    expect(hallPosts()).toHaveLength(2);
  });
});

describe("leaderboards and stats", () => {
  const period = (value: string): CommandOption => ({
    name: "period",
    type: ApplicationCommandOptionType.String,
    value,
  });
  const by = (value: string): CommandOption => ({ name: "by", type: ApplicationCommandOptionType.String, value });
  const embedOf = (request: RecordedRequest) =>
    (request.body!.data as { embeds: Array<{ description: string }> }).embeds[0]!.description;

  it("/weirdest shows rank, votes, T, weirdness, a neutralised snippet, the author unpinged and a link", async () => {
    const one = await bot();
    const quiet = await result(one, { text: "calm", surprisal: 3 });
    const loud = await result(one);
    const other = await result(one, { authorId: "800000000000000009", text: "other", surprisal: 30 });
    for (let i = 0; i < 2; i++) press(one, loud, voter(i));
    press(one, other, voter(9));
    await one.ctx.refreshes.settled();

    const raw = slashCommand("weirdest", { userId: voter(5) }, [period("day")]);
    one.inject(raw);
    const answer = await answerTo(raw);
    expect(answer.body).toMatchObject({ type: InteractionResponseType.ChannelMessageWithSource });
    expect((answer.body!.data as { flags?: number }).flags ?? 0).toBe(0); // public: the server's scoreboard
    const lines = embedOf(answer).split("\n");
    expect(lines[0]).toBe("Weirdest outputs in the last 24 hours, by votes:");
    expect(lines[1]).toBe(
      `**1.** 2 votes · T = -0.001 · β = -1000 · weirdness 28.60 · <@${AUTHOR}> · [message](https://discord.com/channels/${GUILD_ID}/${CHANNEL_ID}/${loud.messageId})`,
    );
    expect(lines[2]).toBe("\\|\\|\\|\\| \\<\\@123456789012345678\\> \\*\\*loud\\*\\* \\`tick");
    expect(lines[3]).toMatch(/^\*\*2\.\*\* 1 vote · .* <@800000000000000009>/);
    expect(lines[5]).toMatch(/^\*\*3\.\*\* 0 votes · .*weirdness 3\.00/);

    const byWeirdness = slashCommand("weirdest", { userId: voter(5) }, [by("weirdness")]);
    one.inject(byWeirdness);
    expect(
      embedOf(await answerTo(byWeirdness))
        .split("\n")
        .filter(line => /^\*\*\d/.test(line)),
    ).toEqual([
      expect.stringMatching(/weirdness 30\.00/),
      expect.stringMatching(/weirdness 28\.60/),
      expect.stringMatching(/weirdness 3\.00/),
    ]);

    const mine = slashCommand(
      "weirdest",
      { userId: voter(5) },
      [{ name: "member", type: ApplicationCommandOptionType.User, value: "800000000000000009" }],
      ["800000000000000009"],
    );
    one.inject(mine);
    const filtered = embedOf(await answerTo(mine));
    expect(filtered.split("\n")[0]).toBe("Weirdest outputs from <@800000000000000009> in the last 7 days, by votes:");
    expect(filtered).not.toContain(quiet.messageId === other.messageId ? "never" : `/${quiet.messageId})`);
    expectNoPings();
  });

  it("an empty board is a friendly line; bad options and direct messages are answered privately", async () => {
    const one = await bot();
    const empty = slashCommand("weirdest", {}, [period("month")]);
    one.inject(empty);
    expect(contentOf(await answerTo(empty))).toBe(
      "Nothing on the board for the last 30 days yet: make something weird with `/weird` and vote with **Weird!**.",
    );
    const bad = slashCommand("weirdest", {}, [period("year")]);
    one.inject(bad);
    expect((await answerTo(bad)).body).toMatchObject({
      data: { content: "Unknown period: choose day, week, month or all.", flags: MessageFlags.Ephemeral },
    });
    const badBy = slashCommand("weirdest", {}, [by("length")]);
    one.inject(badBy);
    expect(contentOf(await answerTo(badBy))).toBe("Unknown ranking: choose votes or weirdness.");
    const badMembers = slashCommand("weirdest-members", {}, [period("decade")]);
    one.inject(badMembers);
    expect(contentOf(await answerTo(badMembers))).toBe("Unknown period: choose day, week, month or all.");

    // The same command from a direct message: a user instead of a member, and no server.
    const { member, ...rest } = slashCommand("weird-stats");
    const direct = { ...rest, guild_id: undefined, user: member.user, context: InteractionContextType.BotDM };
    one.inject(direct);
    expect((await answerTo(direct)).body).toMatchObject({
      data: { content: "Leaderboards belong to a server: use this command in one.", flags: MessageFlags.Ephemeral },
    });
  });

  it("/weirdest-members and /weird-stats", async () => {
    const one = await bot();
    const cold = await result(one, { temperature: -1 });
    await result(one, { temperature: 0.005, authorId: "800000000000000009" });
    await result(one, { temperature: 2, authorId: "800000000000000009" });
    press(one, cold, voter(1));
    press(one, cold, voter(2));
    await one.ctx.refreshes.settled();

    const members = slashCommand("weirdest-members", {}, [period("all")]);
    one.inject(members);
    expect(embedOf(await answerTo(members)).split("\n")).toEqual([
      "Members by votes received on what they made in all time (outputs are kept 90 days):",
      `**1.** <@${AUTHOR}> · 2 votes received · 1 output`,
      "**2.** <@800000000000000009> · 0 votes received · 2 outputs",
    ]);

    const stats = slashCommand("weird-stats");
    one.inject(stats);
    const text = embedOf(await answerTo(stats));
    expect(text).toContain("Outputs generated: **3** · votes cast: **2** · members who played: **4**");
    expect(text).toContain("Coldest T: **-1** · hottest T: **2**");
    expect(text).toContain("Below zero: **1** · near zero (|T| < 0.01): **1** · above zero: **2**");
    expect(text).toContain(`Most voted: 2 votes · T = -1 · β = -1 · <@${AUTHOR}> · [message](`);
    expectNoPings();
  });
});
