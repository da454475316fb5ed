//! `shardbox-bench`: the command line of the load generator.
//!
//! Two subcommands: `run URL` (one measured run, printed as text) and `compare` (several
//! targets interleaved over rounds: a markdown table on stdout, raw samples to a CSV). Both
//! exit 0 when every response passed its checks, 1 when any error was seen (and say so in
//! capitals), 2 when the run could not be carried out (bad flags, unreachable target).

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use shardbox_bench::compare::{CompareConfig, CompareError, TargetSpec, compare};
use shardbox_bench::cpu::ProcessSet;
use shardbox_bench::machine::MachineInfo;
use shardbox_bench::report::{machine_block, markdown_table, run_text};
use shardbox_bench::request::{RequestSpec, Target};
use shardbox_bench::run::{RunConfig, Stop, parse_duration, run};

#[derive(Parser)]
#[command(
    name = "shardbox-bench",
    about = "Closed-loop HTTP/1.1 load generator that checks every response"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// One measured run against one URL.
    Run {
        /// `http://host:port/path`.
        url: String,
        /// Server pid for CPU per request (default: the processes listening on the URL's port).
        #[arg(long)]
        pid: Option<u32>,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Several targets, interleaved over rounds, with medians and ratios to a baseline.
    Compare {
        /// `NAME=URL`, once per target, in table order.
        #[arg(long = "target", required = true)]
        targets: Vec<String>,
        /// `NAME=PID`: the target's server pid (default: found from the URL's port).
        #[arg(long = "pid")]
        pids: Vec<String>,
        /// `NAME=COMMAND`: start the target with this shell command, stop it at the end.
        #[arg(long = "start")]
        starts: Vec<String>,
        /// Baseline target name (default: the first).
        #[arg(long)]
        baseline: Option<String>,
        /// Rounds; every target runs once per round.
        #[arg(long, default_value_t = 5)]
        rounds: u32,
        /// Scenario label for the CSV and the table heading.
        #[arg(long, default_value = "default")]
        scenario: String,
        /// Append raw per-round samples to this CSV.
        #[arg(long)]
        csv: Option<PathBuf>,
        /// Append the markdown summary (machine, command, table) to this file.
        #[arg(long)]
        summary: Option<PathBuf>,
        #[command(flatten)]
        load: LoadArgs,
    },
}

#[derive(Args)]
struct LoadArgs {
    /// Concurrent connections.
    #[arg(short = 'c', long, default_value_t = 32)]
    connections: u32,
    /// Pipelining depth: requests written per batch on each connection.
    #[arg(short = 'd', long, default_value_t = 1)]
    depth: u32,
    /// Event-loop threads.
    #[arg(short = 't', long, default_value_t = 1)]
    threads: u32,
    /// Unmeasured warm-up (`500ms`, `1s`, `1m`).
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    warmup: Duration,
    /// Measured duration.
    #[arg(long, default_value = "5s", value_parser = parse_duration, conflicts_with = "requests")]
    duration: Duration,
    /// Measure exactly this many requests instead of a duration.
    #[arg(long)]
    requests: Option<u64>,
    /// With --requests: give up after this long and count the rest as errors.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    deadline: Duration,
    /// Request method.
    #[arg(short = 'X', long, default_value = "GET")]
    method: String,
    /// Extra request header `Name: value` (repeatable).
    #[arg(short = 'H', long = "header")]
    headers: Vec<String>,
    /// Request body, read from this file.
    #[arg(long)]
    body_file: Option<String>,
    /// Status every response must have.
    #[arg(long, default_value_t = 200)]
    expect_status: u16,
    /// Body length every response must have (default: the probe response's; not checked
    /// when --expect-body-contains is given and this is not).
    #[arg(long)]
    expect_body_bytes: Option<u64>,
    /// Text every response body must contain, e.g. '"status":"Accepted"' for a judge: a 200
    /// carrying a failed run then counts as an error, not a success.
    #[arg(long)]
    expect_body_contains: Option<String>,
}

impl LoadArgs {
    fn config(&self, target: Target) -> Result<RunConfig, String> {
        let mut request = RequestSpec::get();
        request.method = self.method.clone();
        request.headers = self.headers.clone();
        if let Some(path) = &self.body_file {
            request.body = RequestSpec::read_body(path).map_err(|e| e.to_string())?;
        }
        let stop = match self.requests {
            Some(count) => Stop::Requests { count, deadline: self.deadline },
            None => Stop::Duration(self.duration),
        };
        let config = RunConfig {
            target,
            request,
            connections: self.connections,
            depth: self.depth,
            threads: self.threads,
            warmup: self.warmup,
            stop,
            expect_status: self.expect_status,
            expect_body_bytes: self.expect_body_bytes,
            expect_body_contains: self.expect_body_contains.as_ref().map(|t| t.as_bytes().to_vec()),
            server: None,
        };
        config.validate().map_err(|e| e.to_string())?;
        Ok(config)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Run { url, pid, load } => cmd_run(&url, pid, &load),
        Cmd::Compare { targets, pids, starts, baseline, rounds, scenario, csv, summary, load } => {
            cmd_compare(targets, &pids, &starts, baseline, rounds, scenario, csv, summary, &load)
        }
    };
    match result {
        Ok(0) => ExitCode::SUCCESS,
        Ok(errors) => {
            eprintln!(
                "shardbox-bench: FAILED: {errors} responses were wrong or missing; see above"
            );
            ExitCode::from(1)
        }
        Err(message) => {
            eprintln!("shardbox-bench: {message}");
            ExitCode::from(2)
        }
    }
}

/// One run; returns the error count.
fn cmd_run(url: &str, pid: Option<u32>, load: &LoadArgs) -> Result<u64, String> {
    let target = Target::parse(url).map_err(|e| e.to_string())?;
    let port = target.addr.port();
    let mut config = load.config(target)?;
    config.server = match pid {
        Some(pid) => Some(ProcessSet::new(vec![pid]).map_err(|e| e.to_string())?),
        None => match ProcessSet::listening_on(port) {
            Ok(set) => Some(set),
            Err(e) => {
                eprintln!("shardbox-bench: server CPU not measured: {e}");
                None
            }
        },
    };
    if let Some(set) = &config.server {
        eprintln!("shardbox-bench: server processes (and descendants): {:?}", set.roots());
    }
    let report = run(&config).map_err(|e| e.to_string())?;
    let machine = MachineInfo::collect();
    print!("{}", run_text(&report));
    println!(
        "machine       {} × {}, kernel {}, {}",
        machine.nproc, machine.cpu_model, machine.kernel, machine.date_utc
    );
    Ok(report.errors.total())
}

/// Parses `NAME=VALUE` and finds the target it names.
fn assign<'a>(
    specs: &'a mut [TargetSpec],
    text: &str,
) -> Result<(&'a mut TargetSpec, String), String> {
    let (name, value) =
        text.split_once('=').ok_or_else(|| format!("{text:?} is not NAME=VALUE"))?;
    let spec = specs
        .iter_mut()
        .find(|s| s.name == name)
        .ok_or_else(|| CompareError::UnknownTarget(name.into()).to_string())?;
    Ok((spec, value.to_string()))
}

#[expect(clippy::too_many_arguments, reason = "one argument per CLI flag group, called once")]
fn cmd_compare(
    targets: Vec<String>,
    pids: &[String],
    starts: &[String],
    baseline: Option<String>,
    rounds: u32,
    scenario: String,
    csv: Option<PathBuf>,
    summary: Option<PathBuf>,
    load: &LoadArgs,
) -> Result<u64, String> {
    let mut specs = targets
        .iter()
        .map(|t| TargetSpec::parse(t))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    for text in pids {
        let (spec, value) = assign(&mut specs, text)?;
        spec.pid = Some(value.parse().map_err(|_| format!("--pid {text:?}: not a pid"))?);
    }
    for text in starts {
        let (spec, value) = assign(&mut specs, text)?;
        spec.start = Some(value);
    }
    let baseline = match baseline {
        Some(name) => specs
            .iter()
            .position(|s| s.name == name)
            .ok_or_else(|| CompareError::UnknownTarget(name).to_string())?,
        None => 0,
    };
    let first = specs.first().ok_or("no target")?;
    let first_target =
        Target::parse(&first.url).map_err(|e| format!("target {}: {e}", first.name))?;
    let config = CompareConfig {
        targets: specs,
        baseline,
        rounds,
        run: load.config(first_target)?,
        scenario: scenario.clone(),
        csv: csv.clone(),
    };
    let machine = MachineInfo::collect();
    let result = compare(&config, |s| {
        eprintln!(
            "round {:>2} {:<12} {:>10.0} req/s  p50 {:>7.0} µs  p99 {:>7.0} µs  server {:>6.2} µs/req  bench {:>5.2} µs/req  steal {:>4.1} %  errors {}",
            s.round,
            s.target,
            s.rps,
            s.p50_us,
            s.p99_us,
            s.server_user_us + s.server_sys_us,
            s.client_user_us + s.client_sys_us,
            s.steal_percent,
            s.errors
        );
    })
    .map_err(|e| e.to_string())?;
    let mut text = String::new();
    text.push_str(&format!("### {scenario}\n\n"));
    text.push_str(&machine_block(&machine));
    text.push_str(&format!(
        "- load: {} connections, pipelining depth {}, {} thread(s), warm-up {:?}, {}, {} rounds (order rotated each round), medians across rounds\n",
        config.run.connections,
        config.run.depth,
        config.run.threads,
        config.run.warmup,
        match config.run.stop {
            Stop::Duration(d) => format!("{d:?} measured per run"),
            Stop::Requests { count, .. } => format!("{count} requests measured per run"),
        },
        rounds
    ));
    text.push_str(&format!(
        "- checked: every response has status {}{}{}\n",
        config.run.expect_status,
        config.run.expect_body_bytes.map(|n| format!(", a {n}-byte body")).unwrap_or_default(),
        load.expect_body_contains
            .as_ref()
            .map(|t| format!(", a body containing `{t}`"))
            .unwrap_or_default()
    ));
    if let Some(path) = &csv {
        text.push_str(&format!("- raw samples: `{}`\n", path.display()));
    }
    text.push('\n');
    text.push_str(&markdown_table(&result.summaries, baseline));
    let errors = result.errors();
    if errors > 0 {
        text.push_str(&format!("\n**{errors} ERRORS: some responses were wrong or missing; these numbers do not measure the work asked.**\n"));
    }
    print!("{text}");
    if let Some(path) = summary {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        writeln!(file, "{text}").map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(errors)
}
