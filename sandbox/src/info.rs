//! [`SandboxInfo`]: what the container layer runs with, serializable for the engine's
//! `/config` (`runnerConfig` in go-judge: `cgroupType`, controllers, mounts, symlinks, masked
//! paths, names, work dir, uid/gid). Plain data; built once by the pool.

use crate::cgroup::CgroupRoot;
use crate::config::SandboxConfig;
use crate::protocol::{ContainerPlan, MountKind};

/// One mount as go-judge reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MountInfo {
    /// Host source (bind) or filesystem name.
    pub source: String,
    /// Container path.
    pub target: String,
    /// `bind`, `tmpfs` or `proc`.
    pub fs_type: String,
    /// Options (tmpfs).
    pub data: String,
    /// Read-only.
    pub read_only: bool,
}

/// One symlink of the root.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SymlinkInfo {
    /// Link path.
    pub link_path: String,
    /// Target.
    pub target: String,
}

/// The container layer's configuration as it is in effect.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SandboxInfo {
    /// 0 = no cgroup (rlimit fallback), 1 = v1, 2 = v2.
    pub cgroup_type: u8,
    /// Controllers in use.
    pub cgroup_controllers: Vec<String>,
    /// Mounts of every container.
    pub mount: Vec<MountInfo>,
    /// Symlinks of every container.
    pub symbolic_link: Vec<SymlinkInfo>,
    /// Masked paths.
    pub masked_paths: Vec<String>,
    /// Host name.
    pub host_name: String,
    /// Domain name.
    pub domain_name: String,
    /// Working directory.
    pub work_dir: String,
    /// uid of programs inside the container.
    pub uid: u32,
    /// gid of programs inside the container.
    pub gid: u32,
    /// Default seccomp filter installed.
    pub seccomp: bool,
}

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl SandboxInfo {
    /// Builds the info from the effective plan and cgroup root.
    pub fn new(config: &SandboxConfig, plan: &ContainerPlan, cgroups: Option<&CgroupRoot>) -> Self {
        SandboxInfo {
            cgroup_type: crate::pool::cgroup_type(cgroups.map(CgroupRoot::version)),
            cgroup_controllers: cgroups.map(|c| c.controllers().to_vec()).unwrap_or_default(),
            mount: plan
                .mounts
                .iter()
                .map(|m| MountInfo {
                    source: match m.kind {
                        MountKind::Bind => s(&m.source),
                        MountKind::Tmpfs => "tmpfs".into(),
                        MountKind::Proc => "proc".into(),
                    },
                    target: s(&m.target),
                    fs_type: match m.kind {
                        MountKind::Bind => "bind",
                        MountKind::Tmpfs => "tmpfs",
                        MountKind::Proc => "proc",
                    }
                    .into(),
                    data: s(&m.data),
                    read_only: m.read_only,
                })
                .collect(),
            symbolic_link: plan
                .symlinks
                .iter()
                .map(|(l, t)| SymlinkInfo { link_path: s(l), target: s(t) })
                .collect(),
            masked_paths: plan.masked_paths.iter().map(|p| s(p)).collect(),
            host_name: config.host_name.clone(),
            domain_name: config.domain_name.clone(),
            work_dir: crate::mounts::WORK_DIR.into(),
            uid: config.container_uid,
            gid: config.container_gid,
            seccomp: config.seccomp,
        }
    }
}
