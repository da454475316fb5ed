//! Tearing a ring down without freeing memory under the kernel: cancel every op in flight,
//! wait (bounded) for the completions, and only then drop the buffers — or leak them if the
//! kernel does not let go (STYLE §8).
//!
//! Also used by the shard at the end of its run, and by tests to reach a quiet ring.

use io_uring::cqueue;
use io_uring::opcode;
use io_uring::types::{CancelBuilder, Timespec};
use std::io;
use std::mem::ManuallyDrop;
use std::os::fd::{FromRawFd, OwnedFd};

use super::op::Payload;
use super::{OpKey, OpKind, Ring, errno};

impl Ring {
    /// Cancels every op in flight and waits (bounded) for their completions, dropping them.
    /// Returns whether the ring is quiet afterwards. Provided buffers are recycled.
    pub fn cancel_all_and_wait(&mut self, rounds: u32) -> bool {
        for _ in 0..rounds {
            if self.in_flight == 0 {
                return true;
            }
            let cancel =
                opcode::AsyncCancel2::new(CancelBuilder::any()).build().user_data(u64::MAX);
            // SAFETY: a cancel SQE points at no memory. Its CQE carries user_data u64::MAX,
            // which `drain_dropping` skips. If the SQ is full the next round retries.
            let _ = unsafe { self.uring.submission().push(&cancel) };
            let _ = self.submit_and_wait_bounded(1);
            self.drain_dropping();
        }
        self.in_flight == 0
    }

    fn submit_and_wait_bounded(&mut self, want: usize) -> io::Result<usize> {
        let timeout = Timespec::new().nsec(50_000_000);
        let args = io_uring::types::SubmitArgs::new().timespec(&timeout);
        match self.uring.submitter().submit_with_args(want, &args) {
            Ok(n) => Ok(n),
            Err(error) if error.raw_os_error() == Some(errno::ETIME) => Ok(0),
            Err(error) => Err(error),
        }
    }

    /// Drains every ready CQE, releasing its resources, skipping internal cancel-all CQEs.
    fn drain_dropping(&mut self) {
        loop {
            let Some(cqe) = self.uring.completion().next() else { return };
            if cqe.user_data() != u64::MAX {
                self.complete_dropped(&cqe);
            }
        }
    }

    fn complete_dropped(&mut self, cqe: &cqueue::Entry) {
        let key = OpKey::from_user_data(cqe.user_data());
        let Some(slot) = self.slots.get_mut(key.index as usize) else { return };
        if !slot.busy || slot.generation != key.generation {
            return;
        }
        let flags = cqe.flags();
        if let Some(bid) = cqueue::buffer_select(flags) {
            let buf = self.bufs.lend(bid, u32::try_from(cqe.result()).unwrap_or(0));
            self.bufs.recycle(buf);
        }
        if slot.kind == OpKind::AcceptMulti && cqe.result() >= 0 {
            // SAFETY: as in `drain`: a fresh descriptor nobody owns; dropping it closes it.
            drop(unsafe { OwnedFd::from_raw_fd(cqe.result()) });
        }
        if !cqueue::more(flags) {
            slot.payload = Payload::None;
            slot.fd = None;
            slot.busy = false;
            self.in_flight -= 1;
            self.free.push(key.index);
        }
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        let quiet = self.cancel_all_and_wait(100);
        // SAFETY: `uring` is dropped exactly once, here, and never used afterwards.
        unsafe { ManuallyDrop::drop(&mut self.uring) };
        if quiet {
            // SAFETY: no op is in flight and the io_uring instance is gone, so the kernel holds
            // no pointer into the buffers or slots; each is dropped once, here.
            unsafe { ManuallyDrop::drop(&mut self.bufs) };
            // SAFETY: as above.
            unsafe { ManuallyDrop::drop(&mut self.slots) };
        } else {
            tracing::error!(
                in_flight = self.in_flight,
                "io_uring ops still in flight at teardown; leaking their buffers"
            );
        }
    }
}
