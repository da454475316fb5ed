//! Entering the kernel: submitting queued SQEs and waiting for completions, with the two
//! ways a shard makes one wake-up do more — not counting sends that complete inline
//! ([`Ring::expect_inline`]) and waiting for several completions at once when busy
//! ([`Ring::batch_next_wait`]). Both use a bounded wait (`limits::INLINE_WAIT_BOUND`; a batch
//! may ask for a shorter bound, `-wait-batch-bound`).
//!
//! What it does not do: decide when to batch (the shard's loop does, from how much its last
//! turn handled).

use std::io;
use std::time::Duration;

use io_uring::EnterFlags;
use io_uring::types::{SubmitArgs, Timespec};

use super::{Ring, errno};
use crate::limits;

impl Ring {
    /// Declares that the op just pushed (a small send on a socket that has room: it completes
    /// while its SQE is submitted, before the kernel starts waiting) is expected to complete
    /// during the next enter. The next [`Ring::submit_and_wait`] with `want > 0` then waits
    /// for `want` completions *besides* it, so queuing a response and sleeping until the next
    /// request take one `io_uring_enter`, not two (the first returning at once because the
    /// send had completed). In case the op does not complete inline after all (a full socket
    /// buffer), that wait is bounded by [`limits::INLINE_WAIT_BOUND`]:
    /// its completion is then seen at the latest that much later.
    pub fn expect_inline(&mut self) {
        self.inline_expected = self.inline_expected.saturating_add(1);
    }

    /// Makes the next waiting [`Ring::submit_and_wait`] ask for at least `completions`
    /// completions (besides inline ones) instead of `want`, bounded by `bound` (at most
    /// [`limits::INLINE_WAIT_BOUND`]): under `DEFER_TASKRUN` the kernel then wakes the thread
    /// once for several connections' requests instead of once per request. Applies only when
    /// that wait starts from an empty CQ and `completions > 1`; a plain wait otherwise.
    /// [`Ring::take_batch_short`] tells whether it timed out.
    pub fn batch_next_wait(&mut self, completions: u32, bound: Duration) {
        self.wait_batch = completions;
        self.wait_batch_bound = bound.min(limits::INLINE_WAIT_BOUND);
    }

    /// Whether the last batched wait returned with fewer completions than it asked for (it hit
    /// the bound, or a signal): the caller should stop batching for a while. Clears the flag.
    pub fn take_batch_short(&mut self) -> bool {
        std::mem::take(&mut self.batch_short)
    }

    /// Submits queued SQEs and waits until at least `want` completions are ready, not
    /// counting those of ops declared with [`Ring::expect_inline`] since the last enter (the
    /// wait is then bounded, see there). An interrupted or timed-out wait, or a kernel busy
    /// flushing overflowed completions, returns `Ok(0)`: the caller drains and calls again.
    ///
    /// Every enter carries `IORING_ENTER_GETEVENTS`, also with `want == 0`: under
    /// `DEFER_TASKRUN` a completion that became ready while its op was parked (a recv whose
    /// data arrived, an accept) is posted only by an enter that runs the ring's task work, so
    /// a plain submit would leave it invisible for as long as the caller keeps not waiting
    /// (a shard busy with tasks). With `want == 0`, nothing queued, no task work pending
    /// (`IORING_SQ_TASKRUN`) and no overflow, there is nothing for the kernel to do and no
    /// syscall is made.
    pub fn submit_and_wait(&mut self, want: usize) -> io::Result<usize> {
        let (queued, taskrun, overflow) = {
            let sq = self.uring.submission();
            (sq.len(), sq.taskrun(), sq.cq_overflow())
        };
        if want == 0 && queued == 0 && !taskrun && !overflow {
            return Ok(0);
        }
        self.stats.enters += 1;
        if want > 0 && !taskrun && self.uring.completion().is_empty() {
            self.stats.sleeps += 1;
        }
        let to_submit = u32::try_from(queued).unwrap_or(u32::MAX);
        let mut min_complete = u32::try_from(want).unwrap_or(u32::MAX);
        let inline = std::mem::take(&mut self.inline_expected);
        let batch = std::mem::take(&mut self.wait_batch);
        // Count inline completions, or batch, only when the kernel's count starts from an
        // empty CQ (every completion it sees then comes from this enter). Pending task work
        // is fine: it runs first and its completions count toward the wait, as they should.
        let quiet = want > 0 && !overflow && self.uring.completion().is_empty();
        let counted = quiet && inline > 0 && queued > 0;
        let batched = quiet && batch > 1;
        let entered = if counted || batched {
            if batched {
                min_complete = min_complete.max(batch);
            }
            if counted {
                min_complete = min_complete.saturating_add(inline);
            }
            // Relative timeout: longer than a scheduler tick by default, so on a busy CPU its
            // timer is never the earliest one and arming it costs no clock-event
            // reprogramming (a shorter one cost ≈ 3 µs per wait on the benchmark VM). An
            // operator may shorten a batch's (`-wait-batch-bound`) to bound its latency.
            let bound = if batched { self.wait_batch_bound } else { limits::INLINE_WAIT_BOUND };
            let bound = Timespec::from(bound);
            let args = SubmitArgs::new().timespec(&bound);
            let flags = (EnterFlags::GETEVENTS | EnterFlags::EXT_ARG).bits();
            // SAFETY: `args` is a valid `io_uring_getevents_arg` (`SubmitArgs` is
            // `repr(transparent)` over it, and `enter` passes its size) pointing at `bound`, and
            // both live on this stack frame until the syscall returns; the SQEs are as below.
            unsafe { self.uring.submitter().enter(to_submit, min_complete, flags, Some(&args)) }
        } else {
            let flags = EnterFlags::GETEVENTS.bits();
            // SAFETY: a plain enter with no extended argument (`None`): it reads only the rings
            // this IoUring mapped, and every SQE queued in them points at memory owned by an op
            // slot or `self.bufs` (see `enqueue`).
            unsafe { self.uring.submitter().enter::<()>(to_submit, min_complete, flags, None) }
        };
        if counted && !batched && self.uring.completion().len() < min_complete as usize {
            self.stats.inline_waits_bounded += 1;
        }
        if batched {
            self.batch_short = self.uring.completion().len() < min_complete as usize;
            self.stats.batched_waits += 1;
            self.stats.batches_short += u64::from(self.batch_short);
        }
        match entered {
            Ok(submitted) => Ok(submitted),
            Err(error) => match error.raw_os_error() {
                Some(errno::EINTR | errno::EBUSY | errno::EAGAIN | errno::ETIME) => Ok(0),
                _ => Err(error),
            },
        }
    }
}
