// Redis URLs, apart from ioredis, so the config (and the CLI) need not load the client.
/**
 * A Redis Cluster is named by the URL form `redis+cluster://host:port,host:port` (or
 * `rediss+cluster://` for TLS, credentials as in redis:// URLs); REDIS_CLUSTER_NODES is
 * turned into it by the config. Every key belowzero and BullMQ write starts with the queue
 * prefix in braces, so one queue lives in one hash slot and its multi-key scripts work.
 */
export const CLUSTER_URL = /^(rediss?)\+cluster:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#]+)\/?$/;

export function isClusterUrl(url: string): boolean {
  return CLUSTER_URL.test(url);
}

/** The cluster URL for a list of seed nodes ("host:port,host:port"). */
export function clusterUrl(nodes: string, tls = false): string {
  return `${tls ? "rediss" : "redis"}+cluster://${nodes.replace(/\s+/g, "")}`;
}
