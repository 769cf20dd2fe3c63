// Every slash command, for the bot's router and for the deploy script alike.
import type {
  AutocompleteInteraction,
  ChatInputCommandInteraction,
  RESTPostAPIChatInputApplicationCommandsJSONBody,
} from "discord.js";
import type { BotContext } from "./context.js";
import { autocompleteModels } from "./modelOption.js";
import * as weird from "../commands/weird.js";
import * as weirdConfig from "../commands/weirdConfig.js";
import * as weirdHelp from "../commands/weirdHelp.js";
import * as weirdSweep from "../commands/weirdSweep.js";
import * as weirdest from "../commands/weirdest.js";
import * as weirdestMembers from "../commands/weirdestMembers.js";
import * as weirdStats from "../commands/weirdStats.js";
import * as weirdModels from "../commands/weirdModels.js";

export interface Command {
  name: string;
  json: RESTPostAPIChatInputApplicationCommandsJSONBody;
  execute: (interaction: ChatInputCommandInteraction, ctx: BotContext) => Promise<void>;
  /** Suggestions for an option marked for autocomplete. */
  autocomplete?: (interaction: AutocompleteInteraction, ctx: BotContext) => Promise<void>;
}

export function commands(ctx: Pick<BotContext, "config">): Command[] {
  return [
    {
      name: "weird",
      json: weird.definition(ctx).toJSON(),
      execute: weird.execute,
      autocomplete: autocompleteModels,
    },
    { name: "weird-sweep", json: weirdSweep.definition(ctx).toJSON(), execute: weirdSweep.execute },
    { name: "weird-help", json: weirdHelp.definition().toJSON(), execute: weirdHelp.execute },
    { name: "weird-config", json: weirdConfig.definition(ctx).toJSON(), execute: weirdConfig.execute },
    { name: "weirdest", json: weirdest.definition().toJSON(), execute: weirdest.execute },
    { name: "weirdest-members", json: weirdestMembers.definition().toJSON(), execute: weirdestMembers.execute },
    { name: "weird-stats", json: weirdStats.definition().toJSON(), execute: weirdStats.execute },
    { name: "weird-models", json: weirdModels.definition().toJSON(), execute: weirdModels.execute },
  ];
}
