#!/usr/bin/env python3
"""Summarises bench/scripts/autoflow-eval.sh output: per workflow and load pattern, each policy's
throughput, latency, cost per request, SLO attainment, utilisation, throttles and cold starts (means
over seeds), and whether the agent is cheaper than target tracking and KPA at equal or better p99
and SLO attainment. Usage: autoflow-table.py RUNS.jsonl"""
import collections
import json
import sys

runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
groups = collections.OrderedDict()
for r in runs:
    groups.setdefault((r["workflow"], r["pattern"]), []).append(r)

FIELDS = ["throughput_per_s", "latency_s_mean", "latency_s_p95", "latency_s_p99",
          "cost_usd_per_request", "slo_attainment", "utilisation", "throttles", "cold_starts"]


def mean(xs):
    return sum(xs) / len(xs) if xs else float("nan")


verdicts = []
for (wf, pattern), rs in groups.items():
    per = collections.OrderedDict()
    for r in rs:
        for p in r["runs"]:
            per.setdefault(p["policy"], []).append(p)
    print(f"\n### {wf}, {pattern} load ({rs[0]['rate']}/s mean, {rs[0]['minutes']:.0f} min, "
          f"seeds {', '.join(str(r['seed']) for r in rs)})\n")
    print("| policy | throughput/s | mean s | p95 s | p99 s | USD/request | SLO met | utilisation | throttles | cold starts |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    m = {}
    for pol, ps in per.items():
        m[pol] = {f: mean([p[f] for p in ps]) for f in FIELDS}
        v = m[pol]
        print(f"| {pol} | {v['throughput_per_s']:.2f} | {v['latency_s_mean']:.3f} | {v['latency_s_p95']:.3f} | "
              f"{v['latency_s_p99']:.3f} | {v['cost_usd_per_request']:.7f} | {100*v['slo_attainment']:.1f}% | "
              f"{100*v['utilisation']:.1f}% | {v['throttles']:.0f} | {v['cold_starts']:.0f} |")
    if "agent" in m:
        a = m["agent"]
        for other in ("target-tracking", "kpa"):
            if other not in m:
                continue
            o = m[other]
            cheaper = a["cost_usd_per_request"] < o["cost_usd_per_request"]
            p99_ok = a["latency_s_p99"] <= o["latency_s_p99"] * 1.01
            slo_ok = a["slo_attainment"] >= o["slo_attainment"] - 0.001
            verdicts.append((wf, pattern, other, cheaper and p99_ok and slo_ok,
                             100 * (a["cost_usd_per_request"] / o["cost_usd_per_request"] - 1),
                             a["latency_s_p99"] - o["latency_s_p99"],
                             100 * (a["slo_attainment"] - o["slo_attainment"])))
        if "static-mean" in m:
            s = m["static-mean"]
            print(f"\nagent vs static-mean: throughput x{a['throughput_per_s']/max(s['throughput_per_s'],1e-12):.3f}, "
                  f"cost per request x{a['cost_usd_per_request']/s['cost_usd_per_request']:.3f}")

if verdicts:
    print("\n### Agent against target tracking and KPA (cheaper at equal or better p99 (within 1%) and SLO attainment)\n")
    print("| workflow | load | against | wins | cost | p99 (s) | SLO attainment (points) |")
    print("|---|---|---|---|---:|---:|---:|")
    for wf, pattern, other, win, dc, dp, ds in verdicts:
        print(f"| {wf} | {pattern} | {other} | {'yes' if win else 'no'} | {dc:+.2f}% | {dp:+.3f} | {ds:+.1f} |")
    print(f"\nagent wins {sum(v[3] for v in verdicts)} of {len(verdicts)} comparisons")
