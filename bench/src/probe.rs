//! The probe: one request on its own blocking connection before a run starts.
//!
//! It proves the target answers, gives the run the response sizes it reports (and, when no
//! length is imposed otherwise, the body length every response must have), and, with a
//! [`Needle`], whether the body carries the required content, so a target that answers every
//! request with a failure is refused before any load is sent.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::limits::{CONNECT_TIMEOUT_MS_MAX, READ_BUFFER_BYTES};
use crate::needle::Needle;
use crate::request::Target;
use crate::response::{ResponseError, ResponseParser, Step};
use crate::run::RunError;

/// What the probe request saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Probe {
    /// Status code.
    pub status: u16,
    /// Length of the response head (status line and headers), in bytes.
    pub head_bytes: u64,
    /// Length of the body, in bytes.
    pub body_bytes: u64,
    /// Whether the body contained the needle (`None`: no needle).
    pub contains: Option<bool>,
}

/// Sends one request on a fresh blocking connection and reads one response (searching its body
/// for `needle`, when given).
pub fn probe(
    target: &Target,
    request: &[u8],
    head_request: bool,
    needle: Option<Needle>,
) -> Result<Probe, RunError> {
    let addr = target.addr.to_string();
    let io_err = |source| RunError::ProbeIo { addr: addr.clone(), source };
    let timeout = Duration::from_millis(CONNECT_TIMEOUT_MS_MAX);
    let mut stream = TcpStream::connect_timeout(&target.addr, timeout).map_err(io_err)?;
    stream.set_read_timeout(Some(timeout)).map_err(io_err)?;
    stream.write_all(request).map_err(io_err)?;
    let mut parser = ResponseParser::with_needle(head_request, needle);
    let mut buf = vec![0u8; READ_BUFFER_BYTES];
    let (mut filled, mut start, mut head_bytes) = (0usize, 0usize, None::<u64>);
    loop {
        let pending = buf.get(start..filled).unwrap_or_default();
        let (used, step) = parser
            .parse(pending)
            .map_err(|source| RunError::ProbeResponse { addr: addr.clone(), source })?;
        if head_bytes.is_none() && (used > 0 || matches!(step, Step::Done(_))) {
            head_bytes = Some(used as u64);
        }
        start += used;
        match step {
            Step::Done(response) => {
                return Ok(Probe {
                    status: response.status,
                    head_bytes: head_bytes.unwrap_or(0),
                    body_bytes: response.body_bytes,
                    contains: response.contains,
                });
            }
            Step::NeedMore if used > 0 && start < filled => continue,
            Step::NeedMore => {}
        }
        if start == filled {
            start = 0;
            filled = 0;
        } else if start > 0 {
            buf.copy_within(start..filled, 0);
            filled -= start;
            start = 0;
        }
        let Some(space) = buf.get_mut(filled..) else { break };
        let n = stream.read(space).map_err(io_err)?;
        if n == 0 {
            return match parser.eof() {
                Ok(Some(response)) => Ok(Probe {
                    status: response.status,
                    head_bytes: head_bytes.unwrap_or(0),
                    body_bytes: response.body_bytes,
                    contains: response.contains,
                }),
                Ok(None) => Err(RunError::ProbeResponse {
                    addr: addr.clone(),
                    source: ResponseError::Truncated,
                }),
                Err(source) => Err(RunError::ProbeResponse { addr: addr.clone(), source }),
            };
        }
        filled += n;
    }
    Err(RunError::ProbeResponse { addr, source: ResponseError::Truncated })
}
