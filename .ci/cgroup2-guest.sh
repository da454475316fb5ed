#!/usr/bin/env bash
# Runs the sandbox and judge tests on cgroup v2 for real: boots a Debian kernel in qemu with
# `cgroup_no_v1=all` (so the unified hierarchy is the only one, with memory, pids, cpu and cpuset
# enabled at its root), shares this machine's / read-only into the guest over 9p, and runs the
# test binaries built here as root there. Exits with the guests' test status; fails loudly when
# qemu, the kernel or the guest's answer is missing. Needs root (9p export of /).
#
# Usage: bash .ci/cgroup2-guest.sh [SERIES ...]    (default: 6.1)
#   5.10  Debian bullseye's kernel: no memory.peak (5.19) nor pids.peak (6.1), so the peak
#         memory is the programs' largest maxrss (the limit after an OOM kill), cgroups reused
#   6.1   Debian bookworm's kernel: no memory.peak reset, so a cgroup is replaced for each run
#   6.12  bookworm-backports' kernel: memory.peak is reset per run, cgroups are reused
# Env: GUEST_TIMEOUT_S (default 900) bounds each boot; GUEST_MEM (default 3G); GUEST_ACCEL
# (a qemu -accel value: kvm, tcg, tcg,thread=single) overrides the choice below.
# GUEST_TESTS (to iterate on a few tests; CI leaves it unset) runs only the named binaries
# with the given libtest filter, e.g. GUEST_TESTS="sandbox=attacks::lifecycle
# judge=judge::run::parallel_runs" (names: cgroup, sandbox, judge; `name` alone keeps its
# default filter: cgroup::, everything, judge::; one filter per binary); GUEST_REPEAT=N runs
# each N times per boot.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
case "$repo" in *[[:space:]]*) echo "cgroup2-guest: the repository path has a space (a kernel parameter carries it): $repo" >&2; exit 1 ;; esac
cache=$repo/target/cgroup2-guest
mkdir -p "$cache"

for tool in qemu-system-x86_64 busybox dpkg-deb apt-get python3; do
    command -v "$tool" >/dev/null || { echo "cgroup2-guest: $tool is missing (bash .ci/install.sh)" >&2; exit 1; }
done
# KVM when it can run a stock kernel, else TCG (software emulation: same result, slower).
# A PVM host (module kvm_pvm, e.g. inside a Firecracker VM) offers /dev/kvm but runs only
# kernels built as PVM guests: Debian's hangs there before its first message. TCG runs
# single-threaded: multi-threaded, the 6.12 guest once oopsed (int3 mid-instruction in
# enqueue_task_fair) when the kernel patched its own code as cpu.max was first set, and it
# was no slower on this 2-core machine.
tcg=tcg,thread=single
if [ -n "${GUEST_ACCEL:-}" ]; then accel=$GUEST_ACCEL
elif [ ! -w /dev/kvm ]; then accel=$tcg; why="no usable /dev/kvm"
elif [ -d /sys/module/kvm_pvm ]; then accel=$tcg; why="/dev/kvm is PVM (kvm_pvm), which cannot boot a stock kernel"
else accel=kvm
fi
[ "$accel" = kvm ] && cpu=host || { cpu=max; echo "cgroup2-guest: ${why:-GUEST_ACCEL=$accel}: running the guest under TCG (software emulation, slow)" >&2; }

# The test binaries, built here as `cargo test --workspace` builds them (so CI rebuilds
# nothing); the guest runs them from the shared /.
cargo test --workspace --no-run --message-format=json >"$cache/build.json"
mapfile -t tests < <(python3 - "$cache/build.json" <<'EOF'
import json, sys
# Lines "<crate directory> <target> <path>" for every test executable.
for line in open(sys.argv[1]):
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["profile"]["test"]:
        print(m["manifest_path"].split("/")[-2], m["target"]["name"], m["executable"])
EOF
)
# What runs in the guest: the cgroup module's unit tests (live ones included), the sandbox's
# integration tests and the engine's judge end-to-end tests, these one at a time: emulated,
# two servers at once (one doing the 1000-run leak test) starved the other past its 20 s
# read timeout.
declare -A filter=([cgroup]=cgroup:: [sandbox]= [judge]=judge::) wanted=()
if [ -n "${GUEST_TESTS:-}" ]; then
    for w in $GUEST_TESTS; do
        name=${w%%=*}
        [ -n "${filter[$name]+set}" ] || { echo "cgroup2-guest: GUEST_TESTS: unknown binary $name (cgroup, sandbox, judge)" >&2; exit 1; }
        [ -z "${wanted[$name]:-}" ] || { echo "cgroup2-guest: GUEST_TESTS: $name twice (one filter per binary)" >&2; exit 1; }
        [ "$w" = "$name" ] || filter[$name]=${w#*=}
        wanted[$name]=1
    done
else
    wanted=([cgroup]=1 [sandbox]=1 [judge]=1)
fi
repeat=${GUEST_REPEAT:-1}
case "$repeat" in '' | *[!0-9]* | 0) echo "cgroup2-guest: GUEST_REPEAT must be a positive count: $repeat" >&2; exit 1 ;; esac
commands=() engine= found=0
for t in "${tests[@]}"; do
    read -r dir target exe <<<"$t"
    # The guest sees /tmp and /var/tmp as its own tmpfs, and of them only the repository.
    case "$exe" in
        "$repo"/*) ;;
        /tmp/* | /var/tmp/*) echo "cgroup2-guest: $exe is under a tmpfs of the guest, outside $repo (CARGO_TARGET_DIR?)" >&2; exit 1 ;;
    esac
    name= args=(--color never)
    case "$dir $target" in
        "sandbox shardbox_sandbox") name=cgroup ;;
        "sandbox it") name=sandbox ;;
        "engine it") name=judge engine=$exe args+=(--test-threads 1) ;;
    esac
    [ -n "$name" ] || continue
    found=$((found + 1))
    [ -n "${wanted[$name]:-}" ] || continue
    [ -z "${filter[$name]}" ] || args+=("${filter[$name]}")
    for _ in $(seq "$repeat"); do commands+=("$exe ${args[*]}"); done
done
[ "$found" -eq 3 ] || { echo "cgroup2-guest: expected 3 test binaries, found $found: ${commands[*]}" >&2; exit 1; }

# Fetches and unpacks the kernel of series $1 (once; with package lists of its own, never the
# system's) and builds its initramfs (every time).
prepare_kernel() {
    local kdir=$cache/kernel-$1 suites
    case "$1" in
        5.10) suites=("bullseye main" "bullseye-updates main") ;;
        6.1) suites=("bookworm main" "bookworm-updates main") ;;
        6.12) suites=("bookworm-backports main") ;;
        *) echo "cgroup2-guest: unknown kernel series $1 (5.10, 6.1 or 6.12)" >&2; return 1 ;;
    esac
    if [ ! -s "$kdir/vmlinuz" ]; then
        rm -rf "$kdir" && mkdir -p "$kdir/deb" "$kdir/lists/partial"
        local s
        for s in "${suites[@]}"; do echo "deb http://deb.debian.org/debian $s"; done >"$kdir/sources.list"
        case "$1" in
            5.10) echo "deb http://deb.debian.org/debian-security bullseye-security main" ;;
            6.1) echo "deb http://deb.debian.org/debian-security bookworm-security main" ;;
        esac >>"$kdir/sources.list"
        local apt=(-q -o "Dir::Etc::SourceList=$kdir/sources.list" -o Dir::Etc::SourceParts=/dev/null
            -o "Dir::State::Lists=$kdir/lists")
        apt-get "${apt[@]}" update >/dev/null
        local pkg
        pkg=$(apt-cache "${apt[@]}" depends linux-image-amd64 | awk '/Depends: linux-image-/ {print $2; exit}')
        [ -n "$pkg" ] || { echo "cgroup2-guest: no kernel package for $1" >&2; return 1; }
        (cd "$kdir" && apt-get "${apt[@]}" download "$pkg" 2>&1 | grep -v '^W: Download is performed unsandboxed')
        dpkg-deb -x "$kdir"/*.deb "$kdir/deb"
        cp "$kdir"/deb/boot/vmlinuz-* "$kdir/vmlinuz"
    fi
    rm -rf "$kdir/initramfs" && mkdir -p "$kdir/initramfs/bin" "$kdir/initramfs/modules"
    cp "$(command -v busybox)" "$kdir/initramfs/bin/busybox"
    install -m 755 .ci/cgroup2-guest-init "$kdir/initramfs/init"
    # 9p over virtio-pci and what 9p needs, dependencies first; a module the kernel has built
    # in (or merged, like fscache into netfs in 6.x) is not there and not needed.
    local m f
    for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci netfs fscache 9pnet 9pnet_virtio 9p; do
        f=$(find "$kdir"/deb/lib/modules -name "$m.ko*" | head -n 1)
        [ -n "$f" ] || continue
        case "$f" in
            *.xz) xz -dc "$f" ;;
            *.zst) zstd -dcq "$f" ;;
            *) cat "$f" ;;
        esac >"$kdir/initramfs/modules/$m.ko"
        echo "$m" >>"$kdir/initramfs/modules/order"
    done
    (cd "$kdir/initramfs" && find . | busybox cpio -o -H newc 2>/dev/null) | gzip -1 >"$kdir/initrd.gz"
}

# Runs in the guest: one test binary in a cgroup of its own below the root, holding the test
# process, as a delegated service cgroup does (so the code under test meets the
# no-internal-processes rule). Cleanup is asserted by the tests themselves; the cgroups left
# (a test binary's static pool is never dropped) are listed for the log.
guest_run_test() {
    local name=$1; shift
    local cg=/sys/fs/cgroup/test-$name t0=$SECONDS status=0
    mkdir "$cg"
    (echo "$BASHPID" >"$cg/cgroup.procs" && exec "$@") || status=$?
    echo "guest: test $name ($*): exit $status in $((SECONDS - t0)) s; cgroups left:" \
        "$(cd "$cg" && find . -mindepth 1 -type d | tr '\n' ' ')"
    [ "$status" -eq 0 ] || rc=1
}

# Boots the kernel of series $1 and runs every command; returns the guest's test status.
run_guest() {
    local kdir=$cache/kernel-$1 run=$cache/run-$1
    prepare_kernel "$1"
    rm -rf "$run" && mkdir -p "$run"
    {
        echo '#!/bin/bash'
        echo "# Written by .ci/cgroup2-guest.sh: runs as PID 1 of the guest."
        echo "set -u; export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root"
        echo "export SHARDBOX_EXPECT_CGROUP=2 RUST_BACKTRACE=1; cd '$repo'; rc=0"
        echo "echo \"guest: \$(uname -r), up \$(cut -d' ' -f1 /proc/uptime) s, cgroup2 root controllers: \$(cat /sys/fs/cgroup/cgroup.subtree_control)\""
        declare -f guest_run_test
        local i=0 c
        for c in "${commands[@]}"; do
            # The server needs Linux 6.1+ (io_uring DEFER_TASKRUN, docs/operations.md): its
            # ring setup fails with EINVAL before; the sandbox's tests still run there.
            if [ "$1" = 5.10 ] && [ "${c%% *}" = "$engine" ]; then
                echo "echo 'guest: test $i (engine judge::) SKIPPED: the shardbox server needs Linux 6.1+ (io_uring DEFER_TASKRUN)'"
            else
                echo "guest_run_test $i $c"
            fi
            i=$((i + 1))
        done
        echo "echo \"guest: done, rc=\$rc, up \$(cut -d' ' -f1 /proc/uptime) s\"; echo \$rc > '$run/result'"
        echo "sync; echo o > /proc/sysrq-trigger; sleep 60"
    } >"$run/guest.sh"
    local start=$SECONDS status=0
    timeout --kill-after=10 "${GUEST_TIMEOUT_S:-900}" qemu-system-x86_64 \
        -accel "$accel" -cpu "$cpu" -smp 2 -m "${GUEST_MEM:-3G}" -nodefaults -no-reboot \
        -display none -serial stdio -monitor none \
        -kernel "$kdir/vmlinuz" -initrd "$kdir/initrd.gz" \
        -append "console=ttyS0 cgroup_no_v1=all panic=-1 quiet shardbox.run=$run shardbox.repo=$repo" \
        -virtfs "local,path=/,mount_tag=root,security_model=none,readonly=on,multidevs=remap" \
        -virtfs "local,path=$run,mount_tag=run,security_model=none" \
        </dev/null | tee "$run/console.log" || status=$?
    echo "cgroup2-guest: kernel $1: qemu ($accel) ran $((SECONDS - start)) s, exit $status"
    [ -s "$run/result" ] || { echo "cgroup2-guest: kernel $1: the guest gave no result (see $run/console.log)" >&2; return 1; }
    return "$(cat "$run/result")"
}

status=0
for series in "${@:-6.1}"; do
    run_guest "$series" || status=1
done
exit "$status"
