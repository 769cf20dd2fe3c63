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

case $action in
  start)
    mkdir -p "$dir"
    for port in "${ports[@]}"; do
      redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes \
        --cluster-config-file "$dir/nodes-$port.conf" --dir "$dir" --save "" --appendonly no \
        --daemonize yes --pidfile "$dir/redis-$port.pid" --logfile "$dir/redis-$port.log"
    done
    for port in "${ports[@]}"; do
      for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
    done
    if [ "$(redis-cli -p "$first" cluster info | tr -d '\r' | awk -F: '/^cluster_state/{print $2}')" != ok ]; then
      redis-cli --cluster create "${ports[@]/#/127.0.0.1:}" --cluster-replicas 0 --cluster-yes >"$dir/create.log"
      for _ in $(seq 100); do
        [ "$(redis-cli -p "$first" cluster info | tr -d '\r' | awk -F: '/^cluster_state/{print $2}')" = ok ] && break
        sleep 0.1
      done
    fi
    echo "redis+cluster://$(IFS=,; echo "${ports[*]/#/127.0.0.1:}")" ;;
  stop)
    for port in "${ports[@]}"; do
      redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
    done
    for port in "${ports[@]}"; do
      for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 || break; sleep 0.1; done
    done
    rm -rf "$dir" ;;
  *) echo "usage: $0 start|stop [first-port]" >&2; exit 2 ;;
esac
