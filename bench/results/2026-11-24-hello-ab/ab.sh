#!/usr/bin/env bash
# Interleaved A/B of /hello keep-alive: old build (8bd3bd6) vs current main, same flags.
set -euo pipefail
cd /work/wt/lead
OUT=${OUT:-bench/results/2026-11-24-hello-ab}
mkdir -p "$OUT"; rm -f "$OUT/raw.csv" "$OUT/summary.md"
OLD=/tmp/ab-old/target/release/shardbox
NEW=target/release/shardbox
$OLD -http-addr 127.0.0.1:18190 -parallelism 2 -release > /tmp/ab-old.log 2>&1 & op=$!
$NEW -http-addr 127.0.0.1:18191 -parallelism 2 -release > /tmp/ab-new.log 2>&1 & np=$!
trap 'kill $op $np 2>/dev/null; sleep 1; kill -9 $op $np 2>/dev/null || true' EXIT
sleep 3
timeout 600 target/release/shardbox-bench compare \
  --target "old-8bd3bd6=http://127.0.0.1:18190/hello" --target "new=http://127.0.0.1:18191/hello" \
  --pid "old-8bd3bd6=$op" --pid "new=$np" --baseline old-8bd3bd6 --rounds 5 --scenario keepalive-c32 \
  -c 32 -d 1 -t 1 --warmup 1s --duration 5s --csv "$OUT/raw.csv" --summary "$OUT/summary.md"
