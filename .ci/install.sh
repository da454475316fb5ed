#!/usr/bin/env bash
# Installs what the tests need and a fresh machine lacks. Idempotent: a package already present
# is not fetched again. Only Debian packages; the Rust toolchain is already on the machine.
set -euo pipefail

# Debian packages the test suite uses (add one here, with the test that needs it).
packages=()
# qemu-riscv64: vm/tests/it/qemu_diff.rs runs the committed guest ELFs on it (differential test).
packages+=(qemu-user)
# bwrap: bench/tests/it/judge_floor.rs runs the bubblewrap baseline of the judge benchmark.
packages+=(bubblewrap)
# qemu-system-x86 (without recommends) and busybox-static: .ci/cgroup2-guest.sh boots a
# cgroup-v2-only guest and runs the sandbox and judge tests there.
packages+=(qemu-system-x86 busybox-static)
# g++ and python3-venv: engine/tests/it/clients.rs runs the go-judge Python client (below),
# which compiles C++ with /usr/bin/g++ in the containers.
packages+=(g++ python3-venv)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
    echo "nothing to install"
fi

# Third-party go-judge clients from PyPI, pinned in engine/tests/clients/requirements.txt, in a
# virtualenv of their own (Debian's python is "externally managed"); engine/tests/it/clients.rs
# runs them against the server. Rebuilt when the pinned list changes or the client does not import.
root=$(cd "$(dirname "$0")/.." && pwd)
venv=$root/target/gojudge-clients/venv
requirements=$root/engine/tests/clients/requirements.txt
if cmp -s "$requirements" "$venv/requirements.txt" && "$venv/bin/python" -c 'import go_judge.client' 2>/dev/null; then
    echo "go-judge clients: already installed in $venv"
else
    echo "go-judge clients: installing into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps -r "$requirements"
    cp "$requirements" "$venv/requirements.txt"
fi
