//! The default seccomp filter of programs: a deny-list built with `seccompiler`.
//!
//! Everything is allowed except [`sys::DENIED_SYSCALLS`] (mount family, ptrace, kexec, bpf,
//! keyrings, namespaces, io_uring, perf, userfaultfd, modules, reboot, swap, pivot_root, chroot,
//! quotas, file handles, accounting, clock setting...) and `clone` with any namespace flag: those
//! kill the process with SIGSYS (`SECCOMP_RET_KILL_PROCESS`), which the layer above reports as
//! `Dangerous Syscall`. `clone3` returns `ENOSYS` (its flags are in memory, out of a filter's
//! reach; libc then falls back to `clone`, which the filter can check). Other architectures than
//! x86-64 are killed by seccompiler's prologue, and x32 syscall numbers (bit 30) by two
//! instructions we insert right after it, so the deny-list cannot be bypassed through another
//! ABI.
//!
//! The filter is compiled once per container (in the zygote) and installed in each program's
//! child just before `execve`. It does not decide what a program may do beyond this list; the
//! other layers (namespaces, uid, capabilities, mounts) do.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch, sock_filter,
};

use crate::sys;

/// Why the filter could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    /// seccompiler refused the rules.
    #[error("seccompiler: {0}")]
    Build(#[from] seccompiler::BackendError),
    /// The compiled program does not start with the expected prologue.
    #[error("unexpected seccompiler prologue")]
    Prologue,
}

/// Builds the default deny-list filter for x86-64.
pub fn default_filter() -> Result<BpfProgram, SeccompError> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for (_, nr) in sys::DENIED_SYSCALLS {
        rules.insert(*nr, Vec::new()); // An empty rule list matches every call.
    }
    let clone_rules = sys::CLONE_NAMESPACE_FLAGS
        .iter()
        .map(|flag| {
            SeccompCondition::new(0, SeccompCmpArgLen::Qword, SeccompCmpOp::MaskedEq(*flag), *flag)
                .and_then(|c| SeccompRule::new(vec![c]))
        })
        .collect::<Result<Vec<_>, _>>()?;
    rules.insert(sys::SYS_CLONE, clone_rules);
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::KillProcess,
        TargetArch::x86_64,
    )?;
    let mut prog: BpfProgram = filter.try_into()?;
    insert_x32_kill(&mut prog)?;
    // clone3 → ENOSYS: a second filter would be simplest, but one program is cheaper to run; we
    // prepend the check right after the x32 guard.
    insert_errno(&mut prog, sys::SYS_CLONE3, sys::errno::ENOSYS)?;
    Ok(prog)
}

const BPF_LD_W_ABS: u16 = 0x20;
const BPF_JMP_JGE_K: u16 = 0x35;
const BPF_JMP_JEQ_K: u16 = 0x15;
const BPF_RET_K: u16 = 0x06;
const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
/// Offset of `nr` in `struct seccomp_data`.
const NR_OFFSET: u32 = 0;
/// Index of the `ld nr` instruction in seccompiler's output (after the 3-instruction arch check).
const LOAD_NR_INDEX: usize = 3;

fn check_prologue(prog: &[sock_filter]) -> Result<(), SeccompError> {
    match prog.get(LOAD_NR_INDEX) {
        Some(ins) if ins.code == BPF_LD_W_ABS && ins.k == NR_OFFSET => Ok(()),
        _ => Err(SeccompError::Prologue),
    }
}

/// Inserts `if nr >= X32_SYSCALL_BIT: kill` right after the syscall number is loaded. Later
/// jumps are relative and all lie after the insertion point, so they stay valid.
fn insert_x32_kill(prog: &mut BpfProgram) -> Result<(), SeccompError> {
    check_prologue(prog)?;
    let at = LOAD_NR_INDEX + 1;
    prog.splice(
        at..at,
        [
            sock_filter { code: BPF_JMP_JGE_K, jt: 0, jf: 1, k: sys::X32_SYSCALL_BIT },
            sock_filter { code: BPF_RET_K, jt: 0, jf: 0, k: sys::SECCOMP_RET_KILL_PROCESS },
        ],
    );
    Ok(())
}

/// Inserts `if nr == syscall: return ERRNO(errno)` right after the syscall number is loaded.
fn insert_errno(prog: &mut BpfProgram, syscall: i64, errno: i32) -> Result<(), SeccompError> {
    check_prologue(prog)?;
    let at = LOAD_NR_INDEX + 1;
    let nr = u32::try_from(syscall).map_err(|_| SeccompError::Prologue)?;
    let errno = u32::try_from(errno).map_err(|_| SeccompError::Prologue)? & 0xffff;
    prog.splice(
        at..at,
        [
            sock_filter { code: BPF_JMP_JEQ_K, jt: 0, jf: 1, k: nr },
            sock_filter { code: BPF_RET_K, jt: 0, jf: 0, k: SECCOMP_RET_ERRNO | errno },
        ],
    );
    Ok(())
}

/// Installs `prog` on the calling thread (sets `no_new_privs` first, as seccompiler does).
pub fn install(prog: &BpfProgram) -> std::io::Result<()> {
    seccompiler::apply_filter(prog).map_err(|e| match e {
        seccompiler::Error::Seccomp(io) | seccompiler::Error::Prctl(io) => io,
        _ => std::io::Error::from_raw_os_error(sys::errno::EINVAL),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_builds_with_guards_after_the_prologue() {
        let prog = default_filter().unwrap();
        assert!(prog.len() > sys::DENIED_SYSCALLS.len());
        assert!(prog.len() < 4096, "BPF_MAXINSNS");
        assert_eq!(prog[LOAD_NR_INDEX].code, BPF_LD_W_ABS);
        // clone3 guard, then x32 guard.
        assert_eq!(prog[4].code, BPF_JMP_JEQ_K);
        assert_eq!(prog[4].k, sys::SYS_CLONE3 as u32);
        assert_eq!(prog[6].code, BPF_JMP_JGE_K);
        assert_eq!(prog[7].k, sys::SECCOMP_RET_KILL_PROCESS);
    }

    #[test]
    fn bad_prologue_is_refused() {
        let mut prog: BpfProgram = vec![sock_filter { code: 0, jt: 0, jf: 0, k: 0 }];
        assert!(matches!(insert_x32_kill(&mut prog), Err(SeccompError::Prologue)));
    }
}
