#!/usr/bin/env bash
# Runs dslab-faas and faastune's serverless allocation environment side by side on the same Azure Functions
# 2019 samples and prints a markdown table (docs/evaluation/dslab-faas.md). Not run by CI.
#
#   bench/scripts/dslab-faas-compare.sh                      # sample 10, fixed and histogram keep-alive, 3 runs
#   SAMPLES="10 5 1" KEEP="fixed" RUNS=3 bench/scripts/dslab-faas-compare.sh
#   EXTRAS=1 bench/scripts/dslab-faas-compare.sh             # also (1 run each): dslab's own reader, CPU
#                                                            # contention, dslab taking the newest warm container
#
# Environment:
#   DATA        directory of the samples (default: ../shared/data/azure-functions-samples/azure2019_sampled_at_65cf381)
#   DSLAB_GIT   a git directory holding dslab at $DSLAB_REV (default: /work/.mirror/osukhoroslov+dslab/repo;
#               when absent, https://github.com/osukhoroslov/dslab is cloned)
#   FAASTUNE    the faastune binary (default: build it with cargo into $WORK/faastune-target)
#   REUSE=1     skip runs whose results are already in $WORK/out
#   WORK        scratch directory (default: /tmp/dslab-faas-compare); raw JSON and times land in $WORK/out
# Needs: cargo, git, python3, GNU time (/usr/bin/time).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DSLAB_REV=a6c155e8db4b3704dbaa3f4b3e99d987ad0da2d2
DATA=${DATA:-$ROOT/../shared/data/azure-functions-samples/azure2019_sampled_at_65cf381}
DSLAB_GIT=${DSLAB_GIT:-/work/.mirror/osukhoroslov+dslab/repo}
WORK=${WORK:-/tmp/dslab-faas-compare}
SAMPLES=${SAMPLES:-10}
KEEP=${KEEP:-fixed histogram}
RUNS=${RUNS:-3}
EXTRAS=${EXTRAS:-0}
OUT=$WORK/out
mkdir -p "$WORK" "$OUT"

# 1. dslab at the pinned commit, exported (nothing of it is copied into the repository).
SRC=$WORK/dslab-$DSLAB_REV
if [ ! -d "$SRC/crates/dslab-faas" ]; then
    mkdir -p "$SRC"
    if [ -d "$DSLAB_GIT" ]; then
        git -C "$DSLAB_GIT" archive "$DSLAB_REV" | tar -x -C "$SRC"
    else
        git clone -q https://github.com/osukhoroslov/dslab "$WORK/dslab.git"
        git -C "$WORK/dslab.git" archive "$DSLAB_REV" | tar -x -C "$SRC"
    fi
fi

# 2. The driver, built from a copy of bench/dslab-faas whose git dependency is replaced by the export
#    (a path override: cargo cannot patch a git source without fetching it first).
BUILD=$WORK/bench-build
rm -rf "$BUILD" && mkdir -p "$BUILD"
cp -r "$ROOT/bench/dslab-faas/Cargo.toml" "$ROOT/bench/dslab-faas/src" "$BUILD/"
[ -f "$ROOT/bench/dslab-faas/Cargo.lock" ] && cp "$ROOT/bench/dslab-faas/Cargo.lock" "$BUILD/"
sed -i -e "s|^dslab-faas = { git = .*|dslab-faas = { path = \"$SRC/crates/dslab-faas\" }|" \
       -e "s|path = \"../../crates/|path = \"$ROOT/crates/|" "$BUILD/Cargo.toml"
(cd "$BUILD" && CARGO_TARGET_DIR=$WORK/bench-target cargo build --release -q)
DS=$WORK/bench-target/release/dslab-faas-bench
FS=$WORK/bench-target/release/faastune-serverless

# 3. faastune.
if [ -z "${FAASTUNE:-}" ]; then
    (cd "$ROOT" && CARGO_TARGET_DIR=$WORK/faastune-target cargo build --release -q -p faastune)
    FAASTUNE=$WORK/faastune-target/release/faastune
fi

timed() { # timed NAME CMD...: stdout to $OUT/NAME.json, "wall s, max RSS KB" to $OUT/NAME.time
    local name=$1; shift
    if [ "${REUSE:-0}" = 1 ] && [ -s "$OUT/$name.time" ]; then return; fi  # REUSE=1: keep earlier results
    echo "load $(cut -d' ' -f1-3 /proc/loadavg)" > "$OUT/$name.load"
    /usr/bin/time -f '%e %M' -o "$OUT/$name.time" "$@" > "$OUT/$name.json"
}

for s in $SAMPLES; do
    for k in $KEEP; do
        for r in $(seq 1 "$RUNS"); do
            # Interleaved, so both see the same background load.
            timed "faastune-$s-$k-$r" "$FAASTUNE" alloc --scenario serverless --trace "$DATA/$s" \
                --keep-alive "$k" --policies fcfs --seed 1 --json
            timed "dslab-$s-$k-$r" "$DS" --trace "$DATA/$s" --keep-alive "$k" --seed 1
        done
    done
done
if [ "$EXTRAS" = 1 ]; then
    s=$(echo "$SAMPLES" | cut -d' ' -f1)
    timed "dslab-reader-$s-fixed" "$DS" --trace "$DATA/$s" --reader dslab --keep-alive fixed --seed 1
    timed "faastune-shared-$s-fixed" "$FS" --trace "$DATA/$s" --cpu-model shared --keep-alive fixed --seed 1
    timed "faastune-reserved-$s-fixed" "$FS" --trace "$DATA/$s" --cpu-model reserved --keep-alive fixed --seed 1
    timed "dslab-contended-$s-fixed" "$DS" --trace "$DATA/$s" --cpu contended --keep-alive fixed --seed 1
    timed "dslab-ignored-$s-fixed" "$DS" --trace "$DATA/$s" --cpu ignored --keep-alive fixed --seed 1
    timed "dslab-lifo-$s-fixed" "$DS" --trace "$DATA/$s" --invoker lifo --keep-alive fixed --seed 1
    timed "dslab-lifo-$s-histogram" "$DS" --trace "$DATA/$s" --invoker lifo --keep-alive histogram --seed 1
fi

python3 - "$OUT" "$SAMPLES" "$KEEP" "$RUNS" <<'EOF'
import json, os, statistics, sys
out, samples, keeps, runs = sys.argv[1], sys.argv[2].split(), sys.argv[3].split(), int(sys.argv[4])

def load(name):
    p = os.path.join(out, name)
    if not os.path.exists(p + ".json"):
        return None
    j = json.load(open(p + ".json"))
    if "runs" in j:  # faastune alloc --json
        r = j["runs"][0]
        j = dict(invocations=r["n_arrived"], cold_starts=r["n_cold_starts"], cold_start_rate=r["cold_start_rate"],
                 slowdown_mean=r["slowdown_mean"], slowdown_p95=r["slowdown_p95"],
                 slo_violation_rate=r["slo_violation_rate"], idle_memory_gb_s=r["idle_memory_gb_s"],
                 utilization=r["utilization"])
    wall, kb = open(p + ".time").read().split()[-2:]
    j["wall"], j["rss_mb"] = float(wall), int(kb) / 1024
    return j

def row(label, sim, rs):
    rs = [r for r in rs if r]
    if not rs:
        return
    r = rs[0]
    wall = statistics.median(x["wall"] for x in rs)
    rss = statistics.median(x["rss_mb"] for x in rs)
    slo = r.get("slo_violation_rate")
    print(f"| {label} | {sim} | {r['invocations']:,} | {r['cold_starts']:,} | {100*r['cold_start_rate']:.4f}% "
          f"| {r['slowdown_mean']:.5f} | {r['slowdown_p95']:.3f} | "
          f"{'-' if slo is None else f'{100*slo:.3f}%'} | {r['idle_memory_gb_s']:,.0f} | {r['utilization']:.3f} "
          f"| {wall:.2f} | {rss:,.0f} | {len(rs)} |")

print("| sample / keep-alive | simulator | invocations | cold starts | cold-start rate | slowdown mean | "
      "slowdown p95 | SLO viol. | idle GB-s | util | wall s (median) | peak RSS MB (median) | runs |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for s in samples:
    for k in keeps:
        for sim in ("faastune", "dslab"):
            row(f"{s} / {k}", sim, [load(f"{sim}-{s}-{k}-{r}") for r in range(1, runs + 1)])
s = samples[0]
for name, label in [("dslab-reader", "dslab, dslab's reader"), ("faastune-reserved", "faastune, reserved CPU"),
                    ("faastune-shared", "faastune, shared CPU"), ("dslab-contended", "dslab, contended CPU"),
                    ("dslab-ignored", "dslab, ignored CPU"), ("dslab-lifo", "dslab, newest warm container first")]:
    row(f"{s} / fixed", label, [load(f"{name}-{s}-fixed")])
row(f"{s} / histogram", "dslab, newest warm container first", [load(f"dslab-lifo-{s}-histogram")])
EOF
