#!/usr/bin/env bash
# Does a POST /run get slower after the server has been idle? Sequential requests with a fixed
# idle gap between them, for shardbox and the floor (and optionally a second shardbox build, for
# an A/B), interleaved in small blocks so every target sees the same machine.
#
# The request is go-judge's README benchmark, as in judge-vs-floor.sh (`/bin/cat a.hs`, two
# copyIn files, stdout/stderr collectors). One keep-alive connection per target (python3's
# http.client). Per gap, per target: the client-side latency (send to full answer), and the
# answer's `runTime` and `time` (CPU), as p10/p50/p90. Targets take turns in blocks of BLOCK
# requests; the first request of each block follows the other targets' block, not the gap, and
# is left out of the numbers.
#
# Servers:
#   A      shardbox (SHARDBOX_BIN, or a release build of this checkout), embedded defaults
#   floor  examples/judge_floor: the program spawned directly with pipes, no sandbox
#   B      a second shardbox (SHARDBOX_B_BIN), only when set
#
# Bounded: COUNT requests per gap per target; with the defaults (GAPS="0 1 5 20 100",
# COUNT=300) the gaps alone take ≈ 2 targets × 300 × 126 ms ≈ 80 s (≈ 120 s with B). Loopback.
#
# Knobs: GAPS="0 1 5 20 100" (ms) COUNT=300 BLOCK=10 A_PORT=18380 FLOOR_PORT=18381 B_PORT=18382
#   SHARDBOX_BIN=... SHARDBOX_B_BIN=... SHARDBOX_ARGS=<extra flags for both shardbox servers>
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

GAPS=${GAPS:-0 1 5 20 100}
COUNT=${COUNT:-300}
BLOCK=${BLOCK:-10}
A_PORT=${A_PORT:-18380}
FLOOR_PORT=${FLOOR_PORT:-18381}
B_PORT=${B_PORT:-18382}
SHARDBOX_ARGS=${SHARDBOX_ARGS:-}

SCRIPT=judge-idle-gaps
# shellcheck source=bench/scripts/lib.sh
. bench/scripts/lib.sh
require_free_ports "$A_PORT" "$FLOOR_PORT" ${SHARDBOX_B_BIN:+"$B_PORT"}
[ "$BLOCK" -ge 2 ] || die "BLOCK must be at least 2 (the first request of a block is dropped)"

if [ -n "${SHARDBOX_BIN:-}" ]; then
    A=$SHARDBOX_BIN
else
    timeout 1800 cargo build --release -p shardbox-engine
    A=$root/target/release/shardbox
fi
timeout 1800 cargo build --release -p shardbox-bench --example judge_floor
FLOOR=$root/target/release/examples/judge_floor

targets="A=$A_PORT floor=$FLOOR_PORT"
# shellcheck disable=SC2086 # SHARDBOX_ARGS is a list of flags
server A "$A" -http-addr "127.0.0.1:$A_PORT" $SHARDBOX_ARGS
wait_port "$A_PORT" "$server_pid" A
server floor "$FLOOR" "127.0.0.1:$FLOOR_PORT"
wait_port "$FLOOR_PORT" "$server_pid" floor
if [ -n "${SHARDBOX_B_BIN:-}" ]; then
    # shellcheck disable=SC2086
    server B "$SHARDBOX_B_BIN" -http-addr "127.0.0.1:$B_PORT" $SHARDBOX_ARGS
    wait_port "$B_PORT" "$server_pid" B
    targets="$targets B=$B_PORT"
fi

echo "# $(date -u +%FT%TZ) A=$A${SHARDBOX_B_BIN:+ B=$SHARDBOX_B_BIN} COUNT=$COUNT BLOCK=$BLOCK"
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
# shellcheck disable=SC2086 # targets is a list of NAME=PORT words
timeout $((COUNT * 3 + 600)) python3 - "$COUNT" "$BLOCK" "$GAPS" $targets <<'EOF'
import http.client, json, sys, time

count, block, gaps = int(sys.argv[1]), int(sys.argv[2]), [float(g) for g in sys.argv[3].split()]
targets = [t.split("=") for t in sys.argv[4:]]
body = (b'{"cmd":[{"args":["/bin/cat","a.hs"],"env":["PATH=/usr/bin:/bin"],"files":[{"content":""},'
        b'{"name":"stdout","max":10240},{"name":"stderr","max":10240}],"cpuLimit":10000000000,'
        b'"memoryLimit":104857600,"procLimit":50,"copyIn":{"a.hs":{"content":"main = putStrLn '
        b'\\"Hello, World!\\""},"b":{"content":"TEST"}}}]}')
conns = {name: http.client.HTTPConnection("127.0.0.1", int(port)) for name, port in targets}

def one(name):
    c = conns[name]
    t = time.perf_counter()
    c.request("POST", "/run", body, {"Content-Type": "application/json;charset=UTF-8"})
    r = c.getresponse()
    d = r.read()
    wall = (time.perf_counter() - t) * 1e6
    ans = json.loads(d)[0]
    if r.status != 200 or ans.get("status") != "Accepted":
        sys.exit(f"{name}: {r.status} {d[:200]!r}")
    return wall, ans["runTime"] / 1e3, ans["time"] / 1e3

def q(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]

print("| gap ms | target | n | latency p10 / p50 / p90 µs | runTime p10 / p50 / p90 µs | time p50 µs | load avg |")
print("|---:|---|---:|---:|---:|---:|---|")
for gap in gaps:
    res = {name: ([], [], []) for name, _ in targets}
    rounds = -(-count // (block - 1))
    for r in range(rounds):
        order = targets if r % 2 == 0 else targets[::-1]
        for name, _ in order:
            for j in range(block):
                got = one(name)
                if j > 0:
                    for xs, v in zip(res[name], got):
                        xs.append(v)
                if gap > 0:
                    time.sleep(gap / 1e3)
    load = open("/proc/loadavg").read().split()[0]
    for name, _ in targets:
        w, rt, tm = (xs[:count] for xs in res[name])
        print(f"| {gap:g} | {name} | {len(w)} | {q(w,.1):.0f} / {q(w,.5):.0f} / {q(w,.9):.0f} "
              f"| {q(rt,.1):.0f} / {q(rt,.5):.0f} / {q(rt,.9):.0f} | {q(tm,.5):.0f} | {load} |",
              flush=True)
EOF
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
