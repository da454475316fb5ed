//! The default seccomp filter of programs: a deny-list in classic BPF (seccompiler's types and
//! installer; the program itself is written here, a binary search over syscall numbers, because
//! the kernel runs it for every number on every install, once per run: see [`default_filter`]).
//!
//! Everything is allowed except `sys::DENIED_SYSCALLS` (mount family, ptrace, kexec, bpf,
//! keyrings, namespaces, io_uring, perf, userfaultfd, modules, reboot, swap, pivot_root, chroot,
//! quotas, file handles, accounting, clock setting, the LDT...) and `clone` with any namespace
//! flag: those kill the process with SIGSYS (`SECCOMP_RET_KILL_PROCESS`), which the layer above
//! reports as `Dangerous Syscall`. `clone3` returns `ENOSYS` (its flags are in memory, out of a
//! filter's reach; libc then falls back to `clone`, which the filter can check). `socket` works
//! only for the families a network namespace confines (`sys::SOCKET_FAMILIES_ALLOWED`: unix,
//! inet, inet6, netlink); any other answers `EAFNOSUPPORT`, as from a kernel built without it.
//! Above all this stops AF_VSOCK, which no namespace confines: inside a VM it reaches the
//! hypervisor host's services. Other architectures than x86-64 (the i386 ABI through
//! `int $0x80`) are killed by the arch check that opens the program, and x32 syscall numbers
//! (bit 30, and every number above) by the search like a denied number, so the deny-list cannot
//! be bypassed through another ABI. Numbers past the table
//! the list was reviewed against (`FIRST_UNREVIEWED_NR`, Linux 6.18) answer `ENOSYS` on a newer
//! kernel, so a syscall added later is not allowed by default.
//!
//! The unit tests run the program in a classic-BPF interpreter against a policy table written
//! out independently (every number below 1024, x32, foreign arches, clone flags and socket
//! families with garbage in the upper half), check what the kernel's verifier checks, and show
//! that every one-step change of a jump or constant is caught by that sweep.
//!
//! The filter is compiled once per container (in the zygote) and installed in each program's
//! child just before `execve`. It does not decide what a program may do beyond this list; the
//! other layers (namespaces, uid, capabilities, mounts) do.

use seccompiler::{BpfProgram, sock_filter};

use crate::sys;

/// Why the filter could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    /// A syscall number, flag mask or family does not fit a 32-bit BPF constant, or a jump
    /// does not fit its 8-bit offset.
    #[error("the seccomp policy does not fit classic BPF")]
    Layout,
}

/// Builds the default deny-list filter for x86-64.
///
/// ```text
///   0  a = arch;  if a != AUDIT_ARCH_X86_64: KILL       (i386 `int $0x80` and the rest)
///   3  a = nr
///   4  binary search of nr over runs of numbers with one answer (`jge` nodes, pre-order):
///        x32 and above (bit 30 up): KILL; unreviewed (>= FIRST_UNREVIEWED_NR): ENOSYS;
///        denied: KILL; clone3: ENOSYS; socket: SOCKET; clone: CLONE; the rest: ALLOW
///   CLONE:  a = low half of args[0]; if a & namespace flags: KILL; ALLOW
///   SOCKET: a = low half of args[0]; if a == each allowed family: ALLOW; ERRNO(EAFNOSUPPORT)
///   ALLOW, KILL, ENOSYS: the returns
/// ```
///
/// Why a search and not a chain of `jeq`: on every install (once per run) the kernel runs the
/// filter for every syscall number of both ABIs to cache the ones it always allows
/// (`seccomp_cache_prepare`), so the install costs the sum of the paths, not the length: the
/// 80-instruction chain cost 97 µs per install here, this 77-instruction search 28 µs (p50 of
/// 300 `prctl`s in fresh children, interleaved).
pub fn default_filter() -> Result<BpfProgram, SeccompError> {
    let runs = answer_runs()?;
    let mut prog: BpfProgram = vec![
        sock_filter { code: BPF_LD_W_ABS, jt: 0, jf: 0, k: ARCH_OFFSET },
        sock_filter { code: BPF_JMP_JEQ_K, jt: 1, jf: 0, k: AUDIT_ARCH_X86_64 },
        sock_filter { code: BPF_RET_K, jt: 0, jf: 0, k: sys::SECCOMP_RET_KILL_PROCESS },
        sock_filter { code: BPF_LD_W_ABS, jt: 0, jf: 0, k: NR_OFFSET },
    ];
    // The search, with its exits named; resolved once the handlers' places are known.
    let mut nodes: Vec<(u32, Exit, Exit)> = Vec::new();
    if !matches!(search(&runs, &mut nodes), Exit::Node(0)) {
        return Err(LAYOUT); // the search must start right after the load of nr
    }
    let families = sys::SOCKET_FAMILIES_ALLOWED;
    let start = prog.len();
    // Handlers in this order: the instruction before each one leads elsewhere, so a jump one
    // short of its handler changes an answer (the mutation test relies on it).
    let clone_at = start + nodes.len();
    let socket_at = clone_at + 2;
    let allow_at = socket_at + families.len() + 2;
    let (kill_at, enosys_at) = (allow_at + 1, allow_at + 2);
    let offset = |from: usize, to: usize| {
        let forward = to.checked_sub(from + 1).ok_or(LAYOUT)?;
        u8::try_from(forward).map_err(|_| LAYOUT)
    };
    let place = |exit: Exit| match exit {
        Exit::Node(i) => start + i,
        Exit::Answer(Answer::Allow) => allow_at,
        Exit::Answer(Answer::Kill) => kill_at,
        Exit::Answer(Answer::Enosys) => enosys_at,
        Exit::Answer(Answer::Socket) => socket_at,
        Exit::Answer(Answer::Clone) => clone_at,
    };
    for (i, (pivot, at_or_above, below)) in nodes.iter().enumerate() {
        let (jt, jf) = (offset(start + i, place(*at_or_above))?, offset(start + i, place(*below))?);
        prog.push(sock_filter { code: BPF_JMP_JGE_K, jt, jf, k: *pivot });
    }
    // CLONE: clone(2) reads only the low 32 bits of its flags (`lower_32_bits(clone_flags)`).
    let namespaces = sys::CLONE_NAMESPACE_FLAGS.iter().fold(0u64, |m, f| m | f);
    let namespaces = u32::try_from(namespaces).map_err(|_| LAYOUT)?;
    prog.push(sock_filter { code: BPF_LD_W_ABS, jt: 0, jf: 0, k: ARG0_LOW_OFFSET });
    let (jt, jf) = (offset(prog.len(), kill_at)?, offset(prog.len(), allow_at)?);
    prog.push(sock_filter { code: BPF_JMP_JSET_K, jt, jf, k: namespaces });
    // SOCKET: the kernel reads `int family`, so the high half of args[0] is ignored.
    prog.push(sock_filter { code: BPF_LD_W_ABS, jt: 0, jf: 0, k: ARG0_LOW_OFFSET });
    for family in families {
        let jt = offset(prog.len(), allow_at)?;
        prog.push(sock_filter { code: BPF_JMP_JEQ_K, jt, jf: 0, k: *family });
    }
    let errno = u32::try_from(sys::errno::EAFNOSUPPORT).map_err(|_| LAYOUT)?;
    prog.push(sock_filter { code: BPF_RET_K, jt: 0, jf: 0, k: SECCOMP_RET_ERRNO | errno });
    let enosys = u32::try_from(sys::errno::ENOSYS).map_err(|_| LAYOUT)?;
    prog.extend([
        sock_filter { code: BPF_RET_K, jt: 0, jf: 0, k: SECCOMP_RET_ALLOW },
        sock_filter { code: BPF_RET_K, jt: 0, jf: 0, k: sys::SECCOMP_RET_KILL_PROCESS },
        sock_filter { code: BPF_RET_K, jt: 0, jf: 0, k: SECCOMP_RET_ERRNO | enosys },
    ]);
    if prog.len() != enosys_at + 1 {
        return Err(LAYOUT);
    }
    Ok(prog)
}

const LAYOUT: SeccompError = SeccompError::Layout;

/// What the filter answers for a syscall number (`Socket` and `Clone` look at args[0]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Allow,
    Kill,
    Enosys,
    Socket,
    Clone,
}

/// Where a search node goes: another node (its index in the search) or an answer's handler.
#[derive(Debug, Clone, Copy)]
enum Exit {
    Node(usize),
    Answer(Answer),
}

/// The answer for every x86-64 syscall number, as runs `(first number, answer)` sorted from 0,
/// each lasting until the next: consecutive numbers with the same answer share a run.
fn answer_runs() -> Result<Vec<(u32, Answer)>, SeccompError> {
    let nr = |n: i64| u32::try_from(n).map_err(|_| LAYOUT);
    let denied: Vec<u32> =
        sys::DENIED_SYSCALLS.iter().map(|(_, n)| nr(*n)).collect::<Result<_, _>>()?;
    let (clone, clone3, socket) = (nr(sys::SYS_CLONE)?, nr(sys::SYS_CLONE3)?, nr(sys::SYS_SOCKET)?);
    let unreviewed = nr(FIRST_UNREVIEWED_NR)?;
    if denied.iter().any(|n| *n >= unreviewed) || unreviewed >= sys::X32_SYSCALL_BIT {
        return Err(LAYOUT);
    }
    let answer = |n: u32| match n {
        _ if n == clone3 => Answer::Enosys,
        _ if n == socket => Answer::Socket,
        _ if n == clone => Answer::Clone,
        _ if denied.contains(&n) => Answer::Kill,
        _ => Answer::Allow,
    };
    let mut runs: Vec<(u32, Answer)> = Vec::new();
    // Numbers past the table this list was reviewed against answer ENOSYS, as from a kernel
    // without them (libc falls back), until someone reviews them: a name list cannot deny what
    // it does not know (open_tree_attr passed the first list). x32 numbers (bit 30, same audit
    // arch, aliases of the x86-64 ones) and everything above are killed.
    let all = (0..unreviewed)
        .map(|n| (n, answer(n)))
        .chain([(unreviewed, Answer::Enosys), (sys::X32_SYSCALL_BIT, Answer::Kill)]);
    for (n, a) in all {
        if runs.last().is_none_or(|(_, last)| *last != a) {
            runs.push((n, a));
        }
    }
    Ok(runs)
}

/// Appends, in pre-order, the `jge` nodes that find the run of a number among `runs` (at least
/// one): a node tests the first number of the middle run, "at or above" leads to the upper
/// half, "below" to the lower half (the next node, when it is one). Returns where to go.
fn search(runs: &[(u32, Answer)], nodes: &mut Vec<(u32, Exit, Exit)>) -> Exit {
    let mid = runs.len() / 2;
    match (runs.split_at_checked(mid), runs.first()) {
        (Some((lower, upper)), _) if !lower.is_empty() => {
            let me = nodes.len();
            let pivot = upper.first().map_or(0, |(n, _)| *n);
            nodes.push((pivot, Exit::Node(me), Exit::Node(me)));
            let below = search(lower, nodes);
            let at_or_above = search(upper, nodes);
            if let Some(node) = nodes.get_mut(me) {
                *node = (pivot, at_or_above, below);
            }
            Exit::Node(me)
        }
        (_, Some((_, answer))) => Exit::Answer(*answer),
        (_, None) => Exit::Answer(Answer::Kill),
    }
}

const BPF_LD_W_ABS: u16 = 0x20;
const BPF_JMP_JSET_K: u16 = 0x45;
const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
/// `AUDIT_ARCH_X86_64`.
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// Offset of `arch` in `struct seccomp_data`.
const ARCH_OFFSET: u32 = 4;
const BPF_JMP_JGE_K: u16 = 0x35;
const BPF_JMP_JEQ_K: u16 = 0x15;
const BPF_RET_K: u16 = 0x06;
const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
/// Offset of `nr` in `struct seccomp_data`.
const NR_OFFSET: u32 = 0;
/// Offset of the low 32 bits of `args[0]` in `struct seccomp_data` (little-endian x86-64).
const ARG0_LOW_OFFSET: u32 = 16;
/// The first x86-64 syscall number after the table this filter was reviewed against (Linux
/// 6.18 ends at 469, `file_setattr`). Raise it only after reviewing the new syscalls.
const FIRST_UNREVIEWED_NR: i64 = 470;

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

    const AUDIT_ARCH_I386: u32 = 0x4000_0003;

    /// A classic-BPF interpreter for the opcodes this module emits (and a few more): the oracle
    /// that says what the kernel will answer for a syscall.
    fn eval(prog: &[sock_filter], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
        eval_counting(prog, arch, nr, args).0
    }

    /// Instructions run before the filter returns.
    fn steps(prog: &[sock_filter], arch: u32, nr: u32, args: [u64; 6]) -> usize {
        eval_counting(prog, arch, nr, args).1
    }

    fn eval_counting(prog: &[sock_filter], arch: u32, nr: u32, args: [u64; 6]) -> (u32, usize) {
        let word = |off: u32| -> u32 {
            match off {
                0 => nr,
                4 => arch,
                8 | 12 => 0, // instruction pointer
                16..=63 => {
                    let arg = args[((off - 16) / 8) as usize];
                    if off.is_multiple_of(8) { arg as u32 } else { (arg >> 32) as u32 }
                }
                other => panic!("load from offset {other}"),
            }
        };
        let (mut a, mut pc, mut steps) = (0u32, 0usize, 0usize);
        loop {
            let ins = &prog[pc];
            steps += 1;
            let jump = |cond: bool| pc + 1 + usize::from(if cond { ins.jt } else { ins.jf });
            pc = match ins.code {
                0x20 => {
                    a = word(ins.k);
                    pc + 1
                }
                0x54 => {
                    a &= ins.k;
                    pc + 1
                }
                0x05 => pc + 1 + ins.k as usize,
                0x15 => jump(a == ins.k),
                0x25 => jump(a > ins.k),
                0x35 => jump(a >= ins.k),
                0x45 => jump(a & ins.k != 0),
                0x06 => return (ins.k, steps),
                other => panic!("opcode {other:#x} at {pc}"),
            };
        }
    }

    fn call(prog: &[sock_filter], nr: i64, arg0: u64) -> u32 {
        eval(prog, AUDIT_ARCH_X86_64, nr as u32, [arg0, 0, 0, 0, 0, 0])
    }

    const KILL: u32 = sys::SECCOMP_RET_KILL_PROCESS;

    /// What the kernel checks before it accepts a filter (`bpf_check_classic` and
    /// `seccomp_check_filter`), restricted to the opcodes above, plus one check of our own:
    /// every instruction is reachable (an unreachable one means a jump skips it by mistake).
    fn verify(prog: &[sock_filter]) -> Result<(), String> {
        if prog.is_empty() || prog.len() > 4096 {
            return Err(format!("length {}", prog.len()));
        }
        let mut reached = vec![false; prog.len()];
        reached[0] = true;
        for (pc, ins) in prog.iter().enumerate() {
            let next: Vec<usize> = match ins.code {
                BPF_LD_W_ABS if ins.k < 64 && ins.k % 4 == 0 => vec![pc + 1],
                BPF_LD_W_ABS => return Err(format!("load of offset {} at {pc}", ins.k)),
                BPF_RET_K => vec![],
                0x15 | 0x25 | 0x35 | 0x45 => {
                    let (t, f) = (pc + 1 + usize::from(ins.jt), pc + 1 + usize::from(ins.jf));
                    if t >= prog.len() || f >= prog.len() {
                        return Err(format!("jump past the end at {pc}"));
                    }
                    vec![t, f]
                }
                other => return Err(format!("opcode {other:#x} at {pc}")),
            };
            if reached[pc] {
                next.iter().filter(|n| **n < prog.len()).for_each(|n| reached[*n] = true);
            }
        }
        if prog.last().map(|i| i.code) != Some(BPF_RET_K) {
            return Err("the last instruction is not a return: the filter can fall off".into());
        }
        match reached.iter().position(|r| !r) {
            Some(pc) => Err(format!("instruction {pc} is unreachable")),
            None => Ok(()),
        }
    }

    /// The policy, written out with x86-64 numbers rather than taken from `sys`, so that a wrong
    /// number there or a wrong jump here shows up as a difference.
    const POLICY_KILLED: &[(&str, u32)] = &[
        ("ptrace", 101),
        ("syslog", 103),
        ("uselib", 134),
        ("vhangup", 153),
        ("modify_ldt", 154),
        ("pivot_root", 155),
        ("adjtimex", 159),
        ("chroot", 161),
        ("acct", 163),
        ("settimeofday", 164),
        ("mount", 165),
        ("umount2", 166),
        ("swapon", 167),
        ("swapoff", 168),
        ("reboot", 169),
        ("sethostname", 170),
        ("setdomainname", 171),
        ("iopl", 172),
        ("ioperm", 173),
        ("init_module", 175),
        ("delete_module", 176),
        ("quotactl", 179),
        ("lookup_dcookie", 212),
        ("clock_settime", 227),
        ("kexec_load", 246),
        ("add_key", 248),
        ("request_key", 249),
        ("keyctl", 250),
        ("migrate_pages", 256),
        ("unshare", 272),
        ("move_pages", 279),
        ("perf_event_open", 298),
        ("fanotify_init", 300),
        ("name_to_handle_at", 303),
        ("open_by_handle_at", 304),
        ("clock_adjtime", 305),
        ("setns", 308),
        ("process_vm_readv", 310),
        ("process_vm_writev", 311),
        ("kcmp", 312),
        ("finit_module", 313),
        ("kexec_file_load", 320),
        ("bpf", 321),
        ("userfaultfd", 323),
        ("io_uring_setup", 425),
        ("io_uring_enter", 426),
        ("io_uring_register", 427),
        ("open_tree", 428),
        ("move_mount", 429),
        ("fsopen", 430),
        ("fsconfig", 431),
        ("fsmount", 432),
        ("fspick", 433),
        ("pidfd_getfd", 438),
        ("mount_setattr", 442),
        ("quotactl_fd", 443),
        ("open_tree_attr", 467),
    ];
    const POLICY_CLONE: u32 = 56;
    const POLICY_SOCKET: u32 = 41;
    const POLICY_CLONE3: u32 = 435;
    /// Numbers Linux 6.18 does not have: ENOSYS even once a newer kernel gives them a meaning.
    const POLICY_UNREVIEWED: u32 = 470;
    /// NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET.
    const POLICY_NAMESPACES: u32 = 0x7e02_0000;
    /// AF_UNIX, AF_INET, AF_INET6, AF_NETLINK.
    const POLICY_FAMILIES: &[u32] = &[1, 2, 10, 16];

    fn policy(arch: u32, nr: u32, arg0: u64) -> u32 {
        let low = arg0 as u32; // clone and socket read an int / the low half
        if arch != AUDIT_ARCH_X86_64 || nr >= sys::X32_SYSCALL_BIT {
            KILL
        } else if nr == POLICY_CLONE3 || nr >= POLICY_UNREVIEWED {
            SECCOMP_RET_ERRNO | 38 // ENOSYS
        } else if nr == POLICY_SOCKET && !POLICY_FAMILIES.contains(&low) {
            SECCOMP_RET_ERRNO | 97 // EAFNOSUPPORT
        } else if POLICY_KILLED.iter().any(|(_, n)| *n == nr)
            || (nr == POLICY_CLONE && low & POLICY_NAMESPACES != 0)
        {
            KILL
        } else {
            SECCOMP_RET_ALLOW
        }
    }

    /// Every (arch, nr, arg0) the sweep tries: every number below 1024 (the table ends at 469)
    /// with and without bit 30 (x32) and under foreign arches (i386 first), every single bit
    /// and the numbers around it (bit 30 and above is x32 or garbage; some bits overlap the
    /// namespace mask), and for `clone` and `socket` every flag and family with garbage above.
    fn sweep_inputs() -> Vec<(u32, u32, u64)> {
        let garbage = [0, u64::MAX, u64::from(POLICY_NAMESPACES) | 0xff];
        let mut nrs: Vec<u32> = (0..1024).collect();
        for bit in 0..32 {
            let b = 1u32 << bit;
            nrs.extend([b, b - 1, b | POLICY_CLONE, b | POLICY_SOCKET, b | 272]);
        }
        let mut v = Vec::new();
        for nr in nrs {
            v.extend(garbage.map(|a| (AUDIT_ARCH_X86_64, nr, a)));
            v.push((AUDIT_ARCH_X86_64, nr | sys::X32_SYSCALL_BIT, 0));
        }
        for arch in [AUDIT_ARCH_I386, 0xc000_00b7, 0x4000_003e, 0x8000_003e, 0, u32::MAX] {
            v.extend((0..1024).map(|nr| (arch, nr, 0)));
        }
        let mut args: Vec<u64> = (0..64).flat_map(|b| [1u64 << b, (1u64 << b) | 17]).collect();
        args.extend((0..=64).flat_map(|f| [f, f | 1 << 32, f | 0xffff_ffff_0000_0000]));
        for nr in [POLICY_CLONE, POLICY_SOCKET, POLICY_CLONE3] {
            v.extend(args.iter().map(|a| (AUDIT_ARCH_X86_64, nr, *a)));
        }
        v
    }

    /// The first input where `prog` and the policy disagree.
    fn disagreement(prog: &[sock_filter], inputs: &[(u32, u32, u64)]) -> Option<String> {
        inputs.iter().find_map(|(arch, nr, arg0)| {
            let got = eval(prog, *arch, *nr, [*arg0, 0, 0, 0, 0, 0]);
            let want = policy(*arch, *nr, *arg0);
            (got != want).then(|| {
                format!("arch {arch:#x} nr {nr:#x} arg0 {arg0:#x}: {got:#x}, want {want:#x}")
            })
        })
    }

    #[test]
    fn the_kernel_would_accept_the_filter() {
        let prog = default_filter().unwrap();
        assert_eq!(verify(&prog), Ok(()));
    }

    #[test]
    fn every_syscall_number_abi_and_argument_matches_the_policy() {
        let prog = default_filter().unwrap();
        let inputs = sweep_inputs();
        assert!(inputs.len() > 10_000, "{}", inputs.len());
        assert_eq!(disagreement(&prog, &inputs), None);
    }

    #[test]
    fn the_deny_list_in_sys_is_the_policy() {
        let mut ours: Vec<(&str, u32)> =
            sys::DENIED_SYSCALLS.iter().map(|(n, nr)| (*n, *nr as u32)).collect();
        let mut policy = POLICY_KILLED.to_vec();
        ours.sort_unstable();
        policy.sort_unstable();
        assert_eq!(ours, policy);
    }

    /// Every one-step change of a jump offset or a constant either makes the kernel refuse the
    /// filter or changes an answer of the sweep: the sweep would notice a broken jump.
    #[test]
    fn every_off_by_one_in_the_filter_is_caught() {
        let prog = default_filter().unwrap();
        let inputs = sweep_inputs();
        let (mut survivors, mut tried) = (Vec::new(), 0);
        for pc in 0..prog.len() {
            let ins = prog[pc].clone();
            let conditional = matches!(ins.code, 0x15 | 0x25 | 0x35 | 0x45);
            let step = if ins.code == BPF_LD_W_ABS { 4 } else { 1 };
            let changed = |change: &dyn Fn(&mut sock_filter)| {
                let mut i = ins.clone();
                change(&mut i);
                i
            };
            let mut mutants = vec![
                ("k+", changed(&|i| i.k = i.k.wrapping_add(step))),
                ("k-", changed(&|i| i.k = i.k.wrapping_sub(step))),
            ];
            if conditional {
                mutants.push(("jt+", changed(&|i| i.jt = i.jt.wrapping_add(1))));
                mutants.push(("jf+", changed(&|i| i.jf = i.jf.wrapping_add(1))));
                mutants.push(("jt-", changed(&|i| i.jt = i.jt.wrapping_sub(1))));
                mutants.push(("jf-", changed(&|i| i.jf = i.jf.wrapping_sub(1))));
            }
            for (what, mutant) in mutants {
                let mut p = prog.clone();
                p[pc] = mutant;
                tried += 1;
                if verify(&p).is_err() || disagreement(&p, &inputs).is_some() {
                    continue;
                }
                survivors.push(format!("{what} at {pc}"));
            }
        }
        assert!(tried >= 2 * prog.len(), "{tried} mutants");
        assert!(survivors.is_empty(), "mutants the sweep misses: {survivors:?}");
    }

    /// What the kernel pays on every install: it runs the filter for every number of both ABIs
    /// (`seccomp_cache_prepare`). A search keeps each path short; a chain of `jeq` made the
    /// allowed numbers walk all of it.
    #[test]
    fn every_path_is_short() {
        let prog = default_filter().unwrap();
        assert!(prog.len() <= 120, "{} instructions", prog.len());
        let longest = (0..1024u32)
            .flat_map(|nr| [(AUDIT_ARCH_X86_64, nr), (AUDIT_ARCH_I386, nr)])
            .chain((0..32).map(|b| (AUDIT_ARCH_X86_64, 1u32 << b)))
            .map(|(arch, nr)| steps(&prog, arch, nr, [0; 6]))
            .max()
            .unwrap();
        // Arch check and load (4), about log2(runs) nodes, a handler of at most 7.
        let runs = answer_runs().unwrap().len();
        let depth = usize::BITS - runs.leading_zeros();
        assert!(longest <= 4 + depth as usize + 7, "{longest} steps for {runs} runs");
        assert!(longest <= 20, "{longest} steps");
    }

    #[test]
    fn runs_cover_every_number_once() {
        let runs = answer_runs().unwrap();
        assert_eq!(runs.first().map(|r| r.0), Some(0));
        assert!(runs.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 != w[1].1), "{runs:?}");
        assert_eq!(runs.last(), Some(&(sys::X32_SYSCALL_BIT, Answer::Kill)));
        // One run: no node, straight to its answer; none: kill.
        let mut nodes = Vec::new();
        assert!(matches!(search(&[(0, Answer::Allow)], &mut nodes), Exit::Answer(Answer::Allow)));
        assert!(matches!(search(&[], &mut nodes), Exit::Answer(Answer::Kill)));
        assert!(nodes.is_empty());
    }

    #[test]
    fn every_denied_syscall_is_killed_and_others_pass() {
        let prog = default_filter().unwrap();
        for (name, nr) in sys::DENIED_SYSCALLS {
            assert_eq!(call(&prog, *nr, 0), KILL, "{name}");
        }
        // read, getpid, mmap, execve (x86-64 numbers).
        for nr in [0, 39, 9, 59] {
            assert_eq!(call(&prog, nr, 0), SECCOMP_RET_ALLOW, "{nr}");
        }
    }

    #[test]
    fn clone_with_a_namespace_flag_is_killed() {
        let prog = default_filter().unwrap();
        let sigchld = 17; // SIGCHLD
        assert_eq!(call(&prog, sys::SYS_CLONE, sigchld), SECCOMP_RET_ALLOW);
        let thread = 0x100 | 0x800 | 0x10000; // CLONE_VM | CLONE_SIGHAND | CLONE_THREAD
        assert_eq!(call(&prog, sys::SYS_CLONE, thread), SECCOMP_RET_ALLOW);
        for flag in sys::CLONE_NAMESPACE_FLAGS {
            assert_eq!(call(&prog, sys::SYS_CLONE, flag | sigchld), KILL, "{flag:#x}");
            assert_eq!(call(&prog, sys::SYS_CLONE, flag | 1 << 40), KILL, "{flag:#x} high");
        }
        let enosys = SECCOMP_RET_ERRNO | sys::errno::ENOSYS as u32;
        assert_eq!(call(&prog, sys::SYS_CLONE3, 0), enosys);
    }

    #[test]
    fn only_namespaced_socket_families_are_created() {
        let prog = default_filter().unwrap();
        for family in sys::SOCKET_FAMILIES_ALLOWED {
            assert_eq!(call(&prog, sys::SYS_SOCKET, u64::from(*family)), SECCOMP_RET_ALLOW);
        }
        let refused = SECCOMP_RET_ERRNO | sys::errno::EAFNOSUPPORT as u32;
        // AF_VSOCK, the same with high bits set (the kernel truncates to int), AF_PACKET,
        // AF_ALG, AF_BLUETOOTH, AF_UNSPEC, past AF_MAX.
        for family in [40, 40 | 1 << 32, 17, 38, 31, 0, 46, u64::MAX] {
            assert_eq!(call(&prog, sys::SYS_SOCKET, family), refused, "{family:#x}");
        }
        // High garbage over an allowed family is that family (what the kernel sees).
        assert_eq!(call(&prog, sys::SYS_SOCKET, 1 | 1 << 32), SECCOMP_RET_ALLOW);
        // Other syscalls with a "family" argument are not touched.
        assert_eq!(call(&prog, 53, 40), SECCOMP_RET_ALLOW); // socketpair
    }
}
