#!/usr/bin/env bash
# Rebuilds the committed guest ELFs in prebuilt/ and the recorded outputs in expected/, so the
# tests need no cross compiler. Run from anywhere, as root or not:
#
#   bash vm/guest/build.sh            # everything (needs the tools below)
#   bash vm/guest/build.sh --no-rust  # C only
#
# Needs (Debian 12): gcc-riscv64-linux-gnu (C: freestanding SDK examples and static glibc
# programs), qemu-user (records expected/ by running each qemu-runnable program), and for the
# Rust examples `rustup target add riscv64gc-unknown-none-elf`.
#
# Why riscv64-linux-gnu-gcc for the freestanding examples too: riscv64-unknown-elf-gcc's default
# linker script puts code and data in one RWX segment, which the VM refuses (W^X).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
rust=1
[ "${1:-}" = "--no-rust" ] && rust=0

cc=riscv64-linux-gnu-gcc
strip=riscv64-linux-gnu-strip
command -v "$cc" >/dev/null || { echo "build.sh: $cc missing: apt-get install gcc-riscv64-linux-gnu" >&2; exit 1; }
mkdir -p prebuilt expected
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

common=(-O2 -march=rv64gc -mabi=lp64d -fno-math-errno -Wall -Wextra -Werror -Wl,--build-id=none)

# SDK examples: freestanding, shardbox.h runtime, symbols kept (the host calls handlers by name).
for name in hello handler malloc_heavy fp; do
    "$cc" "${common[@]}" -ffreestanding -nostdlib -static -I . "examples/$name.c" -o "$tmp/c-$name.elf"
    "$strip" --strip-debug -o "prebuilt/c-$name.elf" "$tmp/c-$name.elf"
done

# FP test vectors (vm/tests/it/fpu_qemu.rs): freestanding, like the examples.
"$cc" "${common[@]}" -ffreestanding -nostdlib -static -I . diff/fpvec.c -o "$tmp/diff-fpvec.elf"
"$strip" -s -o prebuilt/diff-fpvec.elf "$tmp/diff-fpvec.elf"

# Differential programs: static glibc, fully stripped.
for name in int fp mem startup kernels; do
    # -frounding-math: the FP program switches modes with fesetround; GCC must not fold.
    "$cc" "${common[@]}" -frounding-math -static "diff/$name.c" -o "$tmp/diff-$name.elf" -lm
    "$strip" -s -o "prebuilt/diff-$name.elf" "$tmp/diff-$name.elf"
done

if [ "$rust" = 1 ]; then
    (cd rust && cargo build --release --examples --quiet)
    for name in hello handler alloc_heavy fp; do
        "$strip" --strip-debug -o "prebuilt/rust-$name.elf" "rust/target/riscv64gc-unknown-none-elf/release/examples/$name"
    done
fi

# Recorded outputs: stdout and exit code of every program in diff/cases.txt under qemu, with an
# empty environment and the listed arguments.
if command -v qemu-riscv64 >/dev/null; then
    while read -r name args; do
        case "$name" in ''|'#'*) continue ;; esac
        # shellcheck disable=SC2086 # the arguments are words
        set +e
        env -i timeout 60 qemu-riscv64 "prebuilt/$name.elf" $args > "expected/$name.stdout"
        code=$?
        set -e
        echo "$code" > "expected/$name.exit"
        echo "recorded $name: exit $code, $(wc -c < "expected/$name.stdout") bytes"
    done < diff/cases.txt
else
    echo "build.sh: qemu-riscv64 missing (apt-get install qemu-user): expected/ not refreshed" >&2
fi
ls -l prebuilt
