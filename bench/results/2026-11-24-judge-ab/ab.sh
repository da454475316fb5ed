#!/usr/bin/env bash
# Interleaved A/B of POST /run (go-judge's benchmark request), 1 connection: session start (2f5ae9d) vs main.
set -euo pipefail
cd /work/wt/lead
OUT=bench/results/2026-11-24-judge-ab
mkdir -p "$OUT"; rm -f "$OUT/raw.csv" "$OUT/summary.md"
cp bench/results/2026-11-24-judge/request.json "$OUT/request.json"
OLD=/tmp/ab-old/target/release/shardbox
NEW=target/release/shardbox
$OLD -http-addr 127.0.0.1:18290 -release -cgroup-prefix shardbox-ab-old > /tmp/abj-old.log 2>&1 & op=$!
$NEW -http-addr 127.0.0.1:18291 -release -cgroup-prefix shardbox-ab-new > /tmp/abj-new.log 2>&1 & np=$!
trap 'kill $op $np 2>/dev/null; sleep 2; kill -9 $op $np 2>/dev/null || true' EXIT
sleep 4
timeout 600 target/release/shardbox-bench compare \
  --target "old-2f5ae9d=http://127.0.0.1:18290/run" --target "new=http://127.0.0.1:18291/run" \
  --pid "old-2f5ae9d=$op" --pid "new=$np" --baseline old-2f5ae9d --rounds 5 --scenario judge-c1 \
  -c 1 -t 1 --warmup 1s --duration 5s -X POST -H 'Content-Type: application/json;charset=UTF-8' \
  --body-file "$OUT/request.json" --expect-body-contains '"status":"Accepted"' \
  --csv "$OUT/raw.csv" --summary "$OUT/summary.md"
