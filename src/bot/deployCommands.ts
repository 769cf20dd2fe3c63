// npm run deploy-commands — registers the slash and message commands, to DISCORD_GUILD_ID when set
// (instant, for testing) or globally.
import { config as loadDotenv } from "dotenv";
import { REST } from "@discordjs/rest";
import { Routes } from "discord.js";
import { deprecationWarnings, loadBotConfig } from "../config.js";
import { commandBodies } from "../interactions/commands.js";

/** A bot token's first part is its application id, base64-encoded. */
function applicationIdOf(token: string): string {
  return Buffer.from(token.split(".")[0] ?? "", "base64").toString("utf8");
}

loadDotenv({ quiet: true });
const config = loadBotConfig();
for (const warning of deprecationWarnings(process.env)) console.warn(warning);
const applicationId = config.discord.applicationId ?? applicationIdOf(config.discord.token);
const rest = new REST({ api: config.discord.apiUrl }).setToken(config.discord.token);
const body = commandBodies({ config });
const { guildId } = config.discord;
await rest.put(
  guildId ? Routes.applicationGuildCommands(applicationId, guildId) : Routes.applicationCommands(applicationId),
  { body },
);
console.log(
  `Registered ${body.length} commands ${guildId ? `in server ${guildId}` : "globally (may take up to an hour to appear)"}.`,
);
