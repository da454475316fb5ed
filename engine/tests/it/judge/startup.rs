//! How the judge starts: a `-mount-conf` file shapes every container (and `/config` reports
//! it); an invalid judge configuration (a bad mount file, an impossible pool size or uid range,
//! out-of-range worker flags) stops the server at start with exit status 2 and the reason,
//! instead of serving with every run failing.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sonic_rs::{JsonContainerTrait, JsonValueTrait};

use super::{json, output, post_run, require_judge, sh_cmd, start};
use crate::harness::PATIENCE;

/// A temporary host directory removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!("shardbox-it-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("temp dir");
        TempDir(d)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_mount_config_shapes_every_container() {
    require_judge!();
    let dir = TempDir::new("mount-conf");
    let data = dir.0.join("data");
    std::fs::create_dir_all(&data).expect("mkdir");
    std::fs::write(data.join("greeting"), "from the host\n").expect("write");
    let conf = dir.0.join("mount.conf");
    let mut text = String::from("# the default binds, a data directory, no /etc\n");
    for p in ["/bin", "/lib", "/lib64", "/usr"] {
        text.push_str(&format!("bind {p}\n"));
    }
    text.push_str(&format!(
        "bind {} /data\nproc\ntmpfs /w size=8m,nr_inodes=1k\ntmpfs /tmp size=8m\n\
         symlink /dev/fd /proc/self/fd\n",
        data.display()
    ));
    std::fs::write(&conf, text).expect("write conf");
    let server = start(&["-mount-conf", &conf.display().to_string()]);
    let mut c = server.client();
    let script = "cat /data/greeting; touch /data/x 2>/dev/null || echo read-only; \
                  grep ' /w ' /proc/mounts | grep -o 'size=[0-9a-z]*'";
    let v = json(&post_run(&mut c, &format!(r#"{{"cmd":[{}]}}"#, sh_cmd(script, ""))));
    assert_eq!(output(&v, 0, "stdout"), "from the host\nread-only\nsize=8192k\n");
    let config = json(&c.get("/config"));
    let mounts = config.get("runnerConfig").and_then(|r| r.get("mount")).and_then(|m| m.as_array());
    let targets: Vec<String> = mounts
        .map(|m| {
            m.iter()
                .filter_map(|e| e.get("Target").and_then(|t| t.as_str()).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(targets, ["/bin", "/lib", "/lib64", "/usr", "/data", "/proc", "/w", "/tmp"]);
}

/// Runs the binary with `args` and returns its exit code and stderr. It must exit by itself
/// within the harness's patience; a server that starts anyway is killed and reported.
fn refused(args: &[&str]) -> (Option<i32>, String) {
    refused_with_env(args, &[])
}

fn refused_with_env(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_shardbox"))
        .args(["-http-addr", "127.0.0.1:0", "-parallelism", "1", "-pin-shards=false"])
        .args(["-cgroup-prefix", "shardbox-engine-test"])
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn shardbox");
    let t0 = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status.code();
        }
        if t0.elapsed() > PATIENCE {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    (code, stderr)
}

#[test]
fn an_invalid_judge_configuration_stops_the_start() {
    require_judge!();
    let dir = TempDir::new("bad-mount-conf");
    let no_w = dir.0.join("no-w.conf");
    std::fs::write(&no_w, "bind /bin\nproc\n").expect("write");
    let relative = dir.0.join("relative.conf");
    std::fs::write(&relative, "bind bin\ntmpfs /w\n").expect("write");
    let missing = dir.0.join("missing.conf");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["-mount-conf".into(), no_w.display().to_string()], "no tmpfs at /w"),
        (vec!["-mount-conf".into(), relative.display().to_string()], "paths must be absolute"),
        (vec!["-mount-conf".into(), missing.display().to_string()], "read mount config"),
        (vec!["-containers-max".into(), "0".into()], "containers_max must be"),
        (vec!["-container-cred-start".into(), "4294967290".into()], "overflows a uid"),
        (vec!["-judge-workers".into(), "0".into()], "judge-workers"),
        (vec!["-worker-queue-max".into(), "0".into()], "worker-queue-max"),
    ];
    for (args, reason) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, stderr) = refused(&args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(reason), "{args:?}: {stderr}");
    }
}

#[test]
fn pre_fork_defaults_to_one_container_per_shard() {
    require_judge!();
    // Two shards and no -pre-fork: the helper plus two ready containers, built at start.
    let mut child = Command::new(env!("CARGO_BIN_EXE_shardbox"))
        .args(["-http-addr", "127.0.0.1:0", "-parallelism", "2", "-pin-shards=false"])
        .args(["-cgroup-prefix", "shardbox-engine-test", "-release"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn shardbox");
    let pid = child.id();
    let mut seen = 0;
    let t0 = Instant::now();
    while t0.elapsed() < PATIENCE && seen != 3 {
        std::thread::sleep(Duration::from_millis(50));
        seen = super::leaks::descendants(pid);
    }
    // And it stays there: the replenisher keeps exactly pre_fork idle.
    std::thread::sleep(Duration::from_millis(500));
    let settled = super::leaks::descendants(pid);
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(pid).expect("pid")),
        nix::sys::signal::Signal::SIGTERM,
    );
    let _ = child.wait();
    assert_eq!((seen, settled), (3, 3), "zygote + 2 pre-forked containers");
}

#[test]
fn a_pool_that_cannot_start_answers_internal_error() {
    require_judge!();
    // The pool's root directory lives under TMPDIR; under /proc it cannot be created. That is
    // the machine's problem, not the configuration's: the server serves and every command of
    // every run is an Internal Error saying why (go-judge's "failed to get environment").
    let env = [("TMPDIR", "/proc/shardbox-no-such-dir")];
    let server = super::Server {
        binary: crate::harness::Binary::start_with_env(
            &["-pre-fork", "1", "-cgroup-prefix", "shardbox-engine-test"],
            &env,
        ),
    };
    let mut c = server.client();
    let body = format!(r#"{{"cmd":[{},{}]}}"#, sh_cmd("true", ""), sh_cmd("true", ""));
    let r = post_run(&mut c, &body);
    assert_eq!(r.status, 200, "{}", r.text());
    let v = json(&r);
    for i in 0..2 {
        assert_eq!(super::field(&v, i, "status"), "Internal Error");
        let error = super::field(&v, i, "error");
        assert!(error.starts_with("failed to get environment: create root dir"), "{error}");
    }
    let config = json(&c.get("/config"));
    assert!(config.get("runnerConfig").is_none(), "no runnerConfig without a pool");
    assert_eq!(c.get("/file").status, 200, "the file store still works");
    drop(c);
    drop(server);
    // With -no-fallback the same machine problem stops the start.
    let (code, stderr) = refused_with_env(&["-no-fallback"], &env);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("create root dir"), "{stderr}");
}
