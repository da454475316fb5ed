# shellcheck shell=bash
# What every benchmark script in this directory does the same way: messages, a private work
# directory, Debian packages it may install, free ports, and the background servers it starts,
# which are always stopped on exit (also on Ctrl-C or an error).
#
# Use: `SCRIPT=<name>` then `. bench/scripts/lib.sh`, from the repository root. After that:
#   say TEXT / die TEXT          progress on stderr / an error naming the script, exit 1
#   require_free_ports PORT...   die if something already listens on 127.0.0.1:PORT
#   apt_install PACKAGE...       install from Debian (bounded in time)
#   $work                        a fresh directory under /tmp, removed on exit
#   server NAME CMD...           start CMD in the background, output in $work/NAME.log; its pid
#                                is in $server_pid and it is stopped on exit
#   wait_port PORT PID NAME      wait (≤ 30 s) until 127.0.0.1:PORT accepts; die if PID exits

say() { printf '\n== %s\n' "$*" >&2; }
die() { printf '%s: %s\n' "$SCRIPT" "$*" >&2; exit 1; }

require_free_ports() { # port...
    local port
    for port in "$@"; do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            die "port $port is already in use on 127.0.0.1 (every port is a knob: see the script's header)"
        fi
    done
}

apt_install() { # package...
    say "installing $* from Debian"
    export DEBIAN_FRONTEND=noninteractive
    timeout 300 apt-get update -qq
    timeout 300 apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

work=$(mktemp -d "/tmp/$SCRIPT.XXXXXX")
server_pids=()
server_pid=''

server() { # name command...
    local name=$1
    shift
    "$@" >"$work/$name.log" 2>&1 &
    server_pid=$!
    server_pids+=("$server_pid")
}

stop_servers() {
    local pid
    for pid in "${server_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${server_pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        # A judge_floor stopped in the middle of a request leaves that request's work dir behind.
        rm -rf "/dev/shm/judge-floor-$pid-"* "${TMPDIR:-/tmp}/judge-floor-$pid-"*
    done
    rm -rf "$work"
}
trap stop_servers EXIT
trap 'exit 130' INT TERM

wait_port() { # port pid name
    for _ in $(seq 150); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || die "$3 exited during start-up: $(tail -n 5 "$work/$3.log" 2>/dev/null)"
        sleep 0.2
    done
    die "$3 does not accept connections on 127.0.0.1:$1 after 30 s"
}
