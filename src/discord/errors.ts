// Discord's answers that retrying will not change. Two DiscordAPIError classes exist at run
// time: the bot posts through its client's REST, from the CommonJS build of @discordjs/rest
// (re-exported by discord.js); the worker's REST is the ESM build. instanceof one never
// matches the other, so both are checked here.
import { DiscordAPIError as EsmDiscordAPIError } from "@discordjs/rest";
import { DiscordAPIError as CjsDiscordAPIError } from "discord.js";

/** Either class: both builds share one type declaration. */
export type DiscordError = EsmDiscordAPIError;

export function isDiscordError(error: unknown): error is DiscordError {
  return error instanceof EsmDiscordAPIError || error instanceof CjsDiscordAPIError;
}

/** Discord's JSON error code is one of these (e.g. RESTJSONErrorCodes.UnknownMessage). */
export function hasDiscordCode(error: unknown, ...codes: number[]): boolean {
  return isDiscordError(error) && codes.includes(Number(error.code));
}

/** A 4xx other than rate limiting: retrying will not help until someone changes something. */
export function isPermanentDiscordError(error: unknown): error is DiscordError {
  return isDiscordError(error) && error.status >= 400 && error.status < 500 && error.status !== 429;
}
