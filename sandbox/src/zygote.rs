//! The zygote: a small helper process that builds containers, started by re-executing the
//! `shardbox` binary in a hidden mode.
//!
//! - [`hook`] is the first statement of `main()` (the server's and the integration test's): in
//!   the helper mode (`argv[1]` = [`HELPER_ARG`]) it runs the zygote and exits; otherwise it
//!   returns at once.
//! - [`Zygote`] is the host-side handle: [`Zygote::start`] spawns the helper (`/proc/self/exe`
//!   through `posix_spawn`, which stays cheap even from a large process; never a fork of a
//!   shard) with its control socket as stdin, sends the [`ContainerPlan`], and
//!   [`Zygote::create`] asks it for one container at a time.
//!
//! The zygote is single-threaded and tiny: for each `Create` it makes a SOCK_SEQPACKET pair and
//! a sync pipe, `clone3`s the container init into new user/mount/pid/ipc/uts/net namespaces with
//! `CLONE_PIDFD` (the child keeps only its end of the socket: `close_range`), writes the child's
//! uid/gid maps (container root → an unprivileged host uid, container user → another), releases
//! it, and hands the host end of the socket and the pidfd to the requester (SCM_RIGHTS). It
//! ignores SIGCHLD, so the kernel reaps inits that die. It exits when the host closes its socket.
//! A zygote that dies or stops answering is replaced by the host on the next `create`.

use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

use crate::init::{InitArgs, container_main};
use crate::limits::{MSG_BYTES_MAX, REPLY_WAIT_MS_MAX};
use crate::protocol::{
    ContainerPlan, ProtocolError, ZygoteReply, ZygoteRequest, ZygoteStep, decode_zygote_reply,
    decode_zygote_request,
};
use crate::sys;

/// `argv[1]` that selects the helper mode.
pub const HELPER_ARG: &str = "--shardbox-container-helper";

/// Call first in `main()`: runs the zygote (and exits) when this process was started as the
/// helper; returns immediately otherwise.
pub fn hook() {
    let mut args = std::env::args_os();
    let _ = args.next();
    if args.next().as_deref() == Some(OsStr::new(HELPER_ARG)) {
        let code = zygote_main();
        std::process::exit(code);
    }
}

/// The zygote's loop. Its control socket is fd 0.
fn zygote_main() -> i32 {
    // Move the socket off fd 0 and put /dev/null there.
    // SAFETY: fd 0 was set by the host to the zygote's end of the socketpair; we own it.
    let stdin = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(0) };
    let Ok(sock) = sys::proc::dup_at_least(stdin.as_fd(), 3) else { return 2 };
    drop(stdin);
    // Whatever else the server let through posix_spawn (an fd without O_CLOEXEC) goes now, so
    // no container can inherit it.
    let own = u32::try_from(sock.as_raw_fd()).unwrap_or(3);
    if sys::proc::close_range(3, own.saturating_sub(1)).is_err()
        || sys::proc::close_from(own.saturating_add(1)).is_err()
    {
        return 5;
    }
    match std::fs::File::open("/dev/null") {
        Ok(null) => {
            // fd 0 is free now: File::open got the lowest free number, 0; keep it open.
            let _ = std::os::fd::IntoRawFd::into_raw_fd(null);
        }
        Err(_) => return 3,
    }
    sys::proc::ignore_sigchld();
    let cap_last = sys::cap_last_cap();
    let mut plan: Option<(ContainerPlan, Option<seccompiler::BpfProgram>)> = None;
    let mut buf = vec![0u8; MSG_BYTES_MAX];
    loop {
        let mut fds = Vec::new();
        let n = match sys::sock::recv_msg(sock.as_fd(), &mut buf, &mut fds) {
            Ok(0) | Err(_) => return 0,
            Ok(n) => n,
        };
        let Ok(req) = decode_zygote_request(buf.get(..n).unwrap_or_default()) else { return 4 };
        let (reply, out) = match req {
            ZygoteRequest::Configure(p) => {
                let filter =
                    if p.seccomp { crate::seccomp::default_filter().map(Some) } else { Ok(None) };
                match filter {
                    Ok(f) => {
                        plan = Some((p, f));
                        (ZygoteReply::Configured, Vec::new())
                    }
                    Err(e) => {
                        eprintln!("shardbox zygote: seccomp: {e}");
                        (ZygoteReply::Failed { step: ZygoteStep::Seccomp, errno: 0 }, Vec::new())
                    }
                }
            }
            ZygoteRequest::Create { host_root_uid, host_user_uid } => match &plan {
                None => {
                    (ZygoteReply::Failed { step: ZygoteStep::NotConfigured, errno: 0 }, Vec::new())
                }
                Some((p, f)) => {
                    let args = InitArgs { plan: p, filter: f.as_ref(), cap_last };
                    match create(&args, host_root_uid, host_user_uid) {
                        Ok((pid, ctl, pidfd)) => (ZygoteReply::Created { pid }, vec![ctl, pidfd]),
                        Err((step, e)) => {
                            (ZygoteReply::Failed { step, errno: sys::errno_of(&e) }, Vec::new())
                        }
                    }
                }
            },
        };
        let mut out_buf = Vec::with_capacity(16);
        reply.encode(&mut out_buf);
        let borrowed: Vec<_> = out.iter().map(AsFd::as_fd).collect();
        if sys::sock::send_msg(sock.as_fd(), &out_buf, &borrowed).is_err() {
            return 0;
        }
    }
}

type CreateResult = Result<(u32, OwnedFd, OwnedFd), (ZygoteStep, io::Error)>;

fn create(args: &InitArgs<'_>, host_root_uid: u32, host_user_uid: u32) -> CreateResult {
    let (ctl_host, ctl_child) = sys::sock::seqpacket_pair().map_err(|e| (ZygoteStep::Socket, e))?;
    let (sync_r, sync_w) = sys::sock::pipe().map_err(|e| (ZygoteStep::Socket, e))?;
    // SAFETY: the zygote is single-threaded (it starts no thread).
    let forked = unsafe { sys::proc::clone3(sys::proc::CONTAINER_NAMESPACES) }
        .map_err(|e| (ZygoteStep::Clone, e))?;
    let (pid, pidfd) = match forked {
        sys::proc::Forked::Child => container_main(args, ctl_child.as_raw_fd(), sync_r.as_raw_fd()),
        sys::proc::Forked::Parent { pid, pidfd } => (pid, pidfd),
    };
    drop(ctl_child);
    drop(sync_r);
    let maps = |what: &str, host_root: u32, host_user: u32, user: u32| {
        std::fs::write(
            format!("/proc/{pid}/{what}"),
            format!("0 {host_root} 1\n{user} {host_user} 1\n"),
        )
    };
    let r = maps("uid_map", host_root_uid, host_user_uid, args.plan.user_uid)
        .and_then(|()| maps("gid_map", host_root_uid, host_user_uid, args.plan.user_gid))
        .and_then(|()| sys::sock::write_raw(sync_w.as_raw_fd(), b"1"));
    if let Err(e) = r {
        let _ = sys::proc::pidfd_kill(pidfd.as_fd(), sys::signal::SIGKILL);
        return Err((ZygoteStep::IdMap, e));
    }
    Ok((u32::try_from(pid).unwrap_or(0), ctl_host, pidfd))
}

/// Why the zygote could not be started or could not build a container.
#[derive(Debug, thiserror::Error)]
pub enum ZygoteError {
    /// Creating the socket pair.
    #[error("zygote socket: {0}")]
    Socket(io::Error),
    /// Spawning `/proc/self/exe`.
    #[error("spawn zygote: {0}")]
    Spawn(io::Error),
    /// Sending to or receiving from the zygote.
    #[error("zygote i/o: {0}")]
    Io(io::Error),
    /// The zygote closed its socket (it died).
    #[error("zygote exited")]
    Gone,
    /// The zygote did not answer in time.
    #[error("zygote did not answer within {ms} ms")]
    Timeout {
        /// How long we waited.
        ms: u64,
    },
    /// The zygote answered something undecodable or unexpected.
    #[error("zygote protocol: {0}")]
    Protocol(#[from] ProtocolError),
    /// An answer that does not fit the request.
    #[error("zygote answered out of turn")]
    Unexpected,
    /// The zygote failed a step.
    #[error("zygote failed at {step:?}: {}", sys::errno_text(*errno))]
    Failed {
        /// Step.
        step: ZygoteStep,
        /// errno.
        errno: i32,
    },
}

/// A container as the zygote hands it over.
#[derive(Debug)]
pub struct NewContainer {
    /// Host pid of its init.
    pub pid: u32,
    /// Host end of its control socket.
    pub ctl: OwnedFd,
    /// pidfd of its init.
    pub pidfd: OwnedFd,
}

/// Host-side handle of the zygote. `create` may be called from several threads (a mutex keeps
/// one exchange at a time on the socket). A zygote that died (killed by an operator or the OOM
/// killer), stopped answering within `REPLY_WAIT_MS_MAX`, or broke the protocol is replaced by a
/// fresh one on the next `create`, which is retried once: containers already built do not
/// depend on it.
#[derive(Debug)]
pub struct Zygote {
    helper: Mutex<Helper>,
    plan: ContainerPlan,
}

/// One running helper process and the host end of its socket.
#[derive(Debug)]
struct Helper {
    sock: OwnedFd,
    child: Child,
}

impl Helper {
    /// Spawns `/proc/self/exe` in helper mode and configures it with `plan`.
    fn spawn(plan: &ContainerPlan) -> Result<Self, ZygoteError> {
        let (ours, theirs) = sys::sock::seqpacket_pair().map_err(ZygoteError::Socket)?;
        let child = Command::new("/proc/self/exe")
            .arg(HELPER_ARG)
            .env_clear()
            .stdin(Stdio::from(theirs))
            .stdout(Stdio::null())
            .spawn()
            .map_err(ZygoteError::Spawn)?;
        let h = Helper { sock: ours, child };
        let (reply, _) = h.exchange(&ZygoteRequest::Configure(plan.clone()), REPLY_WAIT_MS_MAX)?;
        match reply {
            ZygoteReply::Configured => Ok(h),
            ZygoteReply::Failed { step, errno } => Err(ZygoteError::Failed { step, errno }),
            ZygoteReply::Created { .. } => Err(ZygoteError::Unexpected),
        }
    }

    fn exchange(
        &self,
        req: &ZygoteRequest,
        wait_ms: u64,
    ) -> Result<(ZygoteReply, Vec<OwnedFd>), ZygoteError> {
        exchange_on(self.sock.as_fd(), req, wait_ms)
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        // The zygote holds no container: killing it leaves every container running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request and its reply on a zygote socket, waiting at most `wait_ms` for the reply.
fn exchange_on(
    sock: std::os::fd::BorrowedFd<'_>,
    req: &ZygoteRequest,
    wait_ms: u64,
) -> Result<(ZygoteReply, Vec<OwnedFd>), ZygoteError> {
    let mut buf = Vec::with_capacity(1024);
    req.encode(&mut buf);
    sys::sock::send_msg(sock, &buf, &[]).map_err(ZygoteError::Io)?;
    let ready = sys::sock::poll(&[sock], i32::try_from(wait_ms).unwrap_or(i32::MAX))
        .map_err(ZygoteError::Io)?;
    if !ready.first().copied().unwrap_or(false) {
        return Err(ZygoteError::Timeout { ms: wait_ms });
    }
    let mut rbuf = vec![0u8; 256];
    let mut fds = Vec::new();
    let n = sys::sock::recv_msg(sock, &mut rbuf, &mut fds).map_err(ZygoteError::Io)?;
    if n == 0 {
        return Err(ZygoteError::Gone);
    }
    let reply = decode_zygote_reply(rbuf.get(..n).unwrap_or_default())?;
    if fds.len() != reply.fds_expected() {
        return Err(ZygoteError::Unexpected);
    }
    Ok((reply, fds))
}

impl Zygote {
    /// Spawns the helper and configures it with `plan`.
    pub fn start(plan: &ContainerPlan) -> Result<Self, ZygoteError> {
        Ok(Zygote { helper: Mutex::new(Helper::spawn(plan)?), plan: plan.clone() })
    }

    /// Builds one container whose root maps to `host_root_uid` and whose program user maps to
    /// `host_user_uid`.
    pub fn create(
        &self,
        host_root_uid: u32,
        host_user_uid: u32,
    ) -> Result<NewContainer, ZygoteError> {
        let req = ZygoteRequest::Create { host_root_uid, host_user_uid };
        let mut helper = self.helper.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let answer = match helper.exchange(&req, REPLY_WAIT_MS_MAX) {
            Err(ZygoteError::Io(_) | ZygoteError::Gone | ZygoteError::Timeout { .. }) => {
                // Dead or frozen: replace it (dropping the old one kills and reaps it).
                *helper = Helper::spawn(&self.plan)?;
                helper.exchange(&req, REPLY_WAIT_MS_MAX)
            }
            other => other,
        };
        let (reply, fds) = answer.inspect_err(|e| {
            if matches!(e, ZygoteError::Protocol(_) | ZygoteError::Unexpected) {
                // Out of step with us: the next create starts afresh.
                let _ = helper.child.kill();
            }
        })?;
        match reply {
            ZygoteReply::Created { pid } => {
                let mut it = fds.into_iter();
                match (it.next(), it.next()) {
                    (Some(ctl), Some(pidfd)) => Ok(NewContainer { pid, ctl, pidfd }),
                    _ => Err(ZygoteError::Unexpected),
                }
            }
            ZygoteReply::Failed { step, errno } => Err(ZygoteError::Failed { step, errno }),
            ZygoteReply::Configured => Err(ZygoteError::Unexpected),
        }
    }

    /// Host pid of the zygote.
    pub fn pid(&self) -> u32 {
        self.helper.lock().unwrap_or_else(std::sync::PoisonError::into_inner).child.id()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake zygote: answers each request with `reply` (bytes, fds), or not at all.
    fn fake(reply: Option<(Vec<u8>, usize)>) -> Result<(ZygoteReply, Vec<OwnedFd>), ZygoteError> {
        let (host, peer) = sys::sock::seqpacket_pair().unwrap();
        let t = std::thread::spawn(move || {
            let mut buf = vec![0u8; MSG_BYTES_MAX];
            let mut fds = Vec::new();
            let _ = sys::sock::recv_msg(peer.as_fd(), &mut buf, &mut fds);
            match reply {
                Some((bytes, nfds)) => {
                    let extra: Vec<OwnedFd> = (0..nfds)
                        .map(|_| std::fs::File::open("/dev/null").unwrap().into())
                        .collect();
                    let borrowed: Vec<_> = extra.iter().map(AsFd::as_fd).collect();
                    let _ = sys::sock::send_msg(peer.as_fd(), &bytes, &borrowed);
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                None => std::thread::sleep(std::time::Duration::from_millis(300)),
            }
        });
        let req = ZygoteRequest::Create { host_root_uid: 1, host_user_uid: 2 };
        let r = exchange_on(host.as_fd(), &req, 100);
        t.join().unwrap();
        r
    }

    fn encoded(reply: &ZygoteReply) -> Vec<u8> {
        let mut v = Vec::new();
        reply.encode(&mut v);
        v
    }

    #[test]
    fn a_hostile_or_frozen_zygote_is_an_error_not_a_hang() {
        assert!(matches!(fake(None), Err(ZygoteError::Timeout { ms: 100 })));
        assert!(matches!(fake(Some((vec![1, 99], 0))), Err(ZygoteError::Protocol(_))));
        assert!(matches!(fake(Some((vec![], 0))), Err(ZygoteError::Gone)));
        let created = encoded(&ZygoteReply::Created { pid: 7 });
        assert!(matches!(fake(Some((created.clone(), 0))), Err(ZygoteError::Unexpected)));
        assert!(matches!(fake(Some((created.clone(), 3))), Err(ZygoteError::Unexpected)));
        let (reply, fds) = fake(Some((created, 2))).unwrap();
        assert_eq!(reply, ZygoteReply::Created { pid: 7 });
        assert_eq!(fds.len(), 2);
    }
}
