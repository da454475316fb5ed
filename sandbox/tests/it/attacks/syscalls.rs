//! Kernel attack surface: every syscall of the deny-list, namespace flags of `clone` (also with
//! garbage in the upper bits), `clone3`, the i386 (`int $0x80`) and x32 ABIs, socket families
//! outside the namespaced four (AF_VSOCK reaches the hypervisor host past the net namespace),
//! and that glibc still starts threads and processes when `clone3` answers ENOSYS. Then every
//! way around a filter that compares x86-64 numbers (i386 numbers, x32 numbers, bits above 31,
//! `clone3` with a namespace flag), in a container and through the judge (`Dangerous Syscall`).

use libtest_mimic::{Failed, Trial};
use shardbox_sandbox::status::Status;

use super::{compile, field, run_bin};
use crate::harness::{check, limits, pool};
use crate::judge::{cmd, expect_status, file, run_one};

const SOURCE: &str = include_str!("c/syscalls.c");

pub fn tests() -> Vec<Trial> {
    vec![
        Trial::test("attacks::syscalls::deny_list_kills", deny_list),
        Trial::test("attacks::syscalls::clone_namespace_flags_kill", clone_flags),
        Trial::test("attacks::syscalls::foreign_abis_kill", foreign_abis),
        Trial::test("attacks::syscalls::socket_families_outside_the_netns", socket_families),
        Trial::test("attacks::syscalls::glibc_falls_back_from_clone3", glibc_fallback),
        Trial::test("attacks::syscalls::number_check_bypasses_kill", bypasses),
        Trial::test("attacks::syscalls::judge_reports_bypasses_as_dangerous", bypasses_judged),
    ]
}

fn bin() -> Result<Vec<u8>, Failed> {
    compile("syscalls", SOURCE, &["-pthread"])
}

/// x86-64 numbers, written out here (not taken from the crate) so the test is an independent
/// oracle for the filter's list.
const DENIED: &[(&str, u32)] = &[
    ("mount", 165),
    ("umount2", 166),
    ("fsopen", 430),
    ("fsconfig", 431),
    ("fsmount", 432),
    ("fspick", 433),
    ("move_mount", 429),
    ("open_tree", 428),
    ("mount_setattr", 442),
    ("pivot_root", 155),
    ("chroot", 161),
    ("ptrace", 101),
    ("process_vm_readv", 310),
    ("process_vm_writev", 311),
    ("kcmp", 312),
    ("pidfd_getfd", 438),
    ("kexec_load", 246),
    ("kexec_file_load", 320),
    ("bpf", 321),
    ("keyctl", 250),
    ("add_key", 248),
    ("request_key", 249),
    ("unshare", 272),
    ("setns", 308),
    ("io_uring_setup", 425),
    ("io_uring_enter", 426),
    ("io_uring_register", 427),
    ("perf_event_open", 298),
    ("userfaultfd", 323),
    ("init_module", 175),
    ("finit_module", 313),
    ("delete_module", 176),
    ("reboot", 169),
    ("swapon", 167),
    ("swapoff", 168),
    ("quotactl", 179),
    ("quotactl_fd", 443),
    ("open_by_handle_at", 304),
    ("name_to_handle_at", 303),
    ("acct", 163),
    ("settimeofday", 164),
    ("clock_settime", 227),
    ("clock_adjtime", 305),
    ("adjtimex", 159),
    ("sethostname", 170),
    ("setdomainname", 171),
    ("syslog", 103),
    ("vhangup", 153),
    ("iopl", 172),
    ("ioperm", 173),
    ("lookup_dcookie", 212),
    ("fanotify_init", 300),
    ("uselib", 134),
    ("move_pages", 279),
    ("migrate_pages", 256),
    ("modify_ldt", 154),
    ("open_tree_attr", 467),
];

/// Each way around the number checks (`bypass` mode of `c/syscalls.c`) and what the filter must
/// answer: SIGSYS, except `clone3`, which answers ENOSYS whatever its flags (glibc falls back).
/// Without the filter (on the host, as root) `int80_unshare` and `high_bits_unshare` create a
/// user namespace, `int80_socketcall_vsock` an AF_VSOCK socket, `clone3_newuser` a process in
/// a new user namespace, `modify_ldt` reads the LDT and `io_uring_setup` makes a ring.
const BYPASSES: &[(&str, &str)] = &[
    ("int80_unshare", "sig 31"),
    ("int80_mount", "sig 31"),
    ("int80_socketcall_vsock", "sig 31"),
    ("x32_unshare", "sig 31"),
    ("x32_mount", "sig 31"),
    ("x32_ptrace", "sig 31"),
    ("x32_socket_vsock", "sig 31"),
    ("x32_clone3_newuser", "sig 31"),
    ("high_bits_unshare", "sig 31"),
    ("nr_minus_one", "sig 31"),
    ("clone3_newuser", "ret -1 38"),
    ("modify_ldt", "sig 31"),
    ("open_tree_attr", "sig 31"),
    ("io_uring_setup", "sig 31"),
];

fn deny_list() -> Result<(), Failed> {
    let bin = bin()?;
    let mut c = pool().get()?;
    let nrs: Vec<String> = DENIED.iter().map(|(_, nr)| nr.to_string()).collect();
    let mut args = vec!["deny"];
    args.extend(nrs.iter().map(String::as_str));
    let r = run_bin(&mut c, "syscalls", &bin, &args, limits())?;
    r.exited(0)?;
    let survived: Vec<String> = DENIED
        .iter()
        .filter(|(_, nr)| field(&r, &nr.to_string()) != Some("sig 31"))
        .map(|(name, nr)| format!("{name} ({nr}): {:?}", field(&r, &nr.to_string())))
        .collect();
    check(survived.is_empty(), || format!("not killed by SIGSYS: {survived:?}\n{r:?}"))?;
    Ok(())
}

fn clone_flags() -> Result<(), Failed> {
    let bin = bin()?;
    let mut c = pool().get()?;
    let r = run_bin(&mut c, "syscalls", &bin, &["clone"], limits())?;
    r.exited(0)?;
    for flag in [
        "CLONE_NEWNS",
        "CLONE_NEWUTS",
        "CLONE_NEWIPC",
        "CLONE_NEWUSER",
        "CLONE_NEWPID",
        "CLONE_NEWNET",
        "CLONE_NEWCGROUP",
        "CLONE_NEWUSER_HIGH_BITS",
    ] {
        check(field(&r, flag) == Some("sig 31"), || format!("clone({flag}) not killed: {r:?}"))?;
    }
    // clone3 carries its flags in memory, out of a filter's reach: it must answer ENOSYS.
    check(field(&r, "clone3") == Some("ret -1 38"), || format!("clone3 must be ENOSYS: {r:?}"))?;
    Ok(())
}

fn foreign_abis() -> Result<(), Failed> {
    let bin = bin()?;
    let mut c = pool().get()?;
    let r = run_bin(&mut c, "syscalls", &bin, &["abi"], limits())?;
    r.exited(0)?;
    // i386 syscalls through int $0x80 have their own numbers (mount is 21 there): the filter
    // must refuse the whole ABI, not compare numbers.
    check(field(&r, "int80") == Some("sig 31"), || format!("int $0x80 not killed: {r:?}"))?;
    check(field(&r, "x32") == Some("sig 31"), || format!("x32 syscall not killed: {r:?}"))?;
    Ok(())
}

fn socket_families() -> Result<(), Failed> {
    let bin = bin()?;
    let mut c = pool().get()?;
    // Allowed: unix, inet, inet6, netlink (all confined by the net namespace).
    let allowed = ["1", "2", "10", "16"];
    // Refused: vsock (40, not namespaced: reaches the hypervisor host), the same with garbage
    // in the upper 32 bits (the kernel truncates the int), packet (17), alg (38), bluetooth
    // (31), appletalk (5), a family that does not exist (45).
    let refused = ["40", "0x100000028", "17", "38", "31", "5", "45"];
    let mut args = vec!["socket"];
    args.extend(allowed);
    args.extend(refused);
    let r = run_bin(&mut c, "syscalls", &bin, &args, limits())?;
    r.exited(0)?;
    for f in allowed {
        let v = field(&r, f).unwrap_or("");
        check(v.starts_with("ret ") && !v.starts_with("ret -1"), || {
            format!("socket family {f} must work: {r:?}")
        })?;
    }
    for f in refused {
        // EAFNOSUPPORT (97), as from a kernel without the family.
        check(field(&r, f) == Some("ret -1 97"), || {
            format!("socket family {f} must be EAFNOSUPPORT: {r:?}")
        })?;
    }
    Ok(())
}

fn glibc_fallback() -> Result<(), Failed> {
    let bin = bin()?;
    let mut c = pool().get()?;
    let r = run_bin(&mut c, "syscalls", &bin, &["fallback"], limits())?;
    r.exited(0)?;
    check(field(&r, "pthread") == Some("0"), || format!("pthread_create: {r:?}"))?;
    check(field(&r, "posix_spawn") == Some("0 0"), || format!("posix_spawn: {r:?}"))?;
    check(field(&r, "fork") == Some("7"), || format!("fork: {r:?}"))?;
    Ok(())
}

fn bypasses() -> Result<(), Failed> {
    let bin = bin()?;
    let mut c = pool().get()?;
    let r = run_bin(&mut c, "syscalls", &bin, &["bypass"], limits())?;
    r.exited(0)?;
    let wrong: Vec<String> = BYPASSES
        .iter()
        .filter(|(name, want)| field(&r, name) != Some(want))
        .map(|(name, want)| format!("{name}: {:?}, want {want:?}", field(&r, name)))
        .collect();
    check(wrong.is_empty(), || format!("bypasses not stopped: {wrong:?}\n{r:?}"))?;
    Ok(())
}

/// The same attempts in the program's main process, through the judge: the status a user sees.
fn bypasses_judged() -> Result<(), Failed> {
    let bin = bin()?;
    let dir = std::env::temp_dir().join(format!("sbx-bypass-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("syscalls");
    std::fs::write(&path, &bin)?;
    let result = judge_each(&path);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn judge_each(path: &std::path::Path) -> Result<(), Failed> {
    let src = crate::judge::json_string(&path.to_string_lossy());
    let copy_in = format!(r#","copyIn":{{"syscalls":{{"src":{src}}}}}"#);
    for (name, want) in BYPASSES {
        let r = run_one(&cmd(&format!(r#"["./syscalls","main","{name}"]"#), &copy_in))?;
        if *want == "sig 31" {
            expect_status(&r, Status::DangerousSyscall).map_err(|e| format!("{name}: {e}"))?;
            check(r.exit_status == 31, || format!("{name}: {r:?}"))?;
        } else {
            expect_status(&r, Status::Accepted).map_err(|e| format!("{name}: {e}"))?;
            let line = format!("{name} {want}\n");
            check(file(&r, "stdout") == line, || format!("{name}: {r:?}"))?;
        }
    }
    Ok(())
}
