#!/usr/bin/env bash
# A local three-master Redis Cluster for tests (no replicas, no persistence).
#   scripts/redis-cluster.sh start [first-port]   ports first-port … first-port+2 (default 7101)
#   scripts/redis-cluster.sh stop  [first-port]
# Prints the REDIS_URL to use: redis+cluster://127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103
set -euo pipefail
action=${1:-start}
first=${2:-7101}
ports=("$first" "$((first + 1))" "$((first + 2))")
dir=${TMPDIR:-/tmp}/belowzero-redis-cluster-$first

state() { redis-cli -p "$first" cluster info 2>/dev/null | tr -d '\r' | awk -F: '/^cluster_state/{print $2}'; }
url() { echo "redis+cluster://$(IFS=,; echo "${ports[*]/#/127.0.0.1:}")"; }
shutdown_all() {
  for port in "${ports[@]}"; do
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  done
  for port in "${ports[@]}"; do
    for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 || break; sleep 0.1; done
  done
}

case $action in
  start)
    # A healthy cluster already on these ports (an earlier start) is reused as it is.
    if [ "$(state)" = ok ]; then url; exit 0; fi
    # Anything else is a leftover of a run that was killed: half-started nodes, or node
    # files that name a cluster whose nodes are gone (they make `--cluster create` refuse).
    shutdown_all
    rm -rf "$dir" && mkdir -p "$dir"
    for port in "${ports[@]}"; do
      redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes \
        --cluster-config-file "$dir/nodes-$port.conf" --dir "$dir" --save "" --appendonly no \
        --daemonize yes --pidfile "$dir/redis-$port.pid" --logfile "$dir/redis-$port.log"
    done
    for port in "${ports[@]}"; do
      for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
    done
    if ! redis-cli --cluster create "${ports[@]/#/127.0.0.1:}" --cluster-replicas 0 --cluster-yes >"$dir/create.log" 2>&1; then
      echo "redis-cluster.sh: could not create the cluster on ports ${ports[*]}:" >&2
      cat "$dir/create.log" "$dir"/redis-*.log >&2 || true
      exit 1
    fi
    for _ in $(seq 100); do [ "$(state)" = ok ] && break; sleep 0.1; done
    [ "$(state)" = ok ] || { echo "redis-cluster.sh: the cluster on ports ${ports[*]} did not become ready" >&2; exit 1; }
    url ;;
  stop)
    shutdown_all
    rm -rf "$dir" ;;
  *) echo "usage: $0 start|stop [first-port]" >&2; exit 2 ;;
esac
