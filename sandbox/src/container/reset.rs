//! The end of a container's run: [`Container::reset`] (split in [`Container::start_reset`] and
//! [`Container::finish_reset`], so the pool never sleeps while the init kills and wipes), the
//! idle-state check [`Container::check_invariants`] and [`Container::destroy`].
//!
//! What it does not do: decide when to reset or destroy (the pool does).

use std::os::fd::AsFd;

use super::{BrokenReason, Container, ContainerError};
use crate::limits::{KILL_WAIT_MS_MAX, REPLY_WAIT_MS_MAX};
use crate::protocol::{Reply, Request};
use crate::sys;

impl Container {
    /// Kills everything, wipes `/w` and `/tmp`, removes IPC objects, checks the cgroup is empty
    /// and resets (or, when page cache stays charged to it, replaces) the cgroup:
    /// [`Container::start_reset`] then [`Container::finish_reset`].
    pub fn reset(&mut self) -> Result<(), ContainerError> {
        self.start_reset()?;
        self.finish_reset()
    }

    /// Sends `Reset` and returns without waiting: the init kills, reaps and wipes while the
    /// container sits in the pool, and nobody sleeps until it answers. The answer is read by
    /// [`Container::finish_reset`] (the pool calls it when it hands the container out; any
    /// other request calls it first).
    pub fn start_reset(&mut self) -> Result<(), ContainerError> {
        self.send(&Request::Reset, &[])?;
        self.reset_pending = true;
        Ok(())
    }

    /// Whether a reset was started and its answer not read yet.
    pub fn reset_pending(&self) -> bool {
        self.reset_pending
    }

    /// Reads the answer of a reset started by [`Container::start_reset`] (waiting for it up to
    /// `REPLY_WAIT_MS_MAX`), then checks the cgroup is empty and resets or replaces it. Nothing
    /// to do when no reset is pending.
    pub fn finish_reset(&mut self) -> Result<(), ContainerError> {
        if !self.reset_pending {
            return Ok(());
        }
        self.reset_pending = false;
        match self.recv(REPLY_WAIT_MS_MAX)? {
            (Reply::Done, _) => {}
            (Reply::Failed { step, errno }, _) => {
                return Err(self.fail(BrokenReason::Init { step, errno }));
            }
            // An `Exited` of a run abandoned mid-way may precede the reset's answer.
            (Reply::Exited(_), _) => match self.recv(REPLY_WAIT_MS_MAX)? {
                (Reply::Done, _) => {}
                (other, _) => return Err(self.fail(BrokenReason::Unexpected(format!("{other:?}")))),
            },
            (other, _) => return Err(self.fail(BrokenReason::Unexpected(format!("{other:?}")))),
        }
        let Some(cg) = self.cgroup.as_ref() else { return Ok(()) };
        if !cg.is_empty_quick()? {
            let who = cg.members_report();
            return Err(self.fail(BrokenReason::CgroupNotEmpty(who)));
        }
        let leftover = cg.memory_current()?;
        if leftover > self.config.config.memory_leftover_bytes_max || cg.needs_replacing_for_a_run()
        {
            self.rotate_cgroup()?;
        }
        Ok(())
    }

    pub(super) fn rotate_cgroup(&mut self) -> Result<(), ContainerError> {
        let Some(old) = self.cgroup.as_ref() else { return Ok(()) };
        let name = format!("c{}-{}", self.id, self.generation + 1);
        let cg = old.sibling(&name)?;
        self.generation += 1;
        self.attach(cg)
    }

    /// Asserts what must hold for an idle container (STYLE.md §10): not broken, no reset
    /// pending ([`Container::finish_reset`] first), the cgroup empty
    /// ([`crate::cgroup::Cgroup::is_empty_quick`]). The pool calls it when it hands a container
    /// out; [`Container::reset`] makes the same cgroup check after the kill.
    pub fn check_invariants(&self) {
        assert!(!self.broken, "container {} is broken but pooled", self.id);
        assert!(!self.reset_pending, "container {} is checked before its reset ended", self.id);
        if let Some(cg) = &self.cgroup {
            let empty = cg.is_empty_quick();
            assert!(
                matches!(empty, Ok(true)),
                "cgroup of container {} is not empty ({empty:?}): {}",
                self.id,
                cg.members_report()
            );
        }
    }

    /// Kills the init (and so every process of the container), waits until it is gone, removes
    /// the cgroup.
    pub fn destroy(self) -> Result<(), ContainerError> {
        let _ = sys::proc::pidfd_kill(self.pidfd.as_fd(), sys::signal::SIGKILL);
        // The init is the zygote's child (auto-reaped); its pidfd polls readable once it exited.
        let _ =
            sys::sock::poll(&[self.pidfd.as_fd()], i32::try_from(KILL_WAIT_MS_MAX).unwrap_or(5000));
        if let Some(cg) = self.cgroup {
            cg.remove()?;
        }
        Ok(())
    }
}
