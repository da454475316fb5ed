//! File bodies of a shard's connections: a [`crate::router::FileBody`] (what `GET /file/{id}`
//! answers) sent after its head without ever holding the whole file.
//!
//! The body follows its head in a loop of two ops on the connection's write-side slot: the
//! flush reads at most
//! [`limits::FILE_CHUNK_BYTES`] at the next offset into the connection's `out` buffer
//! (`Kind::FileRead`), the read's completion sends those bytes, and the send's completion
//! leaves the buffer in `out` for the next flush. So a download holds one chunk, and only
//! while the socket has not taken it; a client that reads nothing holds it until the write
//! timeout.
//!
//! What it does not do: write the head (`deliver`, with the other task responses) or decide
//! when the next read starts (the flush, when the connection's output is empty).

use std::rc::Rc;

use super::Shard;
use crate::conn::{Life, class};
use crate::limits;
use crate::ring::Completion;
use crate::tag::{self, Kind};

impl Shard {
    /// A chunk of a file body was read into the buffer: send it (the send's completion, in
    /// `on_send`, leaves the buffer in `out` and the next flush reads the next chunk).
    pub(super) fn on_file_read(&mut self, index: u32, generation: u32, completion: Completion) {
        let conn = self.conns.get_mut(index);
        assert!(
            tag::same_generation(conn.generation, generation),
            "file read completion for a reused slot"
        );
        conn.send = None;
        let buf = completion.buf;
        if conn.life == Life::Closing {
            self.give_buffer(buf);
            return self.try_finish_close(index);
        }
        let read = u64::try_from(completion.result).unwrap_or(0);
        let Some(file) = conn.file.as_mut() else {
            self.give_buffer(buf);
            return self.close(index);
        };
        if read == 0 || conn.life != Life::Open {
            // An error, or the file is shorter than the `Content-Length` already sent: the
            // framing cannot be kept, so the connection ends here.
            if completion.result < 0 {
                tracing::warn!(errno = -completion.result, "reading a file body failed");
            } else if read == 0 {
                tracing::warn!(offset = file.offset, end = file.end, "a file body ended early");
            }
            self.give_buffer(buf);
            return self.close(index);
        }
        file.offset = file.offset.saturating_add(read);
        let Some(fd) = conn.fd.clone() else {
            self.give_buffer(buf);
            return self.close(index);
        };
        conn.send_offset = 0;
        conn.sending_count = 0;
        let tag = tag::encode(Kind::Send, index, generation);
        let pushed = self.reactor.ring.borrow_mut().push_send(&fd, buf, 0, tag);
        match pushed {
            Ok(key) => {
                self.conns.get_mut(index).send = Some(key);
                self.timers.arm(&mut self.conns, index, class::WRITE, self.now_ns);
            }
            Err((_, buf)) => {
                self.metrics.ring_full.inc();
                self.give_buffer(buf);
                self.close(index);
            }
        }
    }

    /// Reads the next chunk of the connection's file body into its (empty) `out` buffer.
    /// Returns `false` if the connection was closed.
    pub(super) fn read_file_chunk(&mut self, index: u32) -> bool {
        let generation = self.conns.get(index).generation;
        let conn = self.conns.get_mut(index);
        let Some(file) = &conn.file else { return true };
        let (fd, offset) = (Rc::clone(&file.fd), file.offset);
        let chunk = usize::try_from(file.end.saturating_sub(offset))
            .unwrap_or(usize::MAX)
            .min(limits::FILE_CHUNK_BYTES);
        let mut buf = std::mem::take(&mut conn.out);
        buf.clear();
        buf.reserve(chunk);
        let tag = tag::encode(Kind::FileRead, index, generation);
        let pushed = self.reactor.ring.borrow_mut().push_read_at(&fd, buf, offset, chunk, tag);
        match pushed {
            Ok(key) => {
                self.conns.get_mut(index).send = Some(key);
                // The write deadline also bounds the read (a stuck disk ends the connection).
                self.timers.arm(&mut self.conns, index, class::WRITE, self.now_ns);
                true
            }
            Err((_, buf)) => {
                self.metrics.ring_full.inc();
                self.give_buffer(buf);
                self.close(index);
                false
            }
        }
    }
}
