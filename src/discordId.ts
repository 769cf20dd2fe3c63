/** A Discord id (a snowflake): up to 22 decimal digits. Checked wherever one comes from outside. */
export const DISCORD_ID = /^\d{1,22}$/;

export function isDiscordId(value: unknown): value is string {
  return typeof value === "string" && DISCORD_ID.test(value);
}
