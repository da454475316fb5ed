//! The container root: the mount plan (default list or a mount config file) and the steps that
//! build it inside a fresh mount namespace.
//!
//! Host side: [`build_plan`] turns a [`SandboxConfig`] into a [`ContainerPlan`] (bind sources that
//! do not exist are skipped, as go-judge does). Container side: [`setup_root`] runs in the new
//! init, as root of its user namespace: private propagation → tmpfs root over `plan.root_dir` →
//! mounts in order (binds read-only + nosuid, tmpfs nosuid+nodev, proc ro) → masked paths →
//! symlinks → `pivot_root(".", ".")` and detach of the old root → read-only `/`.
//!
//! # Mount config file
//!
//! One entry per line; `#` starts a comment; fields are separated by spaces. A file replaces the
//! whole default list, so it must mount `/w` (the working directory).
//!
//! ```text
//! bind <source> [<target>] [ro|rw]   # default target = source, default ro; missing source skipped
//! tmpfs <target> [<options>]         # e.g. tmpfs /w size=128m,nr_inodes=4k
//! proc [<target>]                    # default /proc (always read-only)
//! symlink <link> <target>            # e.g. symlink /dev/fd /proc/self/fd
//! mask <path>                        # /dev/null over a file, empty read-only tmpfs over a dir
//! ```
//!
//! It does not create the namespaces (the zygote does) nor run anything in the container.

use std::ffi::CString;
use std::io;
use std::path::Path;

use crate::config::SandboxConfig;
use crate::limits::{MOUNT_CONFIG_BYTES_MAX, MOUNTS_COUNT_MAX, PATH_BYTES_MAX};
use crate::protocol::{ContainerPlan, MountEntry, MountKind};
use crate::sys;
use crate::sys::fs::{flags, mount};

/// Default read-only binds (go-judge's list), skipped when missing on the host.
pub const DEFAULT_RO_BINDS: &[&str] = &[
    "/bin",
    "/lib",
    "/lib64",
    "/usr",
    "/etc/ld.so.cache",
    "/etc/alternatives",
    "/etc/fpc.cfg",
    "/etc/mono",
    "/var/lib/ghc",
];

/// The five device nodes bound read-write.
pub const DEFAULT_DEVICES: &[&str] =
    &["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"];

/// Default masked paths (go-judge's list).
pub const DEFAULT_MASKED: &[&str] = &[
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// The working directory of every program.
pub const WORK_DIR: &str = "/w";

/// Why a mount plan could not be built.
#[derive(Debug, thiserror::Error)]
pub enum MountConfigError {
    /// The mount config file could not be read.
    #[error("read mount config {path}: {source}")]
    Read {
        /// File.
        path: String,
        /// Cause.
        source: io::Error,
    },
    /// The file is larger than `MOUNT_CONFIG_BYTES_MAX`.
    #[error("mount config is larger than {max} bytes")]
    TooLarge {
        /// The limit.
        max: usize,
    },
    /// A line could not be parsed.
    #[error("mount config line {line}: {reason}")]
    Syntax {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// More entries than `MOUNTS_COUNT_MAX`.
    #[error("more than {max} mount entries")]
    TooMany {
        /// The limit.
        max: usize,
    },
    /// No tmpfs at `/w`.
    #[error("the mount list has no tmpfs at /w")]
    NoWorkDir,
    /// Host or domain name too long or with a NUL.
    #[error("invalid host or domain name")]
    Name,
}

/// The default entries, with `tmp_fs_param` for `/w` and `/tmp`.
fn default_entries(tmp_fs_param: &str) -> Entries {
    let bind = |p: &str, ro: bool| MountEntry {
        kind: MountKind::Bind,
        source: p.as_bytes().to_vec(),
        target: p.as_bytes().to_vec(),
        read_only: ro,
        data: Vec::new(),
    };
    let mut mounts: Vec<MountEntry> = DEFAULT_RO_BINDS.iter().map(|p| bind(p, true)).collect();
    mounts.push(MountEntry {
        kind: MountKind::Proc,
        source: Vec::new(),
        target: b"/proc".to_vec(),
        read_only: true,
        data: Vec::new(),
    });
    mounts.extend(DEFAULT_DEVICES.iter().map(|p| bind(p, false)));
    for t in ["/w", "/tmp"] {
        mounts.push(MountEntry {
            kind: MountKind::Tmpfs,
            source: Vec::new(),
            target: t.as_bytes().to_vec(),
            read_only: false,
            data: tmp_fs_param.as_bytes().to_vec(),
        });
    }
    let symlinks = [
        ("/dev/fd", "/proc/self/fd"),
        ("/dev/stdin", "/proc/self/fd/0"),
        ("/dev/stdout", "/proc/self/fd/1"),
        ("/dev/stderr", "/proc/self/fd/2"),
    ]
    .iter()
    .map(|(l, t)| (l.as_bytes().to_vec(), t.as_bytes().to_vec()))
    .collect();
    let masked = DEFAULT_MASKED.iter().map(|p| p.as_bytes().to_vec()).collect();
    (mounts, symlinks, masked)
}

type Entries = (Vec<MountEntry>, Vec<(Vec<u8>, Vec<u8>)>, Vec<Vec<u8>>);

/// Parses a mount config file's text (format in the module doc).
pub fn parse_mount_config(text: &str) -> Result<Entries, MountConfigError> {
    if text.len() > MOUNT_CONFIG_BYTES_MAX {
        return Err(MountConfigError::TooLarge { max: MOUNT_CONFIG_BYTES_MAX });
    }
    let mut mounts = Vec::new();
    let mut symlinks = Vec::new();
    let mut masked = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let body = raw.split('#').next().unwrap_or("");
        let fields: Vec<&str> = body.split_whitespace().collect();
        let Some((&kind, rest)) = fields.split_first() else { continue };
        let syntax = |reason| MountConfigError::Syntax { line, reason };
        for f in rest {
            if f.len() > PATH_BYTES_MAX {
                return Err(syntax("field too long"));
            }
        }
        let abs = |p: &str| -> Result<Vec<u8>, MountConfigError> {
            if p.starts_with('/') && !p.split('/').any(|c| c == "..") {
                Ok(p.as_bytes().to_vec())
            } else {
                Err(MountConfigError::Syntax { line, reason: "paths must be absolute, without .." })
            }
        };
        match (kind, rest) {
            ("bind", [src]) => mounts.push(MountEntry {
                kind: MountKind::Bind,
                source: abs(src)?,
                target: abs(src)?,
                read_only: true,
                data: Vec::new(),
            }),
            ("bind", [src, second]) if *second == "ro" || *second == "rw" => {
                mounts.push(MountEntry {
                    kind: MountKind::Bind,
                    source: abs(src)?,
                    target: abs(src)?,
                    read_only: *second == "ro",
                    data: Vec::new(),
                })
            }
            ("bind", [src, dst]) => mounts.push(MountEntry {
                kind: MountKind::Bind,
                source: abs(src)?,
                target: abs(dst)?,
                read_only: true,
                data: Vec::new(),
            }),
            ("bind", [src, dst, mode]) => {
                let read_only = match *mode {
                    "ro" => true,
                    "rw" => false,
                    _ => return Err(syntax("bind mode must be ro or rw")),
                };
                mounts.push(MountEntry {
                    kind: MountKind::Bind,
                    source: abs(src)?,
                    target: abs(dst)?,
                    read_only,
                    data: Vec::new(),
                });
            }
            ("tmpfs", [dst]) | ("tmpfs", [dst, _]) => mounts.push(MountEntry {
                kind: MountKind::Tmpfs,
                source: Vec::new(),
                target: abs(dst)?,
                read_only: false,
                data: rest.get(1).map(|d| d.as_bytes().to_vec()).unwrap_or_default(),
            }),
            ("proc", []) | ("proc", [_]) => mounts.push(MountEntry {
                kind: MountKind::Proc,
                source: Vec::new(),
                target: abs(rest.first().copied().unwrap_or("/proc"))?,
                read_only: true,
                data: Vec::new(),
            }),
            ("symlink", [link, target]) => {
                symlinks.push((abs(link)?, target.as_bytes().to_vec()));
            }
            ("mask", [p]) => masked.push(abs(p)?),
            ("bind" | "tmpfs" | "proc" | "symlink" | "mask", _) => {
                return Err(syntax("wrong number of fields"));
            }
            _ => return Err(syntax("unknown entry kind")),
        }
        if mounts.len() + symlinks.len() + masked.len() > MOUNTS_COUNT_MAX {
            return Err(MountConfigError::TooMany { max: MOUNTS_COUNT_MAX });
        }
    }
    Ok((mounts, symlinks, masked))
}

/// Builds the plan the zygote uses for every container.
pub fn build_plan(config: &SandboxConfig) -> Result<ContainerPlan, MountConfigError> {
    let (mounts, symlinks, masked_paths) = match &config.mount_config {
        None => default_entries(&config.tmp_fs_param),
        Some(path) => {
            let text = read_bounded(path).map_err(|source| MountConfigError::Read {
                path: path.display().to_string(),
                source,
            })?;
            let text = text.ok_or(MountConfigError::TooLarge { max: MOUNT_CONFIG_BYTES_MAX })?;
            parse_mount_config(&text)?
        }
    };
    if !mounts.iter().any(|m| m.kind == MountKind::Tmpfs && m.target == WORK_DIR.as_bytes()) {
        return Err(MountConfigError::NoWorkDir);
    }
    let mounts = mounts
        .into_iter()
        .filter(|m| {
            m.kind != MountKind::Bind
                || Path::new(&String::from_utf8_lossy(&m.source).into_owned()).exists()
        })
        .collect();
    let name_ok = |s: &str| s.len() <= crate::limits::HOST_NAME_BYTES_MAX && !s.contains('\0');
    if !name_ok(&config.host_name) || !name_ok(&config.domain_name) {
        return Err(MountConfigError::Name);
    }
    Ok(ContainerPlan {
        mounts,
        symlinks,
        masked_paths,
        root_dir: config.root_dir.as_os_str().as_encoded_bytes().to_vec(),
        host_name: config.host_name.as_bytes().to_vec(),
        domain_name: config.domain_name.as_bytes().to_vec(),
        user_uid: config.container_uid,
        user_gid: config.container_gid,
        seccomp: config.seccomp,
    })
}

/// Reads a file of at most `MOUNT_CONFIG_BYTES_MAX` bytes (`Ok(None)` when longer).
fn read_bounded(path: &Path) -> io::Result<Option<String>> {
    use std::io::Read;
    let mut buf = String::new();
    std::fs::File::open(path)?
        .take(u64::try_from(MOUNT_CONFIG_BYTES_MAX).unwrap_or(u64::MAX).saturating_add(1))
        .read_to_string(&mut buf)?;
    Ok(if buf.len() > MOUNT_CONFIG_BYTES_MAX { None } else { Some(buf) })
}

/// A step of [`setup_root`] that failed, with its errno.
#[derive(Debug)]
pub struct SetupError {
    /// What was being done (for the log).
    pub what: String,
    /// Cause.
    pub source: io::Error,
}

fn step<T>(what: impl FnOnce() -> String, r: io::Result<T>) -> Result<T, SetupError> {
    r.map_err(|source| SetupError { what: what(), source })
}

fn join(root: &[u8], path: &[u8]) -> Vec<u8> {
    let mut v = root.to_vec();
    if !path.starts_with(b"/") {
        v.push(b'/');
    }
    v.extend_from_slice(path);
    v
}

/// `mkdir -p` of every ancestor of `path` (not `path` itself), mode 0755.
fn mkdir_parents(path: &[u8]) -> io::Result<()> {
    for (i, b) in path.iter().enumerate() {
        if *b == b'/' && i > 0 {
            sys::fs::mkdir(&sys::cstr(path.get(..i).unwrap_or_default())?, 0o755)?;
        }
    }
    Ok(())
}

/// Builds the root described by `plan` and pivots into it. Runs in the container init, as root
/// of its user namespace, in its fresh mount namespace. On return `/` is the read-only root and
/// the working directory is `/`.
pub fn setup_root(plan: &ContainerPlan) -> Result<(), SetupError> {
    let root = plan.root_dir.as_slice();
    let root_c = step(|| "root dir".into(), sys::cstr(root))?;
    step(|| "make / private".into(), mount(None, c"/", None, flags::REC | flags::PRIVATE, None))?;
    step(
        || "tmpfs root".into(),
        mount(
            Some(c"tmpfs"),
            &root_c,
            Some(c"tmpfs"),
            flags::NOSUID | flags::NODEV,
            Some(c"size=1m,nr_inodes=4k,mode=0755"),
        ),
    )?;
    for m in &plan.mounts {
        mount_entry(root, m)?;
    }
    for p in &plan.masked_paths {
        mask(root, p)?;
    }
    for (link, target) in &plan.symlinks {
        let full = join(root, link);
        let what = || format!("symlink {}", String::from_utf8_lossy(link));
        step(what, mkdir_parents(&full))?;
        step(
            what,
            sys::fs::symlink(&step(what, sys::cstr(target))?, &step(what, sys::cstr(&full))?),
        )?;
    }
    step(|| "chdir root".into(), sys::proc::chdir(&root_c))?;
    step(|| "pivot_root".into(), sys::fs::pivot_root_here())?;
    step(|| "detach old root".into(), sys::fs::umount_detach(c"."))?;
    step(|| "chdir /".into(), sys::proc::chdir(c"/"))?;
    step(
        || "read-only /".into(),
        mount(
            None,
            c"/",
            None,
            flags::BIND | flags::REMOUNT | flags::RDONLY | flags::NOSUID | flags::NODEV,
            None,
        ),
    )?;
    Ok(())
}

fn mount_entry(root: &[u8], m: &MountEntry) -> Result<(), SetupError> {
    let target = join(root, &m.target);
    let what = || format!("mount {}", String::from_utf8_lossy(&m.target));
    let target_c = step(what, sys::cstr(&target))?;
    step(what, mkdir_parents(&target))?;
    match m.kind {
        MountKind::Bind => {
            let source_c = step(what, sys::cstr(&m.source))?;
            let is_dir = std::fs::metadata(String::from_utf8_lossy(&m.source).as_ref())
                .map(|md| md.is_dir())
                .unwrap_or(false);
            if is_dir {
                step(what, sys::fs::mkdir(&target_c, 0o755))?;
            } else {
                step(what, sys::fs::touch(&target_c))?;
            }
            step(what, mount(Some(&source_c), &target_c, None, flags::BIND | flags::REC, None))?;
            // Keep the flags the source mount has (a user namespace cannot clear locked ones),
            // add nosuid, and read-only when asked.
            let locked = step(what, sys::fs::mount_flags_of(&target_c))? & flags::LOCKABLE;
            let mut f = flags::BIND | flags::REMOUNT | flags::NOSUID | locked;
            if m.read_only {
                f |= flags::RDONLY;
            }
            step(what, mount(None, &target_c, None, f, None))?;
        }
        MountKind::Tmpfs => {
            step(what, sys::fs::mkdir(&target_c, 0o755))?;
            let data = tmpfs_data(&m.target, &m.data);
            let data_c = step(what, sys::cstr(&data))?;
            step(
                what,
                mount(
                    Some(c"tmpfs"),
                    &target_c,
                    Some(c"tmpfs"),
                    flags::NOSUID | flags::NODEV | flags::NOATIME,
                    Some(&data_c),
                ),
            )?;
        }
        MountKind::Proc => {
            step(what, sys::fs::mkdir(&target_c, 0o555))?;
            step(
                what,
                mount(
                    Some(c"proc"),
                    &target_c,
                    Some(c"proc"),
                    flags::NOSUID | flags::NODEV | flags::NOEXEC | flags::RDONLY,
                    None,
                ),
            )?;
        }
    }
    Ok(())
}

/// tmpfs options: the configured ones plus a mode (world-writable; sticky for `/tmp`) unless
/// the configuration sets one.
pub fn tmpfs_data(target: &[u8], data: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    if !data.split(|b| *b == b',').any(|o| o.starts_with(b"mode=")) {
        if !out.is_empty() {
            out.push(b',');
        }
        out.extend_from_slice(if target == b"/tmp" { b"mode=1777" } else { b"mode=0777" });
    }
    out
}

fn mask(root: &[u8], path: &[u8]) -> Result<(), SetupError> {
    let full = join(root, path);
    let what = || format!("mask {}", String::from_utf8_lossy(path));
    let Ok(md) = std::fs::symlink_metadata(String::from_utf8_lossy(&full).as_ref()) else {
        return Ok(()); // Nothing there: nothing to mask.
    };
    let target_c = step(what, sys::cstr(&full))?;
    if md.is_dir() {
        step(
            what,
            mount(
                Some(c"tmpfs"),
                &target_c,
                Some(c"tmpfs"),
                flags::RDONLY | flags::NOSUID | flags::NODEV,
                Some(c"size=0"),
            ),
        )
    } else {
        step(what, mount(Some(c"/dev/null"), &target_c, None, flags::BIND, None))
    }
}

/// Mounts a fresh tmpfs over `target` (the reset's fallback when a wipe would take too long).
pub fn remount_tmpfs(target: &[u8], data: &[u8]) -> io::Result<()> {
    let target_c: CString = sys::cstr(target)?;
    sys::fs::umount_detach(&target_c)?;
    let data_c = sys::cstr(&tmpfs_data(target, data))?;
    mount(
        Some(c"tmpfs"),
        &target_c,
        Some(c"tmpfs"),
        flags::NOSUID | flags::NODEV | flags::NOATIME,
        Some(&data_c),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_entry_kind() {
        let text = "# comment\n\
            bind /usr\n\
            bind /opt/x /x rw\n\
            bind /etc/a rw\n\
            bind /etc/b /b\n\
            tmpfs /w size=1m\n\
            tmpfs /tmp\n\
            proc\n\
            symlink /dev/fd /proc/self/fd  # trailing comment\n\
            mask /proc/kcore\n";
        let (m, s, k) = parse_mount_config(text).unwrap();
        assert_eq!(m.len(), 7);
        assert_eq!(m[0].target, b"/usr");
        assert!(m[0].read_only);
        assert_eq!(m[1].target, b"/x");
        assert!(!m[1].read_only);
        assert!(!m[2].read_only);
        assert_eq!(m[3].target, b"/b");
        assert_eq!(m[4].data, b"size=1m");
        assert!(m[5].data.is_empty());
        assert_eq!(m[6].kind, MountKind::Proc);
        assert_eq!(s, vec![(b"/dev/fd".to_vec(), b"/proc/self/fd".to_vec())]);
        assert_eq!(k, vec![b"/proc/kcore".to_vec()]);
    }

    #[test]
    fn rejects_bad_lines() {
        for bad in
            ["bind", "bind a", "bind /a /b xx", "tmpfs", "frob /x", "bind /a/../etc", "symlink /a"]
        {
            assert!(parse_mount_config(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn size_limit_at_max_and_above() {
        let ok = format!("{}\n", "#".repeat(MOUNT_CONFIG_BYTES_MAX - 1));
        assert!(parse_mount_config(&ok).is_ok());
        let bad = "#".repeat(MOUNT_CONFIG_BYTES_MAX + 1);
        assert!(matches!(parse_mount_config(&bad), Err(MountConfigError::TooLarge { .. })));
    }

    #[test]
    fn entry_count_limit() {
        let at = "mask /x\n".repeat(MOUNTS_COUNT_MAX);
        assert!(parse_mount_config(&at).is_ok());
        let over = "mask /x\n".repeat(MOUNTS_COUNT_MAX + 1);
        assert!(matches!(parse_mount_config(&over), Err(MountConfigError::TooMany { .. })));
    }

    #[test]
    fn default_plan_has_work_dir_and_skips_missing_sources() {
        let mut cfg = SandboxConfig::with_parallelism(1);
        let plan = build_plan(&cfg).unwrap();
        assert!(
            plan.mounts.iter().any(|m| m.target == b"/w" && m.data == b"size=128m,nr_inodes=4k")
        );
        assert!(plan.mounts.iter().all(|m| m.kind != MountKind::Bind
            || Path::new(std::str::from_utf8(&m.source).unwrap()).exists()));
        let dir = std::env::temp_dir().join(format!("sbx-mounts-{}", std::process::id()));
        std::fs::write(&dir, "bind /usr\ntmpfs /tmp\n").unwrap();
        cfg.mount_config = Some(dir.clone());
        assert!(matches!(build_plan(&cfg), Err(MountConfigError::NoWorkDir)));
        std::fs::remove_file(dir).unwrap();
    }

    #[test]
    fn tmpfs_mode_added_unless_given() {
        assert_eq!(tmpfs_data(b"/w", b"size=1m"), b"size=1m,mode=0777");
        assert_eq!(tmpfs_data(b"/tmp", b""), b"mode=1777");
        assert_eq!(tmpfs_data(b"/w", b"mode=0700"), b"mode=0700");
    }
}
