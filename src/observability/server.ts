// The operator's HTTP port (METRICS_PORT): /metrics for Prometheus, /healthz for health
// checks (compose, Kubernetes).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { metricsText, registry } from "./metrics.js";

/** Named checks; the process is healthy when every one is true. */
export type HealthChecks = () => Record<string, boolean>;

export interface ObservabilityServer {
  port: number;
  close: () => Promise<void>;
}

/**
 * Serves /metrics (this process's metrics, then `extraMetrics`, e.g. BullMQ's) and /healthz
 * (200 or 503 with each check's result) on the port; 0 picks a free one.
 */
export async function startObservabilityServer(
  port: number,
  health: HealthChecks,
  extraMetrics: Array<() => Promise<string>> = [],
): Promise<ObservabilityServer> {
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://localhost").pathname;
    if (request.method === "GET" && path === "/metrics") {
      void metricsText(extraMetrics).then(text =>
        response.writeHead(200, { "content-type": registry.contentType }).end(text),
      );
      return;
    }
    if (request.method !== "GET" || path !== "/healthz") {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    const checks = health();
    const healthy = Object.values(checks).every(Boolean);
    response
      .writeHead(healthy ? 200 : 503, { "content-type": "application/json" })
      .end(`${JSON.stringify({ healthy, checks })}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, resolve);
  });
  server.unref(); // never the reason a stopping process stays up
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise(resolve => server.close(() => resolve())),
  };
}
