/** A Discord id (a snowflake): up to 22 decimal digits. Checked wherever one comes from outside. */
export function isDiscordId(value: unknown): value is string {
  return typeof value === "string" && /^\d{1,22}$/.test(value);
}
