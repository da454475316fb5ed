#!/usr/bin/env bash
# Rebuilds the VM's own test guests (vm/guest/prebuilt/t-*.elf) so the tests need no cross
# compiler. Needs gcc-riscv64-linux-gnu (Debian 12).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
cc=riscv64-linux-gnu-gcc
strip=riscv64-linux-gnu-strip
common=(-O2 -march=rv64gc -mabi=lp64d -Wall -Wextra -Werror -Wl,--build-id=none)
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# Kernels the host calls by name: freestanding SDK, symbol table kept.
"$cc" "${common[@]}" -ffreestanding -nostdlib -static -I .. kernels.c -o "$tmp/t-kernels.elf"
"$strip" --strip-debug -o ../prebuilt/t-kernels.elf "$tmp/t-kernels.elf"
# glibc programs, fully stripped.
for name in echo sys abort; do
    "$cc" "${common[@]}" -static "$name.c" -o "$tmp/t-$name.elf"
    "$strip" -s -o "../prebuilt/t-$name.elf" "$tmp/t-$name.elf"
done
# (No static-pie: Debian's riscv64 cross glibc ships no rcrt1.o.)
ls -l ../prebuilt/t-*.elf
