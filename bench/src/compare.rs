//! Side-by-side comparison: several targets, interleaved over rounds, medians and ratios.
//!
//! A [`TargetSpec`] names a server: a name, a URL, and how to find its processes (a pid, a
//! command to start it, or neither: the processes listening on the URL's port). [`compare`]
//! starts the targets that have a command (each as `sh -c 'exec CMD'`, waiting until the port
//! accepts connections), then runs every target once per round. The order rotates each round
//! (A B C, B C A, C A B, …) so that no target always runs first after a pause or last while a
//! build heats the machine: on a VM with 5–20 % steal, interleaving and medians across rounds
//! are what make two servers comparable at all. Each run's [`Sample`] is appended to the raw
//! CSV as soon as it exists, so an interrupted comparison keeps its data. Started targets are
//! stopped (SIGTERM, then SIGKILL after a bound) when the comparison ends, also on error.
//!
//! It does not install or configure servers: the scripts under `bench/scripts/` do.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::cpu::{CpuError, ProcessSet};
use crate::limits::{
    COMPARE_MS_MAX, CONNECT_TIMEOUT_MS_MAX, ROUNDS_MAX, START_WAIT_MS_MAX, STOP_WAIT_MS_MAX,
    TARGETS_MAX,
};
use crate::report::{CSV_HEADER, Sample, Summary};
use crate::request::{RequestError, Target};
use crate::run::{RunConfig, RunError, run};

/// One server to compare.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetSpec {
    /// Name in the table and the CSV.
    pub name: String,
    /// URL requested.
    pub url: String,
    /// The server's root pid, when known.
    pub pid: Option<u32>,
    /// A shell command that starts the server (it must listen on the URL's port).
    pub start: Option<String>,
}

impl TargetSpec {
    /// Parses `NAME=URL`.
    pub fn parse(text: &str) -> Result<Self, CompareError> {
        let (name, url) = text.split_once('=').ok_or_else(|| CompareError::Spec(text.into()))?;
        if name.is_empty() || url.is_empty() || name.contains(',') {
            return Err(CompareError::Spec(text.into()));
        }
        Ok(Self { name: name.into(), url: url.into(), pid: None, start: None })
    }
}

/// A comparison: targets, rounds, the run every target gets, and where results go.
#[derive(Clone, Debug)]
pub struct CompareConfig {
    /// The targets, in table order.
    pub targets: Vec<TargetSpec>,
    /// Index of the baseline target (its ratios read 1.00×).
    pub baseline: usize,
    /// Rounds; each runs every target once.
    pub rounds: u32,
    /// The run each target gets (its `target` and `server` are replaced per target).
    pub run: RunConfig,
    /// Scenario label written into every CSV row.
    pub scenario: String,
    /// Raw CSV to append to (the header is written when the file is new or empty).
    pub csv: Option<PathBuf>,
}

/// Why a comparison could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// A `--target` that is not `NAME=URL`.
    #[error("target {0:?} is not NAME=URL")]
    Spec(String),
    /// Too few or too many targets.
    #[error("{count} targets: a comparison needs 1..={max}")]
    Targets {
        /// Given count.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// Two targets share a name.
    #[error("target name {0:?} is used twice")]
    DuplicateName(String),
    /// `--pid` or `--start` names no target.
    #[error("{0:?} names no target")]
    UnknownTarget(String),
    /// Rounds outside `1..=ROUNDS_MAX`.
    #[error("--rounds {value}: must be 1..={max}")]
    Rounds {
        /// Given value.
        value: u32,
        /// The limit.
        max: u32,
    },
    /// The whole comparison would take longer than `COMPARE_MS_MAX`.
    #[error("the comparison would take up to {planned_ms} ms, more than {max_ms} ms")]
    TooLong {
        /// Planned time.
        planned_ms: u128,
        /// The limit.
        max_ms: u64,
    },
    /// A URL is invalid.
    #[error("target {name}: {source}")]
    Url {
        /// Target name.
        name: String,
        /// The cause.
        source: RequestError,
    },
    /// A start command could not be spawned.
    #[error("target {name}: cannot start {command:?}: {source}")]
    Start {
        /// Target name.
        name: String,
        /// The command.
        command: String,
        /// The spawn error.
        source: std::io::Error,
    },
    /// A started target never accepted a connection.
    #[error("target {name}: not accepting connections on {addr} after {waited_ms} ms")]
    NotListening {
        /// Target name.
        name: String,
        /// The address tried.
        addr: String,
        /// How long we waited.
        waited_ms: u64,
    },
    /// A started target exited before it accepted a connection.
    #[error("target {name}: exited during start-up ({status})")]
    Exited {
        /// Target name.
        name: String,
        /// How it exited.
        status: String,
    },
    /// The target's processes could not be found.
    #[error("target {name}: {source}")]
    Processes {
        /// Target name.
        name: String,
        /// The cause.
        source: CpuError,
    },
    /// A run failed to be carried out.
    #[error("target {name}, round {round}: {source}")]
    Run {
        /// Target name.
        name: String,
        /// Round number.
        round: u32,
        /// The cause.
        source: RunError,
    },
    /// The CSV could not be written.
    #[error("cannot write {path}: {source}")]
    Csv {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Everything a comparison measured.
#[derive(Debug)]
pub struct CompareResult {
    /// Every run, in the order run.
    pub samples: Vec<Sample>,
    /// One summary per target, in table order.
    pub summaries: Vec<Summary>,
}

impl CompareResult {
    /// Errors summed over every run of every target.
    pub fn errors(&self) -> u64 {
        self.samples.iter().map(|s| s.errors).sum()
    }
}

/// Started servers, stopped when dropped.
struct Started {
    children: Vec<Child>,
}

impl Drop for Started {
    fn drop(&mut self) {
        for child in &mut self.children {
            stop(child);
        }
    }
}

/// SIGTERM, wait up to `STOP_WAIT_MS_MAX`, then SIGKILL.
fn stop(child: &mut Child) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    if let Some(pid) = i32::try_from(child.id()).ok().and_then(rustix::process::Pid::from_raw) {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
    }
    let deadline = Instant::now() + Duration::from_millis(STOP_WAIT_MS_MAX);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Checks the plan before anything starts.
pub fn validate(config: &CompareConfig) -> Result<(), CompareError> {
    let count = config.targets.len();
    if !(1..=TARGETS_MAX).contains(&count) {
        return Err(CompareError::Targets { count, max: TARGETS_MAX });
    }
    for (i, t) in config.targets.iter().enumerate() {
        if config.targets.iter().skip(i + 1).any(|o| o.name == t.name) {
            return Err(CompareError::DuplicateName(t.name.clone()));
        }
    }
    if !(1..=ROUNDS_MAX).contains(&config.rounds) {
        return Err(CompareError::Rounds { value: config.rounds, max: ROUNDS_MAX });
    }
    config.run.validate().map_err(|e| CompareError::Run {
        name: String::new(),
        round: 0,
        source: RunError::Config(e),
    })?;
    let planned = config.run.planned().as_millis() * count as u128 * u128::from(config.rounds);
    if planned > u128::from(COMPARE_MS_MAX) {
        return Err(CompareError::TooLong { planned_ms: planned, max_ms: COMPARE_MS_MAX });
    }
    Ok(())
}

/// Runs the comparison; `progress` is called after each run with its sample.
pub fn compare(
    config: &CompareConfig,
    mut progress: impl FnMut(&Sample),
) -> Result<CompareResult, CompareError> {
    validate(config)?;
    let mut targets = Vec::with_capacity(config.targets.len());
    for spec in &config.targets {
        let target = Target::parse(&spec.url)
            .map_err(|source| CompareError::Url { name: spec.name.clone(), source })?;
        targets.push(target);
    }
    let mut started = Started { children: Vec::new() };
    let mut processes = Vec::with_capacity(targets.len());
    for (spec, target) in config.targets.iter().zip(&targets) {
        let set = if let Some(command) = &spec.start {
            let child =
                Command::new("sh").arg("-c").arg(format!("exec {command}")).spawn().map_err(
                    |source| CompareError::Start {
                        name: spec.name.clone(),
                        command: command.clone(),
                        source,
                    },
                )?;
            let pid = child.id();
            started.children.push(child);
            if let Some(child) = started.children.last_mut() {
                wait_listening(&spec.name, target, child)?;
            }
            ProcessSet::new(vec![pid])
        } else if let Some(pid) = spec.pid {
            ProcessSet::new(vec![pid])
        } else {
            ProcessSet::listening_on(target.addr.port())
        };
        processes.push(
            set.map_err(|source| CompareError::Processes { name: spec.name.clone(), source })?,
        );
    }

    let mut csv = match &config.csv {
        Some(path) => {
            let file =
                OpenOptions::new().create(true).append(true).open(path).map_err(|source| {
                    CompareError::Csv { path: path.display().to_string(), source }
                })?;
            let empty = file.metadata().map(|m| m.len() == 0).unwrap_or(true);
            let mut file = std::io::BufWriter::new(file);
            if empty {
                writeln!(file, "{CSV_HEADER}").and_then(|()| file.flush()).map_err(|source| {
                    CompareError::Csv { path: path.display().to_string(), source }
                })?;
            }
            Some((path, file))
        }
        None => None,
    };

    let n = config.targets.len();
    let mut samples = Vec::with_capacity(n * config.rounds as usize);
    for round in 0..config.rounds {
        for k in 0..n {
            let index = (k + round as usize) % n;
            let (Some(spec), Some(target), Some(set)) =
                (config.targets.get(index), targets.get(index), processes.get(index))
            else {
                continue;
            };
            let mut run_config = config.run.clone();
            run_config.target = target.clone();
            run_config.server = Some(set.clone());
            let report = run(&run_config).map_err(|source| CompareError::Run {
                name: spec.name.clone(),
                round,
                source,
            })?;
            let sample = Sample::from_report(&config.scenario, &spec.name, round, &report);
            if let Some((path, file)) = csv.as_mut() {
                writeln!(file, "{}", sample.csv_row()).and_then(|()| file.flush()).map_err(
                    |source| CompareError::Csv { path: path.display().to_string(), source },
                )?;
            }
            progress(&sample);
            samples.push(sample);
        }
    }
    drop(started);
    let summaries = config.targets.iter().map(|t| Summary::of(&t.name, &samples)).collect();
    Ok(CompareResult { samples, summaries })
}

/// Waits until `target` accepts a TCP connection, up to `START_WAIT_MS_MAX`, or until the
/// started `child` exits.
fn wait_listening(name: &str, target: &Target, child: &mut Child) -> Result<(), CompareError> {
    let begin = Instant::now();
    let bound = Duration::from_millis(START_WAIT_MS_MAX);
    while begin.elapsed() < bound {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(CompareError::Exited { name: name.into(), status: status.to_string() });
        }
        let attempt = TcpStream::connect_timeout(
            &target.addr,
            Duration::from_millis(CONNECT_TIMEOUT_MS_MAX.min(500)),
        );
        if attempt.is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(CompareError::NotListening {
        name: name.into(),
        addr: target.addr.to_string(),
        waited_ms: START_WAIT_MS_MAX,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_spec_needs_name_and_url() {
        let t = TargetSpec::parse("nginx=http://127.0.0.1:8081/hello").unwrap();
        assert_eq!((t.name.as_str(), t.url.as_str()), ("nginx", "http://127.0.0.1:8081/hello"));
        assert!(TargetSpec::parse("nginx").is_err());
        assert!(TargetSpec::parse("=http://x/").is_err());
    }
}
