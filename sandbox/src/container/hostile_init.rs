//! Unit tests of the host side against a hostile container init: a fake init on a socket pair
//! answers each request with whatever a compromised init could send (garbage, oversized or
//! truncated datagrams, too many or wrong fds, replies out of turn, a pipe instead of a file,
//! silence, a closed socket). Every case must end in an error that marks the container broken,
//! within a bounded time, without panicking and without leaking fds.

use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::*;
use crate::exec::ExecLimits;
use crate::protocol::{ExitReport, decode_request};

/// What the fake init sends for one request: raw bytes and fds.
type Answer = (Vec<u8>, Vec<OwnedFd>);

fn encode(reply: &Reply) -> Vec<u8> {
    let mut v = Vec::new();
    reply.encode(&mut v);
    v
}

/// What the fake init does after answering.
#[derive(PartialEq)]
enum Then {
    /// Waits for the next request.
    Serve,
    /// Closes its socket (the init died).
    Die,
}

/// A fake init: says `Ready`, then for each request received calls `answer` (given the decoded
/// request), sends what it returns and serves on or dies.
fn fake_init(
    answer: impl Fn(&Request) -> (Vec<Answer>, Then) + Send + 'static,
) -> (Container, JoinHandle<()>) {
    let (host, init) = sys::sock::seqpacket_pair().unwrap();
    let t = std::thread::spawn(move || {
        sys::sock::send_msg(init.as_fd(), &encode(&Reply::Ready), &[]).unwrap();
        let mut buf = vec![0u8; MSG_BYTES_MAX];
        loop {
            let mut fds = Vec::new();
            match sys::sock::recv_msg(init.as_fd(), &mut buf, &mut fds) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    let req = decode_request(&buf[..n]).unwrap();
                    let (answers, then) = answer(&req);
                    for (bytes, fds) in answers {
                        let borrowed: Vec<_> = fds.iter().map(AsFd::as_fd).collect();
                        let _ = sys::sock::send_msg_unchecked(init.as_fd(), &bytes, &borrowed);
                    }
                    if then == Then::Die {
                        return;
                    }
                }
            }
        }
    });
    let nc =
        NewContainer { pid: 0, ctl: host, pidfd: std::fs::File::open("/dev/null").unwrap().into() };
    let config = RunConfig { config: SandboxConfig::with_parallelism(1), machine_cpus: 1 };
    let c = Container::new(0, 0, nc, None, config).unwrap();
    (c, t)
}

/// Open fds of this process that refer to `path` (other tests run in parallel: only ours count).
fn fds_on(path: &std::path::Path) -> usize {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .flatten()
        .filter(|e| std::fs::read_link(e.path()).is_ok_and(|t| t == path))
        .count()
}

fn null_fd() -> OwnedFd {
    std::fs::File::open("/dev/null").unwrap().into()
}

fn broken<T: std::fmt::Debug>(c: &Container, r: &Result<T, ContainerError>) -> bool {
    c.is_broken() && matches!(r, Err(ContainerError::Broken(_)))
}

#[test]
fn a_pipe_instead_of_a_file_is_refused() {
    // The init keeps the write end and never writes: a reader would wait forever.
    let (keep_r, keep_w) = sys::sock::pipe().unwrap();
    let held = std::sync::Mutex::new(Some(keep_w));
    let (mut c, t) = fake_init(move |_| {
        let (r, w) = sys::sock::pipe().unwrap();
        held.lock().unwrap().replace(w);
        (vec![(encode(&Reply::Opened { size_bytes: 4 }), vec![r])], Then::Serve)
    });
    drop(keep_r);
    let r = c.open_read(b"out");
    assert!(broken(&c, &r), "{r:?}");
    drop(c);
    t.join().unwrap();
}

#[test]
fn the_size_comes_from_our_fstat_not_the_init() {
    let (mut c, t) = fake_init(|_| {
        let f = std::fs::File::open("/etc/hostname").unwrap();
        (vec![(encode(&Reply::Opened { size_bytes: u64::MAX }), vec![f.into()])], Then::Serve)
    });
    let (mut f, size) = c.open_read(b"out").unwrap();
    let mut s = String::new();
    f.read_to_string(&mut s).unwrap();
    assert_eq!(size, s.len() as u64);
    drop(c);
    t.join().unwrap();
}

#[test]
fn garbage_truncated_and_oversized_replies_break_the_container() {
    let cases: Vec<Vec<u8>> = vec![
        vec![],                                                       // empty datagram: EOF-like
        vec![crate::protocol::VERSION],                               // truncated
        vec![crate::protocol::VERSION + 1, 3],                        // other version
        vec![crate::protocol::VERSION, 200],                          // unknown tag
        [encode(&Reply::Opened { size_bytes: 1 }), vec![0]].concat(), // trailing byte
        vec![crate::protocol::VERSION; MSG_BYTES_MAX + 1],            // larger than our buffer
    ];
    for bytes in cases {
        let len = bytes.len();
        let (mut c, t) = fake_init(move |_| (vec![(bytes.clone(), vec![])], Then::Serve));
        let r = c.open_read(b"out");
        assert!(broken(&c, &r), "{len} bytes: {r:?}");
        drop(c);
        t.join().unwrap();
    }
}

#[test]
fn wrong_fd_counts_break_the_container_and_leak_nothing() {
    let marker = std::env::temp_dir().join(format!("sbx-hostile-{}", std::process::id()));
    std::fs::write(&marker, b"").unwrap();
    for n in [0usize, 2, MSG_FDS_MAX, 200] {
        let m = marker.clone();
        let (mut c, t) = fake_init(move |_| {
            let fds = (0..n).map(|_| std::fs::File::open(&m).unwrap().into()).collect();
            (vec![(encode(&Reply::Opened { size_bytes: 0 }), fds)], Then::Serve)
        });
        let r = c.open_write(b"in");
        assert!(broken(&c, &r), "{n} fds: {r:?}");
        // A Done that carries fds.
        let (mut c2, t2) =
            fake_init(move |_| (vec![(encode(&Reply::Done), vec![null_fd()])], Then::Serve));
        let r = c2.symlink(b"a", b"b");
        assert!(broken(&c2, &r), "Done with an fd: {r:?}");
        drop((c, c2));
        t.join().unwrap();
        t2.join().unwrap();
    }
    let left = fds_on(&marker);
    std::fs::remove_file(&marker).unwrap();
    assert_eq!(left, 0, "fds leaked");
}

#[test]
fn replies_out_of_turn_break_the_container() {
    let exited = ExitReport {
        status: WaitStatus::Exited(0),
        user_ns: 0,
        sys_ns: 0,
        maxrss_bytes: 0,
        end_ns: 0,
    };
    // `Exited` answers an `Exec`; it breaks the container when it answers anything else.
    let (mut c, t) =
        fake_init(move |_| (vec![(encode(&Reply::Exited(exited)), vec![])], Then::Serve));
    let r = c.symlink(b"a", b"b");
    assert!(broken(&c, &r), "Exited for a symlink: {r:?}");
    drop(c);
    t.join().unwrap();
    for reply in [Reply::Pong, Reply::Ready, Reply::Done] {
        let bytes = encode(&reply);
        let (mut c, t) = fake_init(move |_| (vec![(bytes.clone(), vec![])], Then::Serve));
        let req = ExecRequest { args: vec![b"/bin/true".to_vec()], ..ExecRequest::default() };
        let r = c.run(&req, None);
        assert!(broken(&c, &r), "{reply:?}: {r:?}");
        drop(c);
        t.join().unwrap();
    }
}

#[test]
fn an_init_that_dies_or_freezes_mid_run_is_bounded() {
    // Dies after Exec, without a word.
    let (mut c, t) = fake_init(move |_| (vec![], Then::Die));
    let req = ExecRequest { args: vec![b"/bin/true".to_vec()], ..ExecRequest::default() };
    let r = c.run(&req, None);
    t.join().unwrap();
    assert!(broken(&c, &r), "{r:?}");
    drop(c);
    // Never answers Exec nor Kill: the wall limit (started by the host's own clock when it sent
    // Exec, so no init can defer it) fires, then KILL_WAIT_MS_MAX.
    let (mut c, t) = fake_init(move |_| (vec![], Then::Serve));
    let req = ExecRequest {
        args: vec![b"/bin/true".to_vec()],
        limits: ExecLimits { wall_time_ns: Some(10_000_000), ..ExecLimits::default() },
        ..ExecRequest::default()
    };
    let start = Instant::now();
    let r = c.run(&req, None);
    assert!(matches!(r, Err(ContainerError::Broken(BrokenReason::Timeout { .. }))), "{r:?}");
    assert!(start.elapsed() < Duration::from_millis(KILL_WAIT_MS_MAX + 2000));
    drop(c);
    t.join().unwrap();
}
