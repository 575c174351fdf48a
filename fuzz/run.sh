#!/usr/bin/env bash
# Builds every fuzz target and runs each for a bounded time (docs/fuzzing.md).
#
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]
#
# SECONDS_PER_TARGET defaults to 30. Without TARGETs it runs every target except `checkpoint`, which
# needs the `learn` feature (burn: a much longer build); name it, or set FUZZ_LEARN=1, to include it.
# FUZZ_SANITIZER (default `address`; `none` builds faster and runs about twice as fast) is passed to
# `cargo fuzz --sanitizer`. Exits non-zero when a target crashes, panics, times out (-timeout, 30 s
# per input by default: FUZZ_TIMEOUT_S) or runs out of memory (-rss_limit_mb, 2048 MB by default:
# FUZZ_RSS_LIMIT_MB), after printing the reproducer: its file under fuzz/artifacts/<target>/ and the
# first bytes of it. The corpus grows in fuzz/corpus/<target>/ (gitignored) across runs.
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked --version 0.13.2`) and no nightly toolchain:
# RUSTC_BOOTSTRAP=1 lets the stable compiler take the sanitizer flags.
set -euo pipefail
FUZZ="$(cd "$(dirname "$0")" && pwd)"
cd "$FUZZ"
SECS="${1:-30}"
shift || true
SANITIZER="${FUZZ_SANITIZER:-address}"
TIMEOUT_S="${FUZZ_TIMEOUT_S:-30}"
RSS_MB="${FUZZ_RSS_LIMIT_MB:-2048}"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "run.sh: cargo-fuzz is missing: cargo install cargo-fuzz --locked --version 0.13.2" >&2
    exit 2
fi

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list | grep -v '^checkpoint$')
    if [ "${FUZZ_LEARN:-0}" = "1" ]; then
        targets+=(checkpoint)
    fi
fi
features=()
for t in "${targets[@]}"; do
    if [ "$t" = checkpoint ]; then
        features=(--features learn)
    fi
done

./seed-corpus.sh >/dev/null
start=$(date +%s)
# One build of every target (the checkpoint target only with the learn feature).
cargo fuzz build --sanitizer "$SANITIZER" "${features[@]}"
echo "run.sh: built in $(($(date +%s) - start)) s"

failed=()
summary=()
mkdir -p logs
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    log="logs/$t.log"
    echo "run.sh: fuzzing $t for $SECS s"
    set +e
    cargo fuzz run --sanitizer "$SANITIZER" "${features[@]}" "$t" "corpus/$t" -- \
        -max_total_time="$SECS" -timeout="$TIMEOUT_S" -rss_limit_mb="$RSS_MB" \
        -print_final_stats=1 >"$log" 2>&1
    rc=$?
    set -e
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || true)
    summary+=("$(printf '%-20s %10s execs  cov %6s  rc %s' "$t" "${execs:-?}" "${cov:-?}" "$rc")")
    if [ "$rc" -ne 0 ]; then
        failed+=("$t")
        echo "run.sh: $t FAILED (exit $rc); the end of its log ($FUZZ/$log):"
        grep -v '^#[0-9]' "$log" | tail -40
        for f in $(grep -o 'artifacts/[^ ]*' "$log" | sort -u); do
            [ -f "$f" ] || continue
            echo "run.sh: reproducer $FUZZ/$f ($(wc -c <"$f") bytes); first bytes:"
            head -c 600 "$f" | od -c | head -20
            echo "run.sh: rerun: cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run ${features[*]} $t $f"
        done
    fi
done
echo "run.sh: summary ($SECS s per target, sanitizer $SANITIZER)"
printf '  %s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
    echo "run.sh: failing targets: ${failed[*]}" >&2
    exit 1
fi
echo "run.sh: no crash in ${#targets[@]} targets"
