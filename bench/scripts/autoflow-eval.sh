#!/usr/bin/env bash
# Runs `faastune autoflow` (the agent beside every baseline) for each workflow x load pattern x seed and
# writes one JSON object per run to OUT (JSON lines); bench/scripts/autoflow-table.py summarises them.
# Usage: bench/scripts/autoflow-eval.sh AGENT OUT [MINUTES] [SEEDS]
# Environment: WORKFLOWS ("PATH RATE" lines), PATTERNS (default: steady diurnal bursty periodic),
# AZURE_DIR (another Azure Functions 2019 sample for the diurnal pattern), FAASTUNE (the binary).
# Workflows and their mean rates (requests per second) are chosen so the busiest configuration uses a
# fair share of the account's 1,000 concurrent executions without saturating it.
set -euo pipefail
agent="$1"
out="$2"
minutes="${3:-60}"
seeds="${4:-101 102 103}"
bin="${FAASTUNE:-target/release/faastune}"
extra=()
# AZURE_DIR: another Azure Functions 2019 sample for the diurnal pattern (traces unseen in training).
if [ -n "${AZURE_DIR:-}" ]; then extra+=(--azure-dir "$AZURE_DIR"); fi
: > "$out"
while read -r wf rate; do
    [ -z "$wf" ] && continue
    for pattern in ${PATTERNS:-steady diurnal bursty periodic}; do
        for seed in $seeds; do
            "$bin" autoflow --workflow "$wf" --arrivals "load:$pattern" --rate "$rate" \
                --minutes "$minutes" --seed "$seed" --agent "$agent" --json "${extra[@]}" \
                | python3 -c 'import json,sys; d=json.load(sys.stdin); d["pattern"]=sys.argv[1]; d["rate"]=float(sys.argv[2]); d["source"]=sys.argv[3]; print(json.dumps(d))' "$pattern" "$rate" "$wf" >> "$out"
        done
    done
done <<LIST
${WORKFLOWS:-examples/pipeline5.yaml 5
examples/ecommerce.yaml 5
examples/video.yaml 0.5
examples/synthetic16.yaml 0.5}
LIST
echo "wrote $(wc -l < "$out") runs to $out"
