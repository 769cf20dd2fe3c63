// Every slash and message command, for the bot's router and for the deploy script alike.
import type {
  AutocompleteInteraction,
  ChatInputCommandInteraction,
  MessageContextMenuCommandInteraction,
  RESTPostAPIApplicationCommandsJSONBody,
  RESTPostAPIChatInputApplicationCommandsJSONBody,
  RESTPostAPIContextMenuApplicationCommandsJSONBody,
} from "discord.js";
import * as continueBelowZero from "../commands/continueBelowZero.js";
import * as howWeird from "../commands/howWeird.js";
import type { BotContext } from "./context.js";
import { autocompleteModelFilter, autocompleteModels } from "./modelOption.js";
import * as weird from "../commands/weird.js";
import * as weirdCompare from "../commands/weirdCompare.js";
import * as weirdConfig from "../commands/weirdConfig.js";
import * as weirdHelp from "../commands/weirdHelp.js";
import * as weirdSweep from "../commands/weirdSweep.js";
import * as weirdest from "../commands/weirdest.js";
import * as weirdestMembers from "../commands/weirdestMembers.js";
import * as weirdStats from "../commands/weirdStats.js";
import * as weirdModels from "../commands/weirdModels.js";
import * as weirdMine from "../commands/weirdMine.js";

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
    {
      name: "weird-compare",
      json: weirdCompare.definition(ctx).toJSON(),
      execute: weirdCompare.execute,
      autocomplete: autocompleteModels,
    },
    { name: "weird-sweep", json: weirdSweep.definition(ctx).toJSON(), execute: weirdSweep.execute },
    { name: "weird-help", json: weirdHelp.definition().toJSON(), execute: weirdHelp.execute },
    { name: "weird-config", json: weirdConfig.definition(ctx).toJSON(), execute: weirdConfig.execute },
    {
      name: "weirdest",
      json: weirdest.definition().toJSON(),
      execute: weirdest.execute,
      autocomplete: autocompleteModelFilter,
    },
    { name: "weirdest-members", json: weirdestMembers.definition().toJSON(), execute: weirdestMembers.execute },
    {
      name: "weird-stats",
      json: weirdStats.definition().toJSON(),
      execute: weirdStats.execute,
      autocomplete: autocompleteModelFilter,
    },
    { name: "weird-models", json: weirdModels.definition().toJSON(), execute: weirdModels.execute },
    { name: "weird-mine", json: weirdMine.definition().toJSON(), execute: weirdMine.execute },
  ];
}

/** A message command (Apps menu on a message): named in words, no options. */
export interface MessageCommand {
  name: string;
  json: RESTPostAPIContextMenuApplicationCommandsJSONBody;
  execute: (interaction: MessageContextMenuCommandInteraction, ctx: BotContext) => Promise<void>;
}

export function messageCommands(): MessageCommand[] {
  return [
    { name: continueBelowZero.NAME, json: continueBelowZero.definition().toJSON(), execute: continueBelowZero.execute },
    { name: howWeird.NAME, json: howWeird.definition().toJSON(), execute: howWeird.execute },
  ];
}

/** What deploy-commands registers: every command of both kinds. */
export function commandBodies(ctx: Pick<BotContext, "config">): RESTPostAPIApplicationCommandsJSONBody[] {
  return [...commands(ctx), ...messageCommands()].map(command => command.json);
}
