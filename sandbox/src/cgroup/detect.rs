//! Finding the cgroup hierarchies: parsers for `/proc/self/mountinfo` and `/proc/self/cgroup`,
//! and the choice between v1, v2 and no cgroups. Pure functions over text, unit-tested with
//! samples of both layouts; [`discover`] reads the real files.

use std::path::{Path, PathBuf};

/// Controllers we place programs in. `memory`, `pids` and CPU accounting are required; `cpu`
/// (rate) and `cpuset` are used when present.
pub const V1_REQUIRED: &[&str] = &["memory", "pids", "cpuacct"];
/// Optional v1 controllers.
pub const V1_OPTIONAL: &[&str] = &["cpu", "cpuset"];
/// Controllers v2 must offer (enabled in `cgroup.subtree_control` as [`v2_enabled`] says).
pub const V2_REQUIRED: &[&str] = &["memory", "pids", "cpu"];
/// Optional v2 controllers.
pub const V2_OPTIONAL: &[&str] = &["cpuset"];

/// One mounted cgroup filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupMount {
    /// Where it is mounted.
    pub mount_point: PathBuf,
    /// The root of the mount inside the hierarchy (usually `/`).
    pub root: String,
    /// v1 controllers of this hierarchy (empty for v2).
    pub controllers: Vec<String>,
    /// cgroup2.
    pub v2: bool,
}

/// Parses `/proc/self/mountinfo`, keeping cgroup and cgroup2 mounts.
pub fn parse_mountinfo(text: &str) -> Vec<CgroupMount> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((pre, post)) = line.split_once(" - ") else { continue };
        let pre: Vec<&str> = pre.split(' ').collect();
        let post: Vec<&str> = post.split(' ').collect();
        let (Some(root), Some(mp), Some(fstype)) = (pre.get(3), pre.get(4), post.first()) else {
            continue;
        };
        let v2 = match *fstype {
            "cgroup2" => true,
            "cgroup" => false,
            _ => continue,
        };
        let controllers = if v2 {
            Vec::new()
        } else {
            post.get(2)
                .map(|o| {
                    o.split(',')
                        .filter(|c| V1_REQUIRED.contains(c) || V1_OPTIONAL.contains(c))
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        out.push(CgroupMount {
            mount_point: PathBuf::from(unescape_octal(mp)),
            root: unescape_octal(root),
            controllers,
            v2,
        });
    }
    out
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape_octal(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'\\'
            && let Some(oct) = b.get(i + 1..i + 4)
            && oct.iter().all(|d| (b'0'..=b'7').contains(d))
        {
            let v = oct.iter().fold(0u32, |a, d| a * 8 + u32::from(d - b'0'));
            out.push(u8::try_from(v).unwrap_or(b'?'));
            i += 4;
            continue;
        }
        out.push(c);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses `/proc/self/cgroup`: `(controllers, path)` per line; v2 is the line `0::/path`.
pub fn parse_proc_cgroup(text: &str) -> Vec<(Vec<String>, String)> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.splitn(3, ':');
            let _id = it.next()?;
            let ctl = it.next()?;
            let path = it.next()?;
            Some((
                ctl.split(',').filter(|c| !c.is_empty()).map(str::to_string).collect(),
                path.to_string(),
            ))
        })
        .collect()
}

/// The hierarchy layout chosen at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// v1: one directory (the cgroup this process is in) per controller.
    V1(Vec<(String, PathBuf)>),
    /// v2: the directory of this process's cgroup and the controllers available there.
    V2 {
        /// Our cgroup's directory.
        dir: PathBuf,
        /// Controllers listed in its `cgroup.controllers`.
        controllers: Vec<String>,
    },
    /// No usable hierarchy.
    None,
}

/// `layout` without v1's `cpu` hierarchy when it is mounted apart from `cpuacct` (as on this
/// machine). `cpu` is only needed for CFS rate limits (`-enable-cpu-rate`); CPU time comes from
/// `cpuacct`. A task in a nested `cpu` cgroup is scheduled as part of a group: every container
/// together competed as one task against the server's threads, and each wake-up and sleep
/// updated three more levels of scheduler entities (measured in `docs/architecture.md`). When
/// co-mounted (`cpu,cpuacct`, one directory) the hierarchy stays: accounting needs it.
pub fn without_separate_cpu(layout: Layout) -> Layout {
    match layout {
        Layout::V1(dirs) => {
            let acct = dirs.iter().find(|(c, _)| c == "cpuacct").map(|(_, d)| d.clone());
            Layout::V1(
                dirs.into_iter().filter(|(c, d)| c != "cpu" || Some(d) == acct.as_ref()).collect(),
            )
        }
        other => other,
    }
}

/// The v2 controllers to enable for the containers (`+name` in `cgroup.subtree_control`): the
/// required and optional ones that `available` offers, but `cpu` only with `cpu_rate` (CFS rate
/// limits). `cpu.stat` (CPU time) exists in every v2 cgroup whether the controller is enabled
/// or not, and an enabled `cpu` controller would make each container a scheduling group (see
/// [`without_separate_cpu`]).
pub fn v2_enabled(available: &[String], cpu_rate: bool) -> Vec<String> {
    available
        .iter()
        .filter(|c| V2_REQUIRED.contains(&c.as_str()) || V2_OPTIONAL.contains(&c.as_str()))
        .filter(|c| cpu_rate || c.as_str() != "cpu")
        .cloned()
        .collect()
}

/// The v2 cgroup to build under, given the one this process is in: its parent when that is
/// our own leaf [`V2_SERVER_LEAF`](super::V2_SERVER_LEAF) (a second pool of this process, or a server started by one,
/// moved there by an earlier `vacate`), so roots sit side by side instead of nesting a level
/// deeper each time.
pub fn v2_base(own: PathBuf) -> PathBuf {
    match own.parent() {
        Some(parent) if own.file_name().is_some_and(|n| n == super::V2_SERVER_LEAF) => {
            parent.to_path_buf()
        }
        _ => own,
    }
}

/// What the v2 kernel offers beyond the required controllers, probed once per
/// [`CgroupRoot`](super::CgroupRoot) in its own directory (see `docs/architecture.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct V2Features {
    /// `memory.peak` exists (kernel 5.19+). Without it the peak memory of a run is the largest
    /// `ru_maxrss` of its processes (as go-judge does), or the memory limit after an OOM kill.
    pub memory_peak: bool,
    /// Writing `memory.peak` resets it for the writer's fd (kernel 6.12+). Without it a cgroup
    /// that has served a run is replaced before the next one, to report that run's own peak.
    pub memory_peak_reset: bool,
    /// `pids.peak` exists (kernel 6.1+). Without it no peak task count is reported.
    pub pids_peak: bool,
}

impl V2Features {
    /// The features of a cgroup whose directory holds the files `names`; `reset_ok`: writing
    /// `reset` to its `memory.peak` succeeded.
    pub fn from_files<'a>(names: impl IntoIterator<Item = &'a str>, reset_ok: bool) -> Self {
        let mut f = V2Features { memory_peak: false, memory_peak_reset: false, pids_peak: false };
        for n in names {
            match n {
                "memory.peak" => f.memory_peak = true,
                "pids.peak" => f.pids_peak = true,
                _ => {}
            }
        }
        f.memory_peak_reset = f.memory_peak && reset_ok;
        f
    }

    /// One line saying what is missing and how memory is measured; `None` when nothing is.
    pub fn notice(&self) -> Option<String> {
        let memory = if !self.memory_peak {
            "no memory.peak (kernel < 5.19): memory limits are enforced by memory.max, the peak \
             memory reported is the largest ru_maxrss of the run's processes (as go-judge), or \
             the limit after an OOM kill"
        } else if !self.memory_peak_reset {
            "memory.peak cannot be reset (kernel < 6.12): a fresh cgroup serves each run"
        } else {
            ""
        };
        let pids =
            if self.pids_peak { "" } else { "no pids.peak (kernel < 6.1): no peak task count" };
        let parts: Vec<&str> = [memory, pids].into_iter().filter(|p| !p.is_empty()).collect();
        if parts.is_empty() { None } else { Some(format!("cgroup v2: {}", parts.join("; "))) }
    }
}

/// Directory of our own cgroup in a mount: mount point + (own path relative to the mount root).
fn own_dir(m: &CgroupMount, own: &str) -> Option<PathBuf> {
    let root = m.root.trim_end_matches('/');
    let rel = own.strip_prefix(root)?;
    Some(m.mount_point.join(rel.trim_start_matches('/')))
}

/// Chooses v1 when every required v1 controller is mounted, else v2 when the unified hierarchy
/// offers the required controllers (`v2_controllers` reads `cgroup.controllers` of a directory).
pub fn choose(
    mounts: &[CgroupMount],
    own: &[(Vec<String>, String)],
    v2_controllers: impl Fn(&Path) -> Vec<String>,
) -> Layout {
    let mut v1 = Vec::new();
    for m in mounts.iter().filter(|m| !m.v2) {
        for c in &m.controllers {
            let Some((_, path)) = own.iter().find(|(cs, _)| cs.contains(c)) else { continue };
            if let Some(dir) = own_dir(m, path)
                && !v1.iter().any(|(n, _): &(String, PathBuf)| n == c)
            {
                v1.push((c.clone(), dir));
            }
        }
    }
    if V1_REQUIRED.iter().all(|r| v1.iter().any(|(n, _)| n == r)) {
        v1.sort();
        return Layout::V1(v1);
    }
    let v2_path = own.iter().find(|(cs, _)| cs.is_empty()).map(|(_, p)| p.as_str());
    if let (Some(m), Some(path)) = (mounts.iter().find(|m| m.v2), v2_path)
        && let Some(dir) = own_dir(m, path).map(v2_base)
    {
        let controllers = v2_controllers(&dir);
        if V2_REQUIRED.iter().all(|r| controllers.iter().any(|c| c == r)) {
            return Layout::V2 { dir, controllers };
        }
    }
    Layout::None
}

/// Reads the real files and chooses.
pub fn discover() -> Layout {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo")
        .map(|t| parse_mountinfo(&t))
        .unwrap_or_default();
    let own = std::fs::read_to_string("/proc/self/cgroup")
        .map(|t| parse_proc_cgroup(&t))
        .unwrap_or_default();
    choose(&mounts, &own, |dir| {
        std::fs::read_to_string(dir.join("cgroup.controllers"))
            .map(|t| t.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1_HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    const V1_OWN: &str = "\
9:name=systemd:/
8:pids:/
4:memory:/process_api/abc
3:cpuset:/
2:cpuacct:/
1:cpu:/
0::/
";
    const V2_ONLY: &str = "\
30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
";

    #[test]
    fn v1_hybrid_is_v1_with_own_paths() {
        let mounts = parse_mountinfo(V1_HYBRID);
        assert_eq!(mounts.len(), 6);
        let own = parse_proc_cgroup(V1_OWN);
        let layout = choose(&mounts, &own, |_| vec![]);
        let Layout::V1(dirs) = layout else { panic!("{layout:?}") };
        assert!(
            dirs.contains(&(
                "memory".into(),
                PathBuf::from("/sys/fs/cgroup/memory/process_api/abc")
            ))
        );
        assert!(dirs.contains(&("pids".into(), PathBuf::from("/sys/fs/cgroup/pids/"))));
        assert_eq!(dirs.len(), 5);
    }

    #[test]
    fn co_mounted_cpu_cpuacct() {
        let text = "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n\
            35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n\
            39 31 0:36 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n";
        let own = parse_proc_cgroup("2:cpu,cpuacct:/x\n3:memory:/x\n4:pids:/x\n");
        let Layout::V1(dirs) = choose(&parse_mountinfo(text), &own, |_| vec![]) else { panic!() };
        assert!(dirs.contains(&("cpuacct".into(), PathBuf::from("/sys/fs/cgroup/cpu,cpuacct/x"))));
    }

    #[test]
    fn a_separate_cpu_hierarchy_can_be_left_out() {
        let own = parse_proc_cgroup(V1_OWN);
        let layout = choose(&parse_mountinfo(V1_HYBRID), &own, |_| vec![]);
        let Layout::V1(all) = layout.clone() else { panic!("{layout:?}") };
        assert!(all.iter().any(|(c, _)| c == "cpu"));
        let Layout::V1(dirs) = without_separate_cpu(layout) else { panic!() };
        assert!(!dirs.iter().any(|(c, _)| c == "cpu"), "{dirs:?}");
        assert_eq!(dirs.len(), all.len() - 1, "only cpu goes");
        // Co-mounted with cpuacct: one directory, kept.
        let text = "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n\
            35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n\
            39 31 0:36 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n";
        let own = parse_proc_cgroup("2:cpu,cpuacct:/x\n3:memory:/x\n4:pids:/x\n");
        let layout = choose(&parse_mountinfo(text), &own, |_| vec![]);
        assert_eq!(without_separate_cpu(layout.clone()), layout);
        let v2 = Layout::V2 { dir: PathBuf::from("/x"), controllers: vec!["cpu".into()] };
        assert_eq!(without_separate_cpu(v2.clone()), v2, "v2 is left alone");
    }

    #[test]
    fn v2_enables_cpu_only_for_rate_limits() {
        let available: Vec<String> =
            ["cpuset", "cpu", "io", "memory", "pids"].iter().map(|c| c.to_string()).collect();
        assert_eq!(v2_enabled(&available, false), ["cpuset", "memory", "pids"]);
        assert_eq!(v2_enabled(&available, true), ["cpuset", "cpu", "memory", "pids"]);
        assert!(v2_enabled(&["io".to_string()], true).is_empty(), "only ours");
    }

    #[test]
    fn pure_v2_needs_controllers() {
        let mounts = parse_mountinfo(V2_ONLY);
        let own = parse_proc_cgroup("0::/system.slice/shardbox.service\n");
        let with = |_: &Path| {
            vec!["cpuset".into(), "cpu".into(), "io".into(), "memory".into(), "pids".into()]
        };
        assert_eq!(
            choose(&mounts, &own, with),
            Layout::V2 {
                dir: PathBuf::from("/sys/fs/cgroup/system.slice/shardbox.service"),
                controllers: with(Path::new("")),
            }
        );
        assert_eq!(choose(&mounts, &own, |_| vec!["hugetlb".into()]), Layout::None);
        // Already moved into our leaf (a second pool, or a server started by the first one's
        // process): the service's cgroup is still the base, and its controllers count.
        let own = parse_proc_cgroup(
            "0::/system.slice/shardbox.service/shardbox-server
",
        );
        let base = |d: &Path| {
            if d.ends_with("shardbox.service") { with(d) } else { vec!["memory".into()] }
        };
        assert_eq!(
            choose(&mounts, &own, base),
            Layout::V2 {
                dir: PathBuf::from("/sys/fs/cgroup/system.slice/shardbox.service"),
                controllers: with(Path::new("")),
            }
        );
    }

    #[test]
    fn hybrid_without_v1_memory_and_empty_unified_is_none() {
        let text = "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n";
        assert_eq!(
            choose(&parse_mountinfo(text), &parse_proc_cgroup("0::/\n"), |_| vec![]),
            Layout::None
        );
    }

    #[test]
    fn mount_root_is_stripped_and_escapes_decoded() {
        let text = "1 0 0:1 /sub /mnt/cg\\040x rw - cgroup2 cgroup2 rw\n";
        let m = parse_mountinfo(text);
        assert_eq!(m[0].mount_point, PathBuf::from("/mnt/cg x"));
        let own = parse_proc_cgroup("0::/sub/a\n");
        let Layout::V2 { dir, .. } =
            choose(&m, &own, |_| vec!["memory".into(), "pids".into(), "cpu".into()])
        else {
            panic!()
        };
        assert_eq!(dir, PathBuf::from("/mnt/cg x/a"));
    }

    #[test]
    fn v2_features_by_kernel() {
        // Files of a v2 cgroup with memory and pids enabled, as each kernel series has them.
        let k5_10 = ["cgroup.procs", "memory.current", "memory.max", "memory.events", "pids.max"];
        let k6_1 = [&k5_10[..], &["memory.peak", "pids.peak"]].concat();
        let f = V2Features::from_files(k5_10, false);
        assert_eq!(
            f,
            V2Features { memory_peak: false, memory_peak_reset: false, pids_peak: false }
        );
        let text = f.notice().expect("5.10 lacks features");
        assert!(text.contains("no memory.peak") && text.contains("ru_maxrss"), "{text}");
        assert!(text.contains("no pids.peak"), "{text}");
        // No memory.peak: a successful reset write cannot make it resettable.
        assert!(!V2Features::from_files(k5_10, true).memory_peak_reset);
        let f = V2Features::from_files(k6_1.iter().copied(), false);
        assert_eq!(f, V2Features { memory_peak: true, memory_peak_reset: false, pids_peak: true });
        let text = f.notice().expect("6.1 cannot reset the peak");
        assert!(text.contains("cannot be reset") && !text.contains("pids"), "{text}");
        let f = V2Features::from_files(k6_1.iter().copied(), true);
        assert!(f.memory_peak_reset);
        assert_eq!(f.notice(), None);
    }
}
