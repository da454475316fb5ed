#!/usr/bin/env bash
# Machine checks of ../shared/STYLE.md. Each check prints what it found and the rule it enforces;
# any finding fails the run.
set -uo pipefail
cd "$(dirname "$0")/.."
fail=0
finding() { printf 'style: %s\n' "$*"; fail=1; }

# Rust sources we own (not build output).
mapfile -t rs_files < <(git ls-files -co --exclude-standard -- '*.rs' | grep -v '^target/' | grep -v '/target/')

# §6: every raw syscall is wrapped once, in a `sys` module; nothing else names `libc::`.
for f in "${rs_files[@]}"; do
    case "$f" in */sys.rs|*/sys/*) continue ;; esac
    grep -n 'libc::' "$f" | sed "s|^|$f:|" | while read -r line; do
        echo "style: §6 libc:: outside a sys module: $line"
    done
    grep -q 'libc::' "$f" && fail=1
done

# §2: every .rs file outside tests/, benches/ and examples/ opens with a `//!` module doc.
for f in "${rs_files[@]}"; do
    case "$f" in */tests/*|tests/*|*/benches/*|*/examples/*|*/build.rs|fuzz/fuzz_targets/*) continue ;; esac
    head -n 1 "$f" | grep -q '^//!' || finding "§2 $f does not start with a //! module doc"
done

# §1: no grab-bag module names.
for f in "${rs_files[@]}"; do
    case "$(basename "$f" .rs)" in utils|common|helpers|misc) finding "§1 $f: name the module after what it is" ;; esac
    case "$f" in */utils/*|*/common/*|*/helpers/*|*/misc/*) finding "§1 $f: name the module after what it is" ;; esac
done

# §14: a source file over 600 lines needs a stated reason in .ci/long-files.txt ("path: reason").
for f in "${rs_files[@]}"; do
    n=$(wc -l < "$f")
    if [ "$n" -gt 600 ] && ! grep -q "^$f:" .ci/long-files.txt 2>/dev/null; then
        finding "§14 $f has $n lines: split it, or add '$f: <reason>' to .ci/long-files.txt"
    fi
done

# §14: no blanket allows (clippy's allow_attributes catches most; this catches the rest, e.g. in cfg_attr).
for f in "${rs_files[@]}"; do
    grep -nE '#!?\[(cfg_attr\(.*)?allow\(' "$f" | sed "s|^|style: §14 use #[expect(lint, reason)] in $f:|" && fail=1
done

# §14: a TODO names an issue, as TODO(#N).
for f in "${rs_files[@]}"; do
    grep -nE 'TODO|FIXME|XXX' "$f" | grep -vE 'TODO\(#[0-9]+\)' | sed "s|^|style: §14 a TODO names its issue, TODO(#N), in $f:|" && fail=1
done

# §9: named limits live in each crate's limits.rs.
for f in "${rs_files[@]}"; do
    case "$f" in */limits.rs|*/tests/*|*/benches/*|fuzz/*) continue ;; esac
    grep -nE '^\s*(pub(\([a-z]+\))?\s+)?const [A-Z0-9_]+_(MAX|MIN)\s*:' "$f" \
        | sed "s|^|style: §9 a named limit belongs in the crate's limits.rs: $f:|" && fail=1
done

# §14: each crate inherits the workspace lints.
for toml in */Cargo.toml; do
    [ "$toml" = "fuzz/Cargo.toml" ] && continue
    grep -qE '^\[lints\]' "$toml" && grep -A2 -E '^\[lints\]' "$toml" | grep -q 'workspace = true' \
        || finding "§14 $toml lacks [lints] workspace = true"
done

# §14: commit subjects are at most 72 characters. A commit already on main cannot be reworded
# without rewriting shared history: such a one is listed, with its reason, in
# .ci/subject-exceptions.txt ("<full hash>: reason") and skipped; nothing else is.
if git rev-parse --verify -q HEAD >/dev/null; then
    long=$(git log --format='%H %s' | awk '{ h=$1; $1=""; s=substr($0,2); if (length(s) > 72) print h " " length(s) }' \
        | while read -r h n; do
            grep -q "^$h:" .ci/subject-exceptions.txt 2>/dev/null && continue
            echo "style: §14 commit ${h:0:12} subject has $n characters (max 72)"
        done)
    if [ -n "$long" ]; then
        printf '%s\n' "$long"
        fail=1
    fi
fi

# §1/§7: the libraries carry no I/O runtime and do not reach up into the engine.
if tree=$(cargo tree -e normal -p shardbox-http -p shardbox-vm -p shardbox-alloc -p shardbox-sandbox --prefix none 2>/dev/null); then
    for bad in io-uring tokio mio async-std glommio monoio compio shardbox-engine shardbox-bench; do
        printf '%s\n' "$tree" | grep -q "^$bad v" && finding "§7 a library crate depends on $bad"
    done
else
    finding "cargo tree failed"
fi
if tree=$(cargo tree -e normal -p shardbox-http --prefix none 2>/dev/null); then
    for bad in rustix nix libc; do
        printf '%s\n' "$tree" | grep -q "^$bad v" && finding "§7 the sans-IO http crate depends on $bad"
    done
fi

# Docs: every relative link in README.md and docs/ resolves, anchors included, and every
# repository path they name in backticks exists. (That docs/operations.md lists every flag and
# metrics family are unit tests: cli::tests::every_flag_is_documented_in_operations_md,
# metrics::tests::every_family_is_documented_in_operations_md.)
python3 .ci/doc-links.py || finding "docs: a relative link or repository path in README.md or docs/ does not resolve (above)"
# Docs: every test or function they name by path exists in the sources.
python3 .ci/doc-names.py || finding "docs: README.md or docs/ names a test or function that does not exist (above)"

# The README's test command is the one this CI runs.
grep -q 'cargo test --workspace' README.md || finding "README.md must show the test command 'cargo test --workspace'"

if [ "$fail" -ne 0 ]; then
    echo "style: FAILED"
    exit 1
fi
echo "style: ok"
