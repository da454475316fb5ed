#!/usr/bin/env bash
# shardbox POST /run vs the floor (no sandbox) vs bubblewrap, on go-judge's own benchmark request.
#
# The request is go-judge's README benchmark (`wrk -s t.lua`): `/bin/cat a.hs` with two copyIn
# files (a.hs, b), empty stdin, stdout/stderr collectors of 10240 bytes, cpuLimit 10 s,
# memoryLimit 100 MiB, procLimit 50. Three servers answer it through the same HTTP path and are
# measured by the same load generator in one invocation per scenario, interleaved over rounds:
#   shardbox  the engine with its embedded defaults (pre-forked containers, cgroups, seccomp)
#   floor     examples/judge_floor: the program spawned directly with pipes, no sandbox
#   bwrap     examples/judge_floor --bwrap: each request runs bwrap as a one-shot sandbox
# Every response must be 200 and contain "status":"Accepted" (a failed run is an error).
# Scenarios: 1 connection, and PARALLELISM connections (default: nproc, shardbox's default
# -parallelism). Installs bubblewrap from Debian when missing, builds what it runs (release),
# checks each server's answer once (saved beside the results), stops every server on exit.
# Results go to
#   bench/results/<UTC date>-judge/{raw.csv,summary.md,README.md,request.json,answers/}
#
# Bounded: every step has a timeout; the run takes about
#   2 scenarios × ROUNDS × 3 targets × (WARMUP + DURATION)  (≈ 3 min with the defaults)
# plus the builds. Loopback only.
#
# Knobs (environment): ROUNDS=5 DURATION=5s WARMUP=1s PARALLELISM=$(nproc) THREADS=1
#   SHARDBOX_PORT=18280 FLOOR_PORT=18281 BWRAP_PORT=18282 OUT=<dir> NOTE=<text for README>
#   SHARDBOX_ARGS=<extra flags for shardbox>
#   SHARDBOX_BIN=<a prebuilt server taking the same flags; skips building the engine>
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5s}
WARMUP=${WARMUP:-1s}
PARALLELISM=${PARALLELISM:-$(nproc)}
THREADS=${THREADS:-1}
SHARDBOX_PORT=${SHARDBOX_PORT:-18280}
FLOOR_PORT=${FLOOR_PORT:-18281}
BWRAP_PORT=${BWRAP_PORT:-18282}
SHARDBOX_ARGS=${SHARDBOX_ARGS:-}
OUT=${OUT:-$root/bench/results/$(date -u +%F)-judge}
NOTE=${NOTE:-}

SCRIPT=judge-vs-floor
# shellcheck source=bench/scripts/lib.sh
. bench/scripts/lib.sh
require_free_ports "$SHARDBOX_PORT" "$FLOOR_PORT" "$BWRAP_PORT"
command -v bwrap >/dev/null 2>&1 || apt_install bubblewrap
BWRAP=$(command -v bwrap)

if [ -n "${SHARDBOX_BIN:-}" ]; then
    say "server under the name shardbox: $SHARDBOX_BIN (SHARDBOX_BIN)"
    SHARDBOX=$SHARDBOX_BIN
else
    say "building shardbox (release)"
    timeout 1800 cargo build --release -p shardbox-engine
    SHARDBOX=$root/target/release/shardbox
fi
say "building shardbox-bench and the judge_floor example (release)"
timeout 1800 cargo build --release -p shardbox-bench --bin shardbox-bench --example judge_floor
BENCH=$root/target/release/shardbox-bench
FLOOR=$root/target/release/examples/judge_floor

# go-judge's README benchmark body (t.lua), byte for byte.
cat >"$work/request.json" <<'EOF'
{"cmd":[{"args":["/bin/cat","a.hs"],"env":["PATH=/usr/bin:/bin"],"files":[{"content":""},{"name":"stdout","max":10240},{"name":"stderr","max":10240}],"cpuLimit":10000000000,"memoryLimit":104857600,"procLimit":50,"copyIn":{"a.hs":{"content":"main = putStrLn \"Hello, World!\""},"b":{"content":"TEST"}}}]}
EOF
truncate -s -1 "$work/request.json" # no trailing newline, as wrk sends it

say "starting shardbox on 127.0.0.1:$SHARDBOX_PORT (embedded defaults)"
# shellcheck disable=SC2086 # SHARDBOX_ARGS is a list of flags
server shardbox "$SHARDBOX" -http-addr "127.0.0.1:$SHARDBOX_PORT" $SHARDBOX_ARGS
shardbox_pid=$server_pid
wait_port "$SHARDBOX_PORT" "$shardbox_pid" shardbox

say "starting the floor on 127.0.0.1:$FLOOR_PORT and bwrap on 127.0.0.1:$BWRAP_PORT"
server floor "$FLOOR" "127.0.0.1:$FLOOR_PORT"
floor_pid=$server_pid
server bwrap "$FLOOR" "127.0.0.1:$BWRAP_PORT" "--bwrap=$BWRAP"
bwrap_pid=$server_pid
wait_port "$FLOOR_PORT" "$floor_pid" floor
wait_port "$BWRAP_PORT" "$bwrap_pid" bwrap

mkdir -p "$OUT/answers"
rm -f "$OUT/raw.csv" "$OUT/summary.md"
cp "$work/request.json" "$OUT/request.json"
for target in "shardbox $SHARDBOX_PORT" "floor $FLOOR_PORT" "bwrap $BWRAP_PORT"; do
    read -r name port <<<"$target"
    answer=$OUT/answers/$name
    timeout 30 curl -s -D "$answer.head" -o "$answer.json" \
        -H 'Content-Type: application/json;charset=UTF-8' --data-binary "@$work/request.json" \
        "http://127.0.0.1:$port/run" || die "$name did not answer the request"
    grep -q '"status":"Accepted"' "$answer.json" \
        || die "$name did not answer Accepted: $(cat "$answer.json")"
    grep -qF 'main = putStrLn \"Hello, World!\"' "$answer.json" \
        || die "$name's stdout is not a.hs: $(cat "$answer.json")"
    tr -d '\r' <"$answer.head" >"$answer.head.txt" && rm "$answer.head"
    printf '%-8s %s\n' "$name" "$(cat "$answer.json")" >&2
done

# Relative paths (from the repository root, the working directory) keep the recorded
# commands short and valid in any checkout.
rel_out=${OUT#"$root"/}
rel_bench=${BENCH#"$root"/}
compare() { # scenario connections
    say "compare: $1"
    timeout 1200 "$rel_bench" compare \
        --target "shardbox=http://127.0.0.1:$SHARDBOX_PORT/run" \
        --target "floor=http://127.0.0.1:$FLOOR_PORT/run" \
        --target "bwrap=http://127.0.0.1:$BWRAP_PORT/run" \
        --pid "shardbox=$shardbox_pid" --pid "floor=$floor_pid" --pid "bwrap=$bwrap_pid" \
        --baseline floor --rounds "$ROUNDS" --scenario "$1" \
        -c "$2" -t "$THREADS" --warmup "$WARMUP" --duration "$DURATION" \
        -X POST -H 'Content-Type: application/json;charset=UTF-8' \
        --body-file "$rel_out/request.json" --expect-body-contains '"status":"Accepted"' \
        --csv "$rel_out/raw.csv" --summary "$rel_out/summary.md"
}
rc=0
compare "judge-c1" 1 || rc=$?
compare "judge-c$PARALLELISM" "$PARALLELISM" || rc=$?

# The servers stay up until the trap; say if any died during the runs.
for target in "shardbox $shardbox_pid" "floor $floor_pid" "bwrap $bwrap_pid"; do
    read -r name pid <<<"$target"
    kill -0 "$pid" 2>/dev/null || { echo "judge-vs-floor: $name died during the run" >&2; rc=1; }
done
cp "$work/shardbox.log" "$work/floor.log" "$work/bwrap.log" "$OUT/"

{
    echo "# shardbox /run vs the floor vs bubblewrap: setup"
    echo
    echo "Produced by \`bench/scripts/judge-vs-floor.sh\` (knobs: ROUNDS=$ROUNDS DURATION=$DURATION"
    echo "WARMUP=$WARMUP PARALLELISM=$PARALLELISM THREADS=$THREADS)."
    [ -n "$NOTE" ] && { echo; echo "**$NOTE**"; }
    echo
    echo "- date (UTC): $(date -u +%FT%TZ)"
    echo "- machine: $(nproc) × $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(free -g | awk '/Mem:/{print $2}') GiB, kernel $(uname -r)"
    [ -n "${SHARDBOX_BIN:-}" ] && echo "- **server under the name shardbox: \`$SHARDBOX_BIN\` (SHARDBOX_BIN), not the engine**"
    echo "- shardbox: commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . 2>/dev/null || echo ' (with local changes)'), \`shardbox -http-addr 127.0.0.1:$SHARDBOX_PORT $SHARDBOX_ARGS\` (embedded defaults)"
    echo "- floor: \`target/release/examples/judge_floor 127.0.0.1:$FLOOR_PORT\` (same commit): the program spawned directly with pipes, no sandbox"
    echo "- bwrap: \`target/release/examples/judge_floor 127.0.0.1:$BWRAP_PORT --bwrap=$BWRAP\`, $("$BWRAP" --version) from Debian, one sandbox per request"
    echo "- load generator: \`shardbox-bench\` (same commit), co-located on the same CPUs; exact commands in \`summary.md\`"
    echo "- request: \`request.json\` (go-judge's README benchmark body); every response checked: status 200 and \`\"status\":\"Accepted\"\` in the body"
    echo "- one answer of each server, taken before the runs: \`answers/<target>.json\` and \`.head.txt\`"
    echo
    echo "Files: \`raw.csv\` (one row per run: every round of every target), \`summary.md\` (medians and ratios),"
    echo "\`shardbox.log\`, \`floor.log\`, \`bwrap.log\` (the servers' stderr)."
} >"$OUT/README.md"

say "results in $OUT"
exit "$rc"
