// The images' HEALTHCHECK: exits 0 when this container's /healthz answers 200. Node itself
// rather than curl, which the slim images do not have.
const port = process.env.METRICS_PORT;
if (!port || port === "0") {
  console.error("METRICS_PORT is not set, so there is no /healthz to ask");
  process.exit(1);
}
try {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(4000) });
  console.log(await response.text());
  process.exit(response.ok ? 0 : 1);
} catch (error) {
  console.error(`/healthz did not answer: ${(error as Error).message}`);
  process.exit(1);
}
