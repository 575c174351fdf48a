#!/usr/bin/env bash
# Load of the decision service (bench/serve.md): decisions per second and decision latency over HTTP on
# loopback, memory and Redis stores, stepconf and replan on examples/synthetic16.yaml, and the state
# size per execution. Starts its own redis-server on a free loopback port in a temporary directory
# (FAASTUNE_REDIS_SERVER, else redis-server on PATH; without one the Redis runs are skipped) and stops
# it at the end. Every run is bounded in time (SECONDS_PER_RUN, default 10, after a 1 s warm-up).
# Usage: bench/scripts/serve-load.sh [OUT_FILE]   (default: print only)
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS="${SECONDS_PER_RUN:-10}"
OUT="${1:-/dev/null}"
REDIS_BIN="${FAASTUNE_REDIS_SERVER:-redis-server}"

cargo bench -p serve --bench load --no-run >/dev/null 2>&1 || cargo bench -p serve --bench load --no-run
bench() {
    echo "\$ cargo bench -p serve --bench load -- $*" | tee -a "$OUT"
    cargo bench -q -p serve --bench load -- --seconds "$SECS" "$@" 2>&1 | grep -v '^ *Running\|^ *Finished' | tee -a "$OUT"
    echo | tee -a "$OUT"
}

: >"$OUT" 2>/dev/null || true
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(nproc) cores, $(uname -m); rustc $(rustc --version | cut -d' ' -f2)" | tee -a "$OUT"
bench --rate 2000 --store memory
bench --max 16 --store memory
bench --rate 200 --policy replan --store memory
bench --max 4 --policy replan --store memory

if command -v "$REDIS_BIN" >/dev/null; then
    dir=$(mktemp -d)
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "$REDIS_BIN" --port "$port" --bind 127.0.0.1 --dir "$dir" --save '' --appendonly no \
        --daemonize no >"$dir/log" 2>&1 &
    redis_pid=$!
    trap 'kill "$redis_pid" 2>/dev/null; rm -rf "$dir"' EXIT
    for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.05; done
    echo "# $("$REDIS_BIN" --version)" | tee -a "$OUT"
    url="redis://127.0.0.1:$port/"
    bench --rate 2000 --store "$url"
    bench --max 16 --store "$url"
    bench --rate 200 --policy replan --store "$url"
    bench --max 4 --policy replan --store "$url"
else
    echo "# no redis-server ($REDIS_BIN): Redis runs skipped" | tee -a "$OUT"
fi
