//! Validation of a decoded `POST /run` body: go-judge's `ConvertRequest` rules (file kinds and
//! their precedence, `?` copy-outs, `-src-prefix`), the worker's pipe-mapping checks, and every
//! limit of `crate::limits` — turning a [`WireRequest`] into a [`Request`] or a
//! [`RequestError`]. Pure except for `-src-prefix`, which resolves `src` paths on the host.

use std::path::{Path, PathBuf};

use super::wire::{WireCmd, WireFile, WirePipeMap, WireRequest};
use super::{
    Capture, Cmd, CmdFile, Collector, CopyIn, CopyOut, InputFile, ParseOptions, PipeEnd, PipeMap,
    Request, RequestError, Site,
};
use crate::limits::{
    ARGS_MAX, ARGV_ENV_BYTES_MAX, ARGV_ENV_ENTRY_OVERHEAD_BYTES, CMDS_MAX, COPY_IN_MAX,
    COPY_OUT_MAX, ENVS_MAX, FILES_MAX, NAME_BYTES_MAX, PATH_BYTES_MAX, PIPE_MAPPINGS_MAX,
    TAG_BYTES_MAX,
};

fn limit(site: &str, what: &'static str, len: usize, max: usize) -> Result<(), RequestError> {
    if len > max {
        return Err(RequestError::LimitExceeded { site: Site(site.to_owned()), what, len, max });
    }
    Ok(())
}

fn no_nul(s: &str, site: impl FnOnce() -> String) -> Result<(), RequestError> {
    if s.as_bytes().contains(&0) { Err(RequestError::NulByte(Site(site()))) } else { Ok(()) }
}

/// A path given by the client (copy-in key, copy-out name, symlink target, `src`).
fn check_path(s: &str, site: &str) -> Result<(), RequestError> {
    if s.is_empty() {
        return Err(RequestError::EmptyName(Site(site.to_owned())));
    }
    limit(site, "path bytes", s.len(), PATH_BYTES_MAX)?;
    no_nul(s, || site.to_owned())
}

/// A collector or capture name: one file name.
fn check_name(s: &str, site: &str) -> Result<(), RequestError> {
    if s.is_empty() {
        return Err(RequestError::EmptyName(Site(site.to_owned())));
    }
    limit(site, "name bytes", s.len(), NAME_BYTES_MAX)?;
    no_nul(s, || site.to_owned())?;
    if s.contains('/') || s == "." || s == ".." {
        return Err(RequestError::BadName(Site(site.to_owned())));
    }
    Ok(())
}

pub(super) fn request(w: WireRequest, opts: &ParseOptions) -> Result<Request, RequestError> {
    if w.cmd.is_empty() {
        return Err(RequestError::NoCmd);
    }
    limit("request", "cmd count", w.cmd.len(), CMDS_MAX)?;
    limit("request", "requestId bytes", w.request_id.len(), TAG_BYTES_MAX)?;
    let mut cmds = Vec::with_capacity(w.cmd.len());
    for (i, c) in w.cmd.into_iter().enumerate() {
        cmds.push(validate_cmd(c, i, opts)?);
    }
    let pipes =
        if cmds.len() >= 2 { validate_pipes(w.pipe_mapping, &mut cmds)? } else { Vec::new() };
    for (i, c) in cmds.iter().enumerate() {
        if let Some(fd) = c.files.iter().position(Option::is_none) {
            return Err(RequestError::NullFile { cmd: i, fd });
        }
    }
    Ok(Request {
        request_id: w.request_id,
        cmds,
        pipes,
        copy_out_total_bytes_max: opts.copy_out_bytes_default,
        src_prefixes: opts.src_prefixes.clone(),
    })
}

/// Checks the count of `items` and that none has a NUL byte; returns their cost in
/// [`ARGV_ENV_BYTES_MAX`] units (bytes plus [`ARGV_ENV_ENTRY_OVERHEAD_BYTES`] each).
fn validate_strings(
    items: &[String],
    site: &str,
    what: &'static str,
    count_max: usize,
) -> Result<usize, RequestError> {
    limit(site, what, items.len(), count_max)?;
    let mut bytes = 0usize;
    for (j, s) in items.iter().enumerate() {
        no_nul(s, || format!("{site}[{j}]"))?;
        bytes = bytes.saturating_add(s.len()).saturating_add(ARGV_ENV_ENTRY_OVERHEAD_BYTES);
    }
    Ok(bytes)
}

fn validate_cmd(c: WireCmd, i: usize, opts: &ParseOptions) -> Result<Cmd, RequestError> {
    let site = format!("cmd[{i}]");
    if c.args.is_empty() {
        return Err(RequestError::EmptyArgs(Site(site)));
    }
    let argv_bytes = validate_strings(&c.args, &format!("{site}.args"), "argv entries", ARGS_MAX)?;
    let env_bytes = validate_strings(&c.env, &format!("{site}.env"), "env entries", ENVS_MAX)?;
    limit(&site, "argv plus env bytes", argv_bytes.saturating_add(env_bytes), ARGV_ENV_BYTES_MAX)?;
    limit(&site, "files entries", c.files.len(), FILES_MAX)?;
    limit(&site, "copyIn entries", c.copy_in.len(), COPY_IN_MAX)?;
    limit(
        &site,
        "copyOut plus copyOutCached entries",
        c.copy_out.len().saturating_add(c.copy_out_cached.len()),
        COPY_OUT_MAX,
    )?;
    limit(&format!("{site}.cpuSetLimit"), "bytes", c.cpu_set_limit.len(), TAG_BYTES_MAX)?;
    if !c.cpu_set_limit.is_empty() && crate::exec::cpuset_count(&c.cpu_set_limit) == 0 {
        return Err(RequestError::BadCpuSet(Site(format!("{site}.cpuSetLimit"))));
    }

    let mut files = Vec::with_capacity(c.files.len());
    for (fd, f) in c.files.into_iter().enumerate() {
        let at = format!("{site}.files[{fd}]");
        files.push(match f {
            None => None,
            Some(f) => Some(cmd_file(f, &at, opts)?),
        });
    }

    let mut copy_in = Vec::with_capacity(c.copy_in.len());
    for (path, f) in c.copy_in {
        let at = format!("{site}.copyIn[{path:?}]");
        check_path(&path, &at)?;
        let entry = match f.symlink {
            Some(target) => {
                check_path(&target, &format!("{at}.symlink"))?;
                CopyIn::Symlink(target)
            }
            None => match cmd_file(f, &at, opts)? {
                CmdFile::Input(input) => CopyIn::File(input),
                CmdFile::Collector(_) | CmdFile::Pipe(_) => {
                    return Err(RequestError::CollectorInCopyIn(Site(at)));
                }
            },
        };
        copy_in.push((path, entry));
    }
    copy_in.sort_by(|a, b| a.0.cmp(&b.0));

    let clock_limit_ns = if c.real_cpu_limit > 0 { c.real_cpu_limit } else { c.clock_limit };
    Ok(Cmd {
        args: c.args,
        env: c.env,
        files,
        tty: c.tty,
        cpu_limit_ns: c.cpu_limit,
        clock_limit_ns,
        memory_limit_bytes: c.memory_limit,
        stack_limit_bytes: c.stack_limit,
        proc_limit: c.proc_limit,
        cpu_rate_limit: c.cpu_rate_limit,
        cpu_set_limit: c.cpu_set_limit,
        data_segment_limit: c.data_segment_limit || c.strict_memory_limit,
        address_space_limit: c.address_space_limit,
        copy_in,
        copy_out: copy_outs(c.copy_out, &format!("{site}.copyOut"))?,
        copy_out_cached: copy_outs(c.copy_out_cached, &format!("{site}.copyOutCached"))?,
        copy_out_max_bytes: if c.copy_out_max > 0 {
            c.copy_out_max
        } else {
            opts.copy_out_bytes_default
        },
        copy_out_truncate: c.copy_out_truncate,
    })
}

fn copy_outs(names: Vec<String>, site: &str) -> Result<Vec<CopyOut>, RequestError> {
    names
        .into_iter()
        .enumerate()
        .map(|(j, n)| {
            let (name, optional) = match n.strip_suffix('?') {
                Some(stripped) => (stripped.to_owned(), true),
                None => (n, false),
            };
            check_path(&name, &format!("{site}[{j}]"))?;
            Ok(CopyOut { name, optional })
        })
        .collect()
}

/// go-judge `convertCmdFile`: precedence `src` > `content` > `fileId` > `name`+`max`.
fn cmd_file(f: WireFile, site: &str, opts: &ParseOptions) -> Result<CmdFile, RequestError> {
    if let Some(src) = f.src {
        check_path(&src, &format!("{site}.src"))?;
        check_src_prefix(&src, &opts.src_prefixes)?;
        return Ok(CmdFile::Input(InputFile::Host(PathBuf::from(src))));
    }
    if let Some(content) = f.content {
        return Ok(CmdFile::Input(InputFile::Memory(content.into_bytes())));
    }
    if let Some(id) = f.file_id {
        return Ok(CmdFile::Input(InputFile::Cached(id)));
    }
    if f.stream_in || f.stream_out {
        return Err(RequestError::StreamFile(Site(site.to_owned())));
    }
    match (f.name, f.max) {
        (Some(name), Some(max)) => {
            check_name(&name, &format!("{site}.name"))?;
            let max_bytes =
                u64::try_from(max).map_err(|_| RequestError::NegativeMax(Site(site.to_owned())))?;
            Ok(CmdFile::Collector(Collector { name, max_bytes, pipe: f.pipe }))
        }
        _ => Err(RequestError::InvalidFile(Site(site.to_owned()))),
    }
}

/// `-src-prefix`: `src` must resolve (symlinks followed, relative to the server's working
/// directory) to a path under one of `prefixes`, compared by whole components so that
/// `/allowed2/x` is not under `/allowed`.
fn check_src_prefix(src: &str, prefixes: &[PathBuf]) -> Result<(), RequestError> {
    if prefixes.is_empty() {
        return Ok(());
    }
    let resolved = std::fs::canonicalize(src).map_err(|e| RequestError::SrcResolve {
        src: src.to_owned(),
        reason: crate::run::files::io_text(&e),
    })?;
    if prefixes.iter().any(|p| resolved.starts_with(p)) {
        return Ok(());
    }
    let list: Vec<String> = prefixes.iter().map(|p| Path::display(p).to_string()).collect();
    Err(RequestError::SrcOutsidePrefix {
        src: src.to_owned(),
        prefixes: format!("[{}]", list.join(" ")),
    })
}

/// Checks `pipeMapping` against the commands and fills the mapped slots with
/// [`CmdFile::Pipe`], as go-judge's worker does (files arrays grow to the largest mapped fd).
fn validate_pipes(
    mappings: Vec<WirePipeMap>,
    cmds: &mut [Cmd],
) -> Result<Vec<PipeMap>, RequestError> {
    limit("pipeMapping", "entries", mappings.len(), PIPE_MAPPINGS_MAX)?;
    let mut pipes = Vec::with_capacity(mappings.len());
    for (k, p) in mappings.into_iter().enumerate() {
        let writer = pipe_end(p.r#in.index, p.r#in.fd, cmds.len())?;
        let reader = pipe_end(p.out.index, p.out.fd, cmds.len())?;
        for end in [writer, reader] {
            let files = &mut cmds.get_mut(end.cmd).ok_or(RequestError::PipeIndexOutOfRange(
                i64::try_from(end.cmd).unwrap_or(i64::MAX),
            ))?;
            let files = &mut files.files;
            if files.len() <= end.fd {
                files.resize(end.fd.saturating_add(1), None);
            }
            match files.get_mut(end.fd) {
                Some(slot @ None) => *slot = Some(CmdFile::Pipe(k)),
                _ => return Err(RequestError::FdOccupied { cmd: end.cmd, fd: end.fd }),
            }
        }
        let capture = if p.proxy && !p.name.is_empty() {
            let site = format!("pipeMapping[{k}]");
            check_name(&p.name, &format!("{site}.name"))?;
            let max_bytes =
                u64::try_from(p.max).map_err(|_| RequestError::NegativeMax(Site(site)))?;
            Some(Capture { name: p.name, max_bytes })
        } else {
            None
        };
        pipes.push(PipeMap {
            writer,
            reader,
            proxy: p.proxy,
            capture,
            disable_zero_copy: p.disable_zero_copy,
        });
    }
    Ok(pipes)
}

fn pipe_end(index: i64, fd: i64, cmds: usize) -> Result<PipeEnd, RequestError> {
    let cmd = usize::try_from(index)
        .ok()
        .filter(|i| *i < cmds)
        .ok_or(RequestError::PipeIndexOutOfRange(index))?;
    let fd = usize::try_from(fd).map_err(|_| RequestError::PipeFdOutOfRange(fd))?;
    if fd >= FILES_MAX {
        return Err(RequestError::LimitExceeded {
            site: Site("pipeMapping".to_owned()),
            what: "fd",
            len: fd,
            max: FILES_MAX - 1,
        });
    }
    Ok(PipeEnd { cmd, fd })
}
