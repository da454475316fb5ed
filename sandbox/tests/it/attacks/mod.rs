//! Attacks on the container layer, by theme. Each test runs a hostile program (C compiled on the
//! host with `gcc` and copied in, or a shell one-liner) through the container API exactly as the
//! judge does, and asserts the attack fails. The C sources are in `c/`; each prints what it
//! managed to do, one `key value` per line, so a failure message shows the whole story.

pub mod fs;
pub mod info;
pub mod leftovers;
pub mod lifecycle;
pub mod network;
pub mod procs;
pub mod syscalls;

use std::collections::HashMap;
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use libtest_mimic::{Failed, Trial};
use shardbox_sandbox::{Container, ExecLimits};

use crate::harness::{Ran, run_args};

pub fn tests() -> Vec<Trial> {
    let mut v = Vec::new();
    v.extend(syscalls::tests());
    v.extend(network::tests());
    v.extend(fs::tests());
    v.extend(info::tests());
    v.extend(leftovers::tests());
    v.extend(procs::tests());
    v.extend(lifecycle::tests());
    v
}

/// Compiles one C program with the host `gcc` (once per test process) and returns the binary.
/// A missing `gcc` fails the test: CI machines have it, and an attack that did not run proves
/// nothing.
pub fn compile(name: &str, source: &str, flags: &[&str]) -> Result<Vec<u8>, Failed> {
    static CACHE: OnceLock<Mutex<HashMap<String, Vec<u8>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let key = format!("{name} {}", flags.join(" "));
    if let Some(bin) = cache.lock().map_err(|_| "poisoned")?.get(&key) {
        return Ok(bin.clone());
    }
    let dir = std::env::temp_dir().join(format!("sbx-attacks-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let src = dir.join(format!("{name}.c"));
    let out = dir.join(name);
    std::fs::write(&src, source)?;
    let result = Command::new("gcc")
        .args(["-O1", "-Wall", "-Werror", "-o"])
        .arg(&out)
        .arg(&src)
        .args(flags)
        .output();
    let bin = match result {
        Ok(o) if o.status.success() => std::fs::read(&out),
        Ok(o) => {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(format!("gcc {name}: {}", String::from_utf8_lossy(&o.stderr)).into());
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(format!("gcc is needed to build attack {name}: {e}").into());
        }
    };
    let _ = std::fs::remove_dir_all(&dir);
    let bin = bin?;
    cache.lock().map_err(|_| "poisoned")?.insert(key, bin.clone());
    Ok(bin)
}

/// Copies `bin` into `/w/<name>` and runs it with `args`.
pub fn run_bin(
    c: &mut Container,
    name: &str,
    bin: &[u8],
    args: &[&str],
    limits: ExecLimits,
) -> Result<Ran, Failed> {
    c.copy_in(name.as_bytes(), bin)?;
    let path = format!("./{name}");
    let mut argv = vec![path.as_str()];
    argv.extend_from_slice(args);
    Ok(run_args(c, &argv, limits)?)
}

/// The value printed for `key` by an attack program (`key value` lines).
pub fn field<'a>(r: &'a Ran, key: &str) -> Option<&'a str> {
    r.stdout.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix(' '))
}
