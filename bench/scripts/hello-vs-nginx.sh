#!/usr/bin/env bash
# shardbox GET /hello vs nginx returning the same bytes, side by side, on loopback.
#
# Installs nginx from Debian when missing, builds shardbox and shardbox-bench (release), starts
# shardbox, reads its /hello response, writes a private nginx config (loopback port,
# worker_processes = shard count, access_log off, keep-alive) that returns the same body with
# the same Content-Type, checks both bodies are identical and prints both heads, then runs
# `shardbox-bench compare` for two scenarios (keep-alive not pipelined; pipelined depth 16),
# interleaved over rounds, and stops both servers. Results go to
#   bench/results/<UTC date>-hello-vs-nginx/{raw.csv,summary.md,README.md,nginx.conf}
#
# Bounded: every step has a timeout; the whole run takes about
#   2 scenarios × ROUNDS × 2 targets × (WARMUP + DURATION)  (≈ 2 min with the defaults)
# plus the build. Loopback only.
#
# Knobs (environment): ROUNDS=5 DURATION=5s WARMUP=1s CONNECTIONS=32 DEPTH=16 THREADS=1
#   SHARDS=$(nproc) SHARDBOX_PORT=18080 NGINX_PORT=18081 OUT=<dir> NOTE=<text for README>
#   SHARDBOX_ARGS=<extra flags for shardbox>
#   SHARDBOX_BIN=<a prebuilt server taking the same flags; skips building the engine>
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5s}
WARMUP=${WARMUP:-1s}
CONNECTIONS=${CONNECTIONS:-32}
DEPTH=${DEPTH:-16}
THREADS=${THREADS:-1}
SHARDS=${SHARDS:-$(nproc)}
SHARDBOX_PORT=${SHARDBOX_PORT:-18080}
NGINX_PORT=${NGINX_PORT:-18081}
SHARDBOX_ARGS=${SHARDBOX_ARGS:-}
OUT=${OUT:-$root/bench/results/$(date -u +%F)-hello-vs-nginx}
NOTE=${NOTE:-}

SCRIPT=hello-vs-nginx
# shellcheck source=bench/scripts/lib.sh
. bench/scripts/lib.sh
require_free_ports "$SHARDBOX_PORT" "$NGINX_PORT"
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || apt_install nginx
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

if [ -n "${SHARDBOX_BIN:-}" ]; then
    say "building shardbox-bench (release); server: $SHARDBOX_BIN"
    timeout 1200 cargo build --release -p shardbox-bench
    SHARDBOX=$SHARDBOX_BIN
else
    say "building shardbox and shardbox-bench (release)"
    timeout 1200 cargo build --release -p shardbox-engine -p shardbox-bench
    SHARDBOX=$root/target/release/shardbox
fi
BENCH=$root/target/release/shardbox-bench

say "starting shardbox: $SHARDS shards on 127.0.0.1:$SHARDBOX_PORT"
# shellcheck disable=SC2086 # SHARDBOX_ARGS is a list of flags
server shardbox "$SHARDBOX" -http-addr "127.0.0.1:$SHARDBOX_PORT" -parallelism "$SHARDS" $SHARDBOX_ARGS
shardbox_pid=$server_pid
wait_port "$SHARDBOX_PORT" "$shardbox_pid" shardbox

curl -s -D "$work/shardbox.head" -o "$work/shardbox.body" "http://127.0.0.1:$SHARDBOX_PORT/hello"
status=$(head -n1 "$work/shardbox.head" | awk '{print $2}')
[ "$status" = 200 ] || die "shardbox /hello answered status $status"
content_type=$(curl -s -o /dev/null -w '%{content_type}' "http://127.0.0.1:$SHARDBOX_PORT/hello")
[ -n "$content_type" ] || content_type=text/plain

# The body as an nginx double-quoted string. `$` would start a variable: refuse rather than
# serve different bytes.
body_literal=$(python3 - "$work/shardbox.body" <<'PY'
import sys
body = open(sys.argv[1], 'rb').read().decode('utf-8')
if '$' in body:
    sys.exit("the /hello body contains '$', which nginx's return would expand")
print(body.replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n').replace('\r', '\\r').replace('\t', '\\t'))
PY
)

mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<EOF
# Private nginx for hello-vs-nginx.sh: loopback only, no logs, keep-alive without a request cap.
daemon off;
master_process on;
worker_processes $SHARDS;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    server_tokens off;
    keepalive_timeout 75s;
    keepalive_requests 1000000000;
    client_body_temp_path $work/nginx/body;
    proxy_temp_path $work/nginx/proxy;
    fastcgi_temp_path $work/nginx/fastcgi;
    uwsgi_temp_path $work/nginx/uwsgi;
    scgi_temp_path $work/nginx/scgi;
    server {
        listen 127.0.0.1:$NGINX_PORT reuseport;
        location = /hello {
            default_type "$content_type";
            return 200 "$body_literal";
        }
    }
}
EOF

say "starting nginx $("$NGINX" -v 2>&1 | sed 's|.*/||'): $SHARDS workers on 127.0.0.1:$NGINX_PORT"
server nginx "$NGINX" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log"
nginx_pid=$server_pid
wait_port "$NGINX_PORT" "$nginx_pid" nginx

curl -s -D "$work/nginx.head" -o "$work/nginx.body" "http://127.0.0.1:$NGINX_PORT/hello"
cmp -s "$work/shardbox.body" "$work/nginx.body" || die "nginx's body differs from shardbox's"
sb_head=$(wc -c <"$work/shardbox.head")
ng_head=$(wc -c <"$work/nginx.head")
body_bytes=$(wc -c <"$work/shardbox.body")
say "same body ($body_bytes bytes); response heads: shardbox $sb_head bytes, nginx $ng_head bytes"
printf -- '--- shardbox\n%s--- nginx\n%s' "$(cat "$work/shardbox.head")" "$(cat "$work/nginx.head")" | tr -d '\r' >&2

mkdir -p "$OUT"
rm -f "$OUT/raw.csv" "$OUT/summary.md"
cp "$work/nginx/nginx.conf" "$OUT/nginx.conf"
sed -i "s|$work|/tmp/hello-vs-nginx.XXXXXX|g" "$OUT/nginx.conf"

# Relative paths (from the repository root, the working directory) keep the recorded
# commands short and valid in any checkout.
rel_out=${OUT#"$root"/}
rel_bench=${BENCH#"$root"/}
# shardbox's per-shard counters (responses, ring sleeps, CPU and run-queue wait per shard
# thread) before and after each scenario, so the run records how the shards shared the work
# and whether one waited for its CPU. Subtract the two files to get the scenario's share.
shard_metrics() { # file
    curl -s --max-time 5 "http://127.0.0.1:$SHARDBOX_PORT/metrics" | grep -E '^shardbox_shard' >"$1" || true
}
compare() { # scenario depth
    say "compare: $1"
    shard_metrics "$OUT/shardbox-shards-before-$1.txt"
    local status=0
    timeout 900 "$rel_bench" compare \
        --target "shardbox=http://127.0.0.1:$SHARDBOX_PORT/hello" \
        --target "nginx=http://127.0.0.1:$NGINX_PORT/hello" \
        --pid "shardbox=$shardbox_pid" --pid "nginx=$nginx_pid" \
        --baseline nginx --rounds "$ROUNDS" --scenario "$1" \
        -c "$CONNECTIONS" -d "$2" -t "$THREADS" --warmup "$WARMUP" --duration "$DURATION" \
        --csv "$rel_out/raw.csv" --summary "$rel_out/summary.md" || status=$?
    shard_metrics "$OUT/shardbox-shards-after-$1.txt"
    return "$status"
}
rc=0
compare "keepalive-c$CONNECTIONS" 1 || rc=$?
compare "pipelined-c$CONNECTIONS-d$DEPTH" "$DEPTH" || rc=$?

{
    echo "# shardbox /hello vs nginx: setup"
    echo
    echo "Produced by \`bench/scripts/hello-vs-nginx.sh\` (knobs: ROUNDS=$ROUNDS DURATION=$DURATION"
    echo "WARMUP=$WARMUP CONNECTIONS=$CONNECTIONS DEPTH=$DEPTH THREADS=$THREADS SHARDS=$SHARDS)."
    [ -n "$NOTE" ] && { echo; echo "**$NOTE**"; }
    echo
    echo "- date (UTC): $(date -u +%FT%TZ)"
    echo "- machine: $(nproc) × $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(free -g | awk '/Mem:/{print $2}') GiB, kernel $(uname -r)"
    [ -n "${SHARDBOX_BIN:-}" ] && echo "- **server under the name shardbox: \`$SHARDBOX_BIN\` (SHARDBOX_BIN), not the engine**"
    echo "- shardbox: commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . 2>/dev/null || echo ' (with local changes)'), \`shardbox -http-addr 127.0.0.1:$SHARDBOX_PORT -parallelism $SHARDS $SHARDBOX_ARGS\`"
    echo "- nginx: $("$NGINX" -v 2>&1 | sed 's|.*/||') from Debian, config in \`nginx.conf\` beside this file ($SHARDS workers, reuseport, access_log off)"
    echo "- load generator: \`shardbox-bench\` (same commit), co-located on the same CPUs; exact commands in \`summary.md\`"
    echo "- both return the same $body_bytes-byte body; response heads are $sb_head bytes (shardbox) and $ng_head bytes (nginx):"
    echo
    echo '```'
    tr -d '\r' <"$work/shardbox.head"
    tr -d '\r' <"$work/nginx.head"
    echo '```'
    echo
    echo "Files: \`raw.csv\` (one row per run: every round of every target), \`summary.md\` (medians and ratios),"
    echo "\`shardbox-shards-{before,after}-<scenario>.txt\` (shardbox's per-shard /metrics series around each scenario)."
} >"$OUT/README.md"

say "results in $OUT"
exit "$rc"
