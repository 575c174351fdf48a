#!/usr/bin/env bash
# Builds the seed corpus of every fuzz target under fuzz/corpus/<target>/ (gitignored) from the
# project's own example files, the crates' test data, the committed small seeds in fuzz/seeds/<target>/,
# and the real files in ../shared/data (FAASTUNE_DATA overrides the path; missing data is skipped
# with a note, so the script works on a clone without it). Files keep their names, prefixed by where
# they came from; re-running adds without deleting what the fuzzer found.
set -euo pipefail
FUZZ="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$FUZZ")"
DATA="${FAASTUNE_DATA:-$ROOT/../shared/data}"
CORPUS="$FUZZ/corpus"

# add TARGET FILE...: copies each existing file into the target's corpus.
add() {
    local target="$1"
    shift
    mkdir -p "$CORPUS/$target"
    local f
    for f in "$@"; do
        [ -f "$f" ] || continue
        cp "$f" "$CORPUS/$target/$(echo "${f#"$ROOT"/}" | tr '/' '_')"
    done
}

# Committed seeds (small inputs, including every crash the fuzzers found).
for dir in "$FUZZ"/seeds/*/; do
    [ -d "$dir" ] || continue
    t="$(basename "$dir")"
    add "$t" "$dir"*
done

shopt -s nullglob
add native_workflow "$ROOT"/examples/*.yaml "$ROOT"/examples/imported/*.yaml \
    "$ROOT"/crates/workflow/tests/data/native/*
add import_asl "$ROOT"/crates/workflow/tests/data/asl/*.json
add import_workflowhub "$ROOT"/crates/workflow/tests/data/workflowhub/*.json
add import_sebs "$ROOT"/crates/workflow/tests/data/sebs/*.json
add platform_profile "$ROOT"/examples/platform-lambda.yaml
add checkpoint "$ROOT"/models/*.safetensors
for f in "$ROOT"/crates/workload/tests/data/*2021*.csv; do add azure2021 "$f"; done

if [ -d "$DATA" ]; then
    add import_asl "$DATA"/slapp-perfcost/evaluations/model/*/App*.json
    add import_workflowhub "$DATA"/workflowhub/*.json "$DATA"/workflowhub/*/*.json
    add import_sebs "$DATA"/sebs-workflows/*.json
    add import_faasflow "$DATA"/faasflow-apps/*/flat_workflow.yaml
    add dot "$DATA"/slapp-perfcost/evaluations/*/*/*.dot
    add azure2021 "$DATA"/azure-functions-samples/*/Azure2021/*.csv
    # One Azure 2019 input holds invocations.csv, durations.csv and memory.csv separated by `%%` lines
    # (fuzz/src/lib.rs, split_files).
    mkdir -p "$CORPUS/azure2019"
    for dir in "$DATA"/azure-functions-samples/*/ "$DATA"/azure-functions-samples/*/*/; do
        [ -f "$dir/invocations.csv" ] || continue
        name="$(echo "${dir#"$DATA"/}" | tr '/' '_')"
        {
            cat "$dir/invocations.csv"
            printf '\n%%%%\n'
            cat "$dir/durations.csv"
            printf '\n%%%%\n'
            cat "$dir/memory.csv"
        } >"$CORPUS/azure2019/$name.csv"
    done
else
    echo "seed-corpus.sh: no data at $DATA (set FAASTUNE_DATA); using the repository's files only" >&2
fi
for t in "$CORPUS"/*/; do
    echo "seed-corpus.sh: $(basename "$t"): $(find "$t" -type f | wc -l) inputs"
done
