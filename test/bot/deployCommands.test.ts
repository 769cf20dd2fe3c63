// npm run deploy-commands against the fake Discord: the definitions from src/commands.
import { execFile } from "node:child_process";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeDiscord } from "../helpers/fakeDiscord.js";

const root = resolve(import.meta.dirname, "../..");
let discord: FakeDiscord;
beforeAll(async () => {
  discord = await new FakeDiscord().start();
});
afterAll(async () => {
  await discord.stop();
});

// A made-up token whose first part is the base64 of the application id, as real ones are.
const TOKEN = `${Buffer.from("900000000000000001").toString("base64")}.x.y`;

describe("deploy-commands", () => {
  it("registers every command in the configured server", async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(root, "node_modules/tsx/dist/cli.mjs"), join(root, "src/bot/deployCommands.ts")],
      {
        cwd: root,
        env: {
          ...process.env,
          DISCORD_TOKEN: TOKEN,
          DISCORD_API_URL: discord.url,
          DISCORD_GUILD_ID: "900000000000000002",
        },
      },
    );
    expect(stdout.trim()).toBe("Registered 12 commands in server 900000000000000002.");
    const [put] = discord.find("PUT", /^\/applications\/900000000000000001\/guilds\/900000000000000002\/commands$/);
    const body = put!.body as unknown as Array<{
      name: string;
      type: number;
      integration_types?: number[];
      contexts?: number[];
      options?: Array<{ name: string; required?: boolean; min_value?: number; max_value?: number }>;
    }>;
    expect(body.map(c => c.name)).toEqual([
      "weird",
      "weird-compare",
      "weird-sweep",
      "weird-help",
      "weird-config",
      "weirdest",
      "weirdest-members",
      "weird-stats",
      "weird-models",
      "weird-mine",
      "Continue below zero",
      "How weird is this?",
    ]);
    // Generating works wherever belowzero is installed (a server, or a member's own account)
    // and used (servers, the bot's DMs, group DMs); a server's settings and boards only there.
    const where = (name: string) => {
      const command = body.find(c => c.name === name)!;
      return { integration_types: command.integration_types, contexts: command.contexts };
    };
    for (const name of [
      "weird",
      "weird-compare",
      "weird-sweep",
      "weird-help",
      "weird-mine",
      "Continue below zero",
      "How weird is this?",
    ])
      expect(where(name)).toEqual({ integration_types: [0, 1], contexts: [0, 1, 2] });
    for (const name of ["weird-config", "weirdest", "weirdest-members", "weird-stats"])
      expect(where(name)).toEqual({ integration_types: [0], contexts: [0] });
    expect(body.find(c => c.name === "Continue below zero")!.type).toBe(3); // a message command
    expect(body[0]!.options!.map(o => o.name)).toEqual([
      "prompt",
      "temp",
      "schedule",
      "vocab",
      "max_tokens",
      "seed",
      "model",
    ]);
    // Suggested from the live registry as the member types.
    expect(body[0]!.options![6]).toMatchObject({ autocomplete: true });
    expect(body[0]!.options![1]).toMatchObject({ min_value: -100, max_value: 100 });
    expect(body[0]!.options![0]).toMatchObject({ required: true });
    const options = (name: string) => body.find(c => c.name === name)!.options!.map(o => o.name);
    expect(options("weirdest")).toEqual(["period", "by", "member", "model"]);
    expect(options("weird-stats")).toEqual(["model"]);
    expect(options("weird-sweep")).toEqual(["prompt", "max_tokens", "seed"]);
    expect(options("weird-compare")).toEqual([
      "prompt",
      "temp",
      "temp2",
      "model1",
      "model2",
      "model3",
      "max_tokens",
      "seed",
    ]);
    const compare = body.find(c => c.name === "weird-compare")!.options!;
    for (const model of compare.filter(o => o.name.startsWith("model")))
      expect(model).toMatchObject({ autocomplete: true });
  });
});
