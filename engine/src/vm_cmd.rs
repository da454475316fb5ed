//! `shardbox vm run <elf> [args…]`: runs a RISC-V guest program once, like a native process.
//!
//! The guest's stdin, stdout and stderr are the command's own; its exit status is the guest's
//! (`status & 0xff`). `--fuel` bounds the instructions, `--pages` the pages it may write,
//! `--stats` prints instructions retired, pages written and time to stderr. A guest that does not
//! exit normally ends the command with the status a native process would have had from the
//! matching signal (illegal instruction 132, memory fault 139, misaligned atomic 135,
//! `ebreak` 133, bad `free` or `abort` 134, out of fuel 152 as for SIGXCPU, out of pages 137),
//! and a one-line reason on stderr. An ELF that cannot be loaded exits 126. All the logic is
//! in `shardbox_vm::run_program`; this module only wires standard I/O to it.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Subcommand};
use shardbox_vm::{Config, Host, Outcome, TrapKind};

/// `shardbox vm …`.
#[derive(Debug, Args)]
pub struct VmArgs {
    #[command(subcommand)]
    command: VmCommand,
}

#[derive(Debug, Subcommand)]
enum VmCommand {
    /// Run a static RISC-V ELF (RV64GC, Linux ABI) to completion: `shardbox vm run prog.elf -- args`.
    Run(RunArgs),
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Instruction budget.
    #[arg(long, default_value_t = 100_000_000_000, value_name = "INSNS")]
    fuel: u64,
    /// Most pages (4 KiB) the program may write.
    #[arg(long, default_value_t = shardbox_vm::limits::TEMPLATE_PAGES_DEFAULT, value_name = "N")]
    pages: u32,
    /// Print instructions retired, pages written and run time to stderr.
    #[arg(long)]
    stats: bool,
    /// The ELF file.
    elf: PathBuf,
    /// Arguments for the guest (argv[1..]); put `--` before them if they start with a dash.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<OsString>,
}

/// The process's standard streams as the guest's; random bytes from the OS.
struct Stdio {
    /// Used only if `/dev/urandom` cannot be read; seeded from the clock, continues across calls.
    fallback: shardbox_vm::SeededRandom,
}

impl Host for Stdio {
    fn write(&mut self, fd: i32, bytes: &[u8]) -> i64 {
        let done = match fd {
            1 => std::io::stdout().lock().write_all(bytes).and_then(|()| std::io::stdout().flush()),
            2 => std::io::stderr().lock().write_all(bytes),
            _ => return -9,
        };
        match done {
            Ok(()) => i64::try_from(bytes.len()).unwrap_or(i64::MAX),
            Err(_) => -5, // EIO
        }
    }

    fn read(&mut self, fd: i32, buf: &mut [u8]) -> i64 {
        if fd != 0 {
            return -9;
        }
        match std::io::stdin().lock().read(buf) {
            Ok(n) => i64::try_from(n).unwrap_or(0),
            Err(_) => -5,
        }
    }

    fn random(&mut self, buf: &mut [u8]) {
        let ok = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(buf)).is_ok();
        if !ok {
            // Fall back to a pseudo-random stream rather than failing the program.
            self.fallback.fill(buf);
        }
    }
}

/// Runs `shardbox vm …`; returns the exit code.
pub fn main(args: &VmArgs) -> ExitCode {
    match &args.command {
        VmCommand::Run(run) => run_elf(run),
    }
}

fn run_elf(args: &RunArgs) -> ExitCode {
    let elf = match std::fs::read(&args.elf) {
        Ok(bytes) => bytes,
        Err(error) => {
            eprintln!("shardbox vm run: {}: {error}", args.elf.display());
            return ExitCode::from(126);
        }
    };
    let name = args.elf.as_os_str().as_bytes();
    let mut argv: Vec<&[u8]> = vec![name];
    argv.extend(args.args.iter().map(|a| a.as_bytes()));
    let env: Vec<Vec<u8>> =
        std::env::vars_os().map(|(k, v)| [k.as_bytes(), b"=", v.as_bytes()].concat()).collect();
    let envp: Vec<&[u8]> = env.iter().map(Vec::as_slice).collect();
    let config = Config { template_pages_max: args.pages, ..Config::default() };
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut stdio = Stdio { fallback: shardbox_vm::SeededRandom::new(seed) };
    let started = Instant::now();
    let (outcome, stats) =
        match shardbox_vm::run_program(&elf, &config, &argv, &envp, args.fuel, &mut stdio) {
            Ok(done) => done,
            Err(error) => {
                eprintln!("shardbox vm run: {}: {error}", args.elf.display());
                return ExitCode::from(126);
            }
        };
    let elapsed = started.elapsed();
    if args.stats {
        let mips = stats.instret as f64 / elapsed.as_secs_f64().max(1e-9) / 1e6;
        eprintln!(
            "shardbox vm run: {} instructions retired, {} pages written, {:.3} ms ({mips:.0} MIPS)",
            stats.instret,
            stats.pages,
            elapsed.as_secs_f64() * 1e3,
        );
    }
    let (code, why): (u8, Option<String>) = match outcome {
        Outcome::Exited(status) => ((status & 0xff) as u8, None),
        Outcome::Returned(_) => (0, None),
        Outcome::Trap { kind, pc } => {
            let signal = match kind {
                TrapKind::IllegalInstruction(_) => 4,
                TrapKind::Breakpoint => 5,
                TrapKind::BadFree(_) => 6,
                TrapKind::MisalignedAtomic(_) => 7,
                TrapKind::FetchFault | TrapKind::LoadFault(_) | TrapKind::StoreFault(_) => 11,
                TrapKind::Signal(s) => s.min(127),
            };
            (128 + signal, Some(format!("guest trapped at pc {pc:#x}: {kind:?}")))
        }
        Outcome::OutOfFuel { pc } => {
            (152, Some(format!("out of fuel ({} instructions) at pc {pc:#x}", args.fuel)))
        }
        Outcome::OutOfMemory { pc } => {
            (137, Some(format!("out of pages ({} allowed) at pc {pc:#x}", args.pages)))
        }
    };
    if let Some(why) = why {
        eprintln!("shardbox vm run: {why}");
    }
    ExitCode::from(code)
}
