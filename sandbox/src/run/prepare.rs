//! Preparing the commands of a run: pipes between them, copy-in, collectors and the fd table
//! each program starts with.
//!
//! [`Pipes::new`] creates one `pipe(2)` per `pipeMapping` entry (two and a relay for a proxy)
//! and hands each end to the command slot it belongs to. [`prepare`] then, per command, writes
//! its copy-in files into its container and builds its [`Plan`]: the fds it owns, which fd
//! number each becomes, and where each collector's output will be read from:
//!
//! ```text
//!  files[i]                       fd i of the program              output read from
//!  content / fileId / src  ──►  sealed memfd, store file, host file        —
//!  {name, pipe: false}     ──►  /w/<name> opened by the container   the same inode, reopened
//!  {name, pipe: true}      ──►  write end of a host pipe            its read end, on a thread
//!  any collector, tty      ──►  one pseudo-terminal peer            its master, on a thread
//!  pipeMapping end         ──►  a pipe end (or the proxy's)         —
//! ```
//!
//! A collector name used at several fds shares one file, pipe or terminal (stdout and stderr
//! interleaved), as in go-judge. With `tty`, every collector fd gets the terminal and the output
//! is returned under the first collector's name, with its `max`; inputs stay files (no echo).

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use shardbox_alloc::blob::Blob;

use super::RunError;
use super::files::{self, CopyInFailure, Source};
use super::plumbing;
use crate::container::{Container, ContainerError};
use crate::model::{Cmd, CmdFile, Collector, Request};

/// The ends of one pipe mapping, taken by the commands as they are prepared.
#[derive(Debug)]
struct PipeEnds {
    /// The end the writer command gets (`in`).
    writer: Option<OwnedFd>,
    /// The end the reader command gets (`out`).
    reader: Option<OwnedFd>,
}

/// A proxy's relay: reads `from` (the writer's pipe), writes `to` (the reader's pipe).
#[derive(Debug)]
pub struct Relay {
    /// Index in `pipeMapping`.
    pub mapping: usize,
    /// Read end of the writer's pipe.
    pub from: OwnedFd,
    /// Write end of the reader's pipe.
    pub to: OwnedFd,
}

/// Every pipe of a request.
#[derive(Debug)]
pub struct Pipes {
    ends: Vec<PipeEnds>,
    /// The relays of proxied mappings, for the orchestration to run.
    pub relays: Vec<Relay>,
}

fn io_err(step: &'static str) -> impl FnOnce(io::Error) -> RunError {
    move |source| RunError::Io { step, source }
}

impl Pipes {
    /// Creates the pipes of `req.pipes`.
    pub fn new(req: &Request) -> Result<Self, RunError> {
        let mut ends = Vec::with_capacity(req.pipes.len());
        let mut relays = Vec::new();
        for (mapping, p) in req.pipes.iter().enumerate() {
            let (r, w) = plumbing::pipe().map_err(io_err("create pipe"))?;
            if p.proxy {
                let (r2, w2) = plumbing::pipe().map_err(io_err("create pipe"))?;
                relays.push(Relay { mapping, from: r, to: w2 });
                ends.push(PipeEnds { writer: Some(w), reader: Some(r2) });
            } else {
                ends.push(PipeEnds { writer: Some(w), reader: Some(r) });
            }
        }
        Ok(Pipes { ends, relays })
    }

    /// Takes the end of mapping `k` that fd `fd` of command `cmd` gets (`None` if taken or
    /// not this slot's).
    fn take(&mut self, req: &Request, k: usize, cmd: usize, fd: usize) -> Option<OwnedFd> {
        let mapping = req.pipes.get(k)?;
        let ends = self.ends.get_mut(k)?;
        let here = crate::model::PipeEnd { cmd, fd };
        if mapping.writer == here {
            ends.writer.take()
        } else if mapping.reader == here {
            ends.reader.take()
        } else {
            None
        }
    }
}

/// Where a collector's output is read from after the run.
#[derive(Debug)]
pub enum Output {
    /// A file in the container's `/w`, reopened read-only through our own descriptor (so a
    /// program that renames or replaces the name cannot redirect the read).
    File(File),
    /// A pipe's read end or a pty master, drained by a thread during the run.
    Stream(OwnedFd),
}

/// One collector of a command.
#[derive(Debug)]
pub struct Collecting {
    /// Its name (the key in `files`).
    pub name: String,
    /// Bytes allowed; `max + 1` are kept so an overflow shows.
    pub max_bytes: u64,
    /// Where to read it.
    pub output: Output,
}

/// What a command starts with.
#[derive(Debug)]
pub struct Plan {
    /// The fds this command owns; dropped (closed) as soon as its program ends.
    pub fds: Vec<OwnedFd>,
    /// `slots[i]`: index in `fds` of the program's fd `i`.
    pub slots: Vec<Option<usize>>,
    /// Collectors, each once.
    pub collectors: Vec<Collecting>,
    /// Copy-in failed: the program does not run.
    pub copy_in_failure: Option<CopyInFailure>,
}

/// Reopens `f` read-only at offset 0 through `/proc/self/fd` (the same inode, whatever its name
/// has become).
fn reopen_read(f: &File) -> io::Result<File> {
    File::open(format!("/proc/self/fd/{}", f.as_raw_fd()))
}

/// An input's fd for a program slot.
fn input_fd(src: Source<'_>, slot: usize) -> Result<OwnedFd, RunError> {
    Ok(match src {
        Source::Memory(bytes) => {
            let blob = Blob::from_bytes(&format!("shardbox-input-{slot}"), bytes)
                .map_err(|e| RunError::Io { step: "memfd", source: io::Error::other(e) })?;
            OwnedFd::from(blob.reopen().map_err(io_err("reopen memfd"))?)
        }
        Source::Host(f) => OwnedFd::from(f),
        Source::Cached(stored) => {
            OwnedFd::from(stored.reopen().map_err(io_err("reopen stored file"))?)
        }
        Source::Unreadable { path, error } => {
            return Err(RunError::Resolve(files::ResolveError::OpenSrc { path, source: error }));
        }
    })
}

/// Copies `cmd`'s files into `c` and builds its [`Plan`]; see the module documentation.
pub fn prepare(
    c: &mut Container,
    req: &Request,
    index: usize,
    resolved: files::Resolved<'_>,
    pipes: &mut Pipes,
) -> Result<Plan, RunError> {
    let Some(cmd) = req.cmds.get(index) else {
        return Err(RunError::Io { step: "prepare", source: io::Error::other("no such command") });
    };
    let mut plan =
        Plan { fds: Vec::new(), slots: Vec::new(), collectors: Vec::new(), copy_in_failure: None };
    let files::Resolved { files: inputs, copy_in: mut copy_in_sources } = resolved;
    let names = file_collectors(cmd);
    let paths: Vec<&[u8]> = names.iter().map(|n| n.as_bytes()).collect();
    let opened = match files::copy_in(c, cmd, &mut copy_in_sources, &paths) {
        Ok(opened) => opened,
        Err(failure) => {
            plan.copy_in_failure = Some(failure);
            return Ok(plan);
        }
    };
    drop(copy_in_sources);
    // Opened with the copy-in when it could be, else now: one exchange either way.
    let opened = opened.unwrap_or_else(|| c.open_write_batch(&paths));
    let mut files: Opened = names.into_iter().map(String::from).zip(opened).collect();
    let mut inputs = inputs;
    let mut tty: Option<usize> = None;
    let mut named: Vec<(String, usize)> = Vec::new();
    for (fd, file) in cmd.files.iter().enumerate() {
        let owned = match file {
            None => None,
            Some(CmdFile::Input(_)) => match inputs.get_mut(fd).and_then(Option::take) {
                Some(src) => Some(input_fd(src, fd)?),
                None => None,
            },
            Some(CmdFile::Pipe(k)) => pipes.take(req, *k, index, fd),
            Some(CmdFile::Collector(col)) => {
                let at = collector_fd(c, cmd, col, &mut plan, &mut named, &mut tty, &mut files)?;
                plan.slots.push(Some(at));
                continue;
            }
        };
        plan.slots.push(owned.map(|fd| {
            plan.fds.push(fd);
            plan.fds.len().saturating_sub(1)
        }));
    }
    Ok(plan)
}

/// A collector file opened ahead, by name.
type Opened = Vec<(String, Result<File, ContainerError>)>;

/// The `pipe: false` collector files of `cmd`, each once, in the order of first use (none with
/// `tty`): opened ahead in one exchange with the container, for [`collector_fd`] to take.
fn file_collectors(cmd: &Cmd) -> Vec<&str> {
    if cmd.tty {
        return Vec::new();
    }
    let mut names: Vec<&str> = Vec::new();
    for file in &cmd.files {
        if let Some(CmdFile::Collector(col)) = file
            && !col.pipe
            && !names.contains(&col.name.as_str())
        {
            names.push(&col.name);
        }
    }
    names
}

/// The index in `plan.fds` of collector `col`'s write side, creating it on first use (a file
/// collector's file comes from `files`, opened ahead).
fn collector_fd(
    c: &mut Container,
    cmd: &Cmd,
    col: &Collector,
    plan: &mut Plan,
    named: &mut Vec<(String, usize)>,
    tty: &mut Option<usize>,
    files: &mut Opened,
) -> Result<usize, RunError> {
    if cmd.tty {
        if let Some(at) = *tty {
            return Ok(at);
        }
        let (master, peer) = plumbing::pty().map_err(io_err("open pseudo-terminal"))?;
        plan.collectors.push(Collecting {
            name: col.name.clone(),
            max_bytes: col.max_bytes,
            output: Output::Stream(master),
        });
        plan.fds.push(peer);
        let at = plan.fds.len().saturating_sub(1);
        *tty = Some(at);
        return Ok(at);
    }
    if let Some((_, at)) = named.iter().find(|(name, _)| *name == col.name) {
        return Ok(*at);
    }
    let (write, output) = if col.pipe {
        let (r, w) = plumbing::pipe().map_err(io_err("create pipe"))?;
        (w, Output::Stream(r))
    } else {
        let ahead = files.iter().position(|(n, _)| *n == col.name).map(|i| files.swap_remove(i).1);
        let f = ahead
            .unwrap_or_else(|| c.open_write(col.name.as_bytes()))
            .map_err(|source| RunError::Collector { name: col.name.clone(), source })?;
        let read = reopen_read(&f).map_err(io_err("reopen collector"))?;
        (OwnedFd::from(f), Output::File(read))
    };
    plan.collectors.push(Collecting { name: col.name.clone(), max_bytes: col.max_bytes, output });
    plan.fds.push(write);
    let at = plan.fds.len().saturating_sub(1);
    named.push((col.name.clone(), at));
    Ok(at)
}
