#!/usr/bin/env bash
# What the load generator itself costs: shardbox-bench vs wrk against the same private nginx.
#
# Both tools drive 32 connections for DURATION, not pipelined and pipelined 16 deep (wrk
# through a Lua script, as TechEmpower does), alternating tool by tool over ROUNDS rounds.
# Each tool's own CPU (user, system) is taken from getrusage of the finished child, so both are
# measured the same way, over the whole run (shardbox-bench runs with --warmup 0 here).
# Installs nginx and wrk from Debian when missing. Loopback only, bounded: about
# 2 modes × 2 tools × ROUNDS × DURATION (≈ 1 min with the defaults).
#
# Knobs (environment): ROUNDS=3 DURATION=5 (seconds) PORT=18085 OUT=<dir>
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
PORT=${PORT:-18085}
OUT=${OUT:-$root/bench/results/$(date -u +%F)-loadgen-vs-wrk}

SCRIPT=loadgen-vs-wrk
# shellcheck source=bench/scripts/lib.sh
. bench/scripts/lib.sh
require_free_ports "$PORT"

missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
[ "${#missing[@]}" -eq 0 ] || apt_install "${missing[@]}"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
timeout 1200 cargo build --release -p shardbox-bench
BENCH=$root/target/release/shardbox-bench

cat >"$work/nginx.conf" <<EOF
daemon off;
worker_processes 2;
pid $work/nginx.pid;
error_log $work/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    server_tokens off;
    keepalive_requests 1000000000;
    client_body_temp_path $work/body;
    server {
        listen 127.0.0.1:$PORT reuseport;
        location = /hello { default_type text/plain; return 200 "hello, world\n"; }
    }
}
EOF
server nginx "$NGINX" -c "$work/nginx.conf" -e "$work/error.log"
wait_port "$PORT" "$server_pid" nginx

cat >"$work/pipeline.lua" <<'EOF'
init = function(args)
   local r = {}
   for i = 1, 16 do r[i] = wrk.format(nil, "/hello") end
   req = table.concat(r)
end
request = function() return req end
EOF

# Runs a command, prints "requests seconds user_s sys_s" (requests parsed from its output).
measure() {
    python3 - "$@" <<'PY'
import re, resource, subprocess, sys
out = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=120).stdout
m = re.search(r'^\s*(\d+) requests in ([\d.]+)s,', out, re.M) or re.search(r'^requests\s+(\d+) in ([\d.]+) s', out, re.M)
if not m or 'RUN HAD' in out or 'Non-2xx' in out or 'Socket errors' in out:
    sys.exit("run failed or had errors:\n" + out)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(m.group(1), m.group(2), f"{r.ru_utime:.3f}", f"{r.ru_stime:.3f}")
PY
}

mkdir -p "$OUT"
csv=$OUT/raw.csv
echo "mode,tool,round,requests,seconds,user_s,sys_s,user_us_per_req,sys_us_per_req" >"$csv"
url="http://127.0.0.1:$PORT/hello"
for round in $(seq 0 $((ROUNDS - 1))); do
    for mode in keepalive-c32 pipelined-c32-d16; do
        if [ "$mode" = keepalive-c32 ]; then
            wrk_cmd=(wrk -t1 -c32 "-d${DURATION}s" "$url")
            bench_cmd=("$BENCH" run "$url" -c 32 --warmup 0ms --duration "${DURATION}s")
        else
            wrk_cmd=(wrk -t1 -c32 "-d${DURATION}s" -s "$work/pipeline.lua" "$url")
            bench_cmd=("$BENCH" run "$url" -c 32 -d 16 --warmup 0ms --duration "${DURATION}s")
        fi
        for tool in wrk shardbox-bench; do
            if [ "$tool" = wrk ]; then read -r n d u s < <(measure "${wrk_cmd[@]}");
            else read -r n d u s < <(measure "${bench_cmd[@]}"); fi
            python3 -c "import sys; n,u,s,d=int(sys.argv[1]),float(sys.argv[2]),float(sys.argv[3]),float(sys.argv[4]); print(f'{sys.argv[5]},{sys.argv[6]},{sys.argv[7]},{n},{d},{u},{s},{u*1e6/n:.3f},{s*1e6/n:.3f}')" \
                "$n" "$u" "$s" "$d" "$mode" "$tool" "$round" | tee -a "$csv"
        done
    done
done
{
    echo "# shardbox-bench vs wrk: load-generator CPU per request"
    echo
    echo "- date (UTC): $(date -u +%FT%TZ); machine: $(nproc) × $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), kernel $(uname -r)"
    echo "- commit $(git rev-parse --short HEAD); $(wrk -v 2>&1 | head -n1); $("$NGINX" -v 2>&1 | sed 's|.*/||') (2 workers) as the server"
    echo "- command: \`ROUNDS=$ROUNDS DURATION=$DURATION bash bench/scripts/loadgen-vs-wrk.sh\`"
    echo "- CPU: getrusage of each finished tool (whole run, all threads); one thread each, 32 connections"
    echo
    echo "| mode | tool | requests/s (median) | user µs/req (median) | sys µs/req (median) |"
    echo "|---|---|---:|---:|---:|"
    python3 - "$csv" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
for mode in dict.fromkeys(r['mode'] for r in rows):
    for tool in dict.fromkeys(r['tool'] for r in rows):
        mine = [r for r in rows if r['mode'] == mode and r['tool'] == tool]
        med = lambda k: statistics.median(float(r[k]) for r in mine)
        rps = statistics.median(int(r['requests']) / float(r['seconds']) for r in mine)
        print(f"| {mode} | {tool} | {rps:.0f} | {med('user_us_per_req'):.2f} | {med('sys_us_per_req'):.2f} |")
PY
} >"$OUT/summary.md"
cat "$OUT/summary.md"
