//! A small single-threaded async executor on a shard's ring, for the slow paths.
//!
//! Sandbox orchestration, WebSocket sessions and any handler that cannot answer at once run as
//! tasks here; the plain HTTP path never does (it is a callback state machine in
//! `crate::conn`, with no wakers and no boxing). Main types:
//!
//! - [`Reactor`]: shared (`Rc`) by the shard loop and the futures. It owns the [`Ring`] (in a
//!   `RefCell`: the loop and the futures take turns, never at once), the task slots, the executor
//!   op slots and a pool of buffers returned by abandoned ops.
//! - [`Handle`]: what a task uses: spawn, sleep, read and write raw fds, channels from worker
//!   threads (see [`ops`] and [`channel`]).
//! - Task wakers are `Arc`s: waking from another thread pushes the task id under a mutex and
//!   signals the shard's eventfd, which the ring is always reading, so a blocked shard wakes up.
//!
//! Op futures follow the ring's ownership rule: an op owns its buffer until its CQE. Dropping a
//! future whose op is in flight marks the op orphaned and pushes a cancel; when the CQE finally
//! arrives, the buffer goes to the reactor's pool, exactly once.
//!
//! ```text
//!   task polls Read ──► op slot (Pending, waker) ──push_read──► ring ──CQE──► dispatch_exec
//!        ▲                                                                     │
//!        └──────────── wake ◄──── slot = Done(completion) ◄────────────────────┘
//! ```
//!
//! What it does not do: run anything on other threads, or preempt (a task that never awaits
//! stalls its shard: keep blocking calls on worker threads and talk to them with a channel).

mod block_on;
pub mod channel;
pub mod ops;
mod pool;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::os::fd::{AsFd, OwnedFd};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Wake, Waker};
use std::thread::ThreadId;

use crate::ring::{Completion, PushError, Ring};
use crate::tag::{self, Kind};

pub use block_on::block_on;
pub use ops::OpError;
pub use pool::BufPool;

type BoxFuture = Pin<Box<dyn Future<Output = ()>>>;

/// Identifies a spawned task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TaskId {
    index: u32,
    generation: u32,
}

/// Why a task could not be spawned.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// The shard already runs its maximum number of tasks.
    #[error("executor full: {max} tasks alive")]
    Full {
        /// The limit.
        max: u32,
    },
}

/// Task ids woken since the last run, and how to wake the shard from other threads.
#[derive(Debug)]
pub(crate) struct WakeQueue {
    ids: Mutex<Vec<TaskId>>,
    /// Whether `ids` may be non-empty: lets the shard check for woken tasks on every loop
    /// iteration without taking the mutex. Set (release) after a push, cleared under the lock.
    pending: AtomicBool,
    eventfd: OwnedFd,
    owner: ThreadId,
}

impl WakeQueue {
    fn push(&self, id: TaskId) {
        let mut ids = match self.ids.lock() {
            Ok(ids) => ids,
            Err(poisoned) => poisoned.into_inner(),
        };
        ids.push(id);
        self.pending.store(true, Ordering::Release);
        drop(ids);
        if std::thread::current().id() != self.owner {
            self.signal();
        }
    }

    /// Wakes the shard's ring (its wake read completes).
    pub(crate) fn signal(&self) {
        if let Err(error) = crate::sys::eventfd_signal(self.eventfd.as_fd()) {
            tracing::error!(%error, "signalling a shard's eventfd failed");
        }
    }

    fn take_into(&self, out: &mut Vec<TaskId>) {
        if !self.pending.load(Ordering::Acquire) {
            return;
        }
        let mut ids = match self.ids.lock() {
            Ok(ids) => ids,
            Err(poisoned) => poisoned.into_inner(),
        };
        self.pending.store(false, Ordering::Release);
        std::mem::swap(&mut *ids, out);
    }

    fn is_empty(&self) -> bool {
        !self.pending.load(Ordering::Acquire)
    }
}

struct TaskWaker {
    id: TaskId,
    queued: AtomicBool,
    queue: Arc<WakeQueue>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.queued.swap(true, Ordering::AcqRel) {
            self.queue.push(self.id);
        }
    }
}

#[derive(Default)]
struct TaskSlot {
    generation: u32,
    alive: bool,
    /// The future, absent while it is being polled.
    future: Option<BoxFuture>,
    /// Set when the task is aborted while being polled: drop it when the poll returns.
    aborted: bool,
    waker: Option<Arc<TaskWaker>>,
}

/// State of one executor op slot.
#[derive(Debug, Default)]
pub(crate) enum ExecOpState {
    /// Free for a new op.
    #[default]
    Free,
    /// In flight; the future waits with this waker.
    Pending(Option<Waker>),
    /// Completed; the future has not collected it yet.
    Done(Completion),
    /// The future was dropped while in flight; the completion goes to the pool.
    Orphaned,
}

#[derive(Debug, Default)]
pub(crate) struct ExecOp {
    pub(crate) generation: u32,
    pub(crate) state: ExecOpState,
    pub(crate) ring_key: Option<crate::ring::OpKey>,
}

/// A shard's ring plus its executor state, shared by the shard loop and the tasks' futures.
pub struct Reactor {
    /// The shard's ring. Borrowed by the loop between task runs and by futures while polled.
    pub ring: RefCell<Ring>,
    pub(crate) ops: RefCell<Vec<ExecOp>>,
    ops_free: RefCell<Vec<u32>>,
    ops_max: u32,
    tasks: RefCell<Vec<TaskSlot>>,
    tasks_free: RefCell<Vec<u32>>,
    tasks_alive: Cell<u32>,
    tasks_max: u32,
    wake: Arc<WakeQueue>,
    woken: RefCell<Vec<TaskId>>,
    /// Cancels that did not fit in the ring when their future was dropped; retried each run.
    cancel_backlog: RefCell<Vec<crate::ring::OpKey>>,
    /// Buffers of abandoned ops.
    pub pool: RefCell<BufPool>,
    /// The shard's wake eventfd, as the ring reads it.
    wake_fd: Rc<OwnedFd>,
}

impl std::fmt::Debug for Reactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reactor")
            .field("tasks_alive", &self.tasks_alive.get())
            .field("ops_max", &self.ops_max)
            .finish_non_exhaustive()
    }
}

/// What a task holds to reach its shard's reactor.
#[derive(Debug, Clone)]
pub struct Handle(pub(crate) Rc<Reactor>);

impl Reactor {
    /// Builds a reactor around `ring` for the calling thread, with room for `ops_max` executor
    /// ops and `tasks_max` tasks.
    pub fn new(ring: Ring, ops_max: u32, tasks_max: u32) -> std::io::Result<Rc<Reactor>> {
        Reactor::with_wake_fd(ring, ops_max, tasks_max, crate::sys::eventfd()?)
    }

    /// As [`Reactor::new`], with a wake-up eventfd created by the caller (so other threads
    /// already hold a duplicate to wake this shard).
    pub fn with_wake_fd(
        ring: Ring,
        ops_max: u32,
        tasks_max: u32,
        eventfd: OwnedFd,
    ) -> std::io::Result<Rc<Reactor>> {
        let wake_fd = Rc::new(eventfd.try_clone()?);
        let wake = Arc::new(WakeQueue {
            ids: Mutex::new(Vec::new()),
            pending: AtomicBool::new(false),
            eventfd,
            owner: std::thread::current().id(),
        });
        Ok(Rc::new(Reactor {
            ring: RefCell::new(ring),
            ops: RefCell::new((0..ops_max).map(|_| ExecOp::default()).collect()),
            ops_free: RefCell::new((0..ops_max).rev().collect()),
            ops_max,
            tasks: RefCell::new(Vec::new()),
            tasks_free: RefCell::new(Vec::new()),
            tasks_alive: Cell::new(0),
            tasks_max,
            wake,
            woken: RefCell::new(Vec::new()),
            cancel_backlog: RefCell::new(Vec::new()),
            pool: RefCell::new(BufPool::default()),
            wake_fd,
        }))
    }

    /// A handle for tasks.
    pub fn handle(self: &Rc<Self>) -> Handle {
        Handle(Rc::clone(self))
    }

    /// The cross-thread side of the wake-up: signal it to make the shard's ring return.
    pub(crate) fn wake_queue(&self) -> Arc<WakeQueue> {
        Arc::clone(&self.wake)
    }

    /// Pushes the read of the wake eventfd (tag [`Kind::Wake`]). The shard re-pushes it each time
    /// it completes.
    pub fn arm_wake(&self, buf: Vec<u8>) -> Result<(), PushError> {
        let mut buf = buf;
        buf.clear();
        buf.reserve(8);
        let tag = tag::encode(Kind::Wake, 0, 0);
        self.ring.borrow_mut().push_read(&self.wake_fd, buf, tag).map(drop).map_err(|(e, _)| e)
    }

    /// Tasks alive.
    pub fn tasks_alive(&self) -> u32 {
        self.tasks_alive.get()
    }

    /// Whether some task is waiting to be polled.
    pub fn has_ready(&self) -> bool {
        !self.wake.is_empty() || !self.cancel_backlog.borrow().is_empty()
    }

    /// Spawns a task; it is first polled by the next [`Reactor::run_ready`].
    pub fn spawn(&self, future: impl Future<Output = ()> + 'static) -> Result<TaskId, SpawnError> {
        if self.tasks_alive.get() >= self.tasks_max {
            return Err(SpawnError::Full { max: self.tasks_max });
        }
        let mut tasks = self.tasks.borrow_mut();
        let index = match self.tasks_free.borrow_mut().pop() {
            Some(index) => index,
            None => {
                tasks.push(TaskSlot::default());
                (tasks.len() - 1) as u32
            }
        };
        let slot = &mut tasks[index as usize];
        assert!(!slot.alive, "task slot {index} on the free list is alive");
        slot.generation = slot.generation.wrapping_add(1);
        let id = TaskId { index, generation: slot.generation };
        let waker = Arc::new(TaskWaker {
            id,
            queued: AtomicBool::new(false),
            queue: Arc::clone(&self.wake),
        });
        waker.wake_by_ref();
        slot.alive = true;
        slot.aborted = false;
        slot.future = Some(Box::pin(future));
        slot.waker = Some(waker);
        self.tasks_alive.set(self.tasks_alive.get() + 1);
        Ok(id)
    }

    /// Drops a task (and with it every op future it holds, which cancels their ops). A task
    /// being polled right now is dropped when its poll returns.
    pub fn abort(&self, id: TaskId) {
        let future = {
            let mut tasks = self.tasks.borrow_mut();
            let Some(slot) = tasks.get_mut(id.index as usize) else { return };
            if !slot.alive || slot.generation != id.generation {
                return;
            }
            match slot.future.take() {
                Some(future) => {
                    self.free_task(slot, id.index);
                    Some(future)
                }
                None => {
                    slot.aborted = true;
                    None
                }
            }
        };
        // Dropped outside the borrow: dropping op futures touches the reactor again.
        drop(future);
    }

    /// Aborts every task (shard teardown).
    pub fn abort_all(&self) {
        let ids: Vec<TaskId> = self
            .tasks
            .borrow()
            .iter()
            .enumerate()
            .filter(|(_, slot)| slot.alive)
            .map(|(index, slot)| TaskId { index: index as u32, generation: slot.generation })
            .collect();
        for id in ids {
            self.abort(id);
        }
    }

    fn free_task(&self, slot: &mut TaskSlot, index: u32) {
        slot.alive = false;
        slot.waker = None;
        slot.aborted = false;
        self.tasks_free.borrow_mut().push(index);
        self.tasks_alive.set(self.tasks_alive.get() - 1);
    }

    /// Polls every task woken before this call, once each. Returns how many were polled.
    pub fn run_ready(&self) -> usize {
        self.retry_cancels();
        let mut woken = std::mem::take(&mut *self.woken.borrow_mut());
        self.wake.take_into(&mut woken);
        let mut polled = 0;
        for &id in &woken {
            if self.poll_task(id) {
                polled += 1;
            }
        }
        woken.clear();
        // Keep the allocation for the next run.
        let mut slot = self.woken.borrow_mut();
        if slot.capacity() < woken.capacity() {
            *slot = woken;
        }
        polled
    }

    fn poll_task(&self, id: TaskId) -> bool {
        let (mut future, waker) = {
            let mut tasks = self.tasks.borrow_mut();
            let Some(slot) = tasks.get_mut(id.index as usize) else { return false };
            if !slot.alive || slot.generation != id.generation {
                return false;
            }
            let (Some(future), Some(waker)) = (slot.future.take(), slot.waker.clone()) else {
                return false;
            };
            (future, waker)
        };
        waker.queued.store(false, Ordering::Release);
        let as_waker = Waker::from(waker);
        let mut cx = Context::from_waker(&as_waker);
        let done = future.as_mut().poll(&mut cx).is_ready();
        let finished = {
            let mut tasks = self.tasks.borrow_mut();
            let slot = &mut tasks[id.index as usize];
            if done || slot.aborted {
                self.free_task(slot, id.index);
                Some(future)
            } else {
                slot.future = Some(future);
                None
            }
        };
        drop(finished);
        true
    }

    fn retry_cancels(&self) {
        let mut backlog = self.cancel_backlog.borrow_mut();
        if backlog.is_empty() {
            return;
        }
        let mut ring = self.ring.borrow_mut();
        while let Some(key) = backlog.last().copied() {
            if ring.push_cancel(key, tag::IGNORE).is_err() {
                return;
            }
            backlog.pop();
        }
    }

    /// Takes a free executor op slot.
    pub(crate) fn claim_op(&self) -> Result<(u32, u32), OpError> {
        let Some(index) = self.ops_free.borrow_mut().pop() else {
            return Err(OpError::Full { max: self.ops_max });
        };
        let mut ops = self.ops.borrow_mut();
        let op = &mut ops[index as usize];
        assert!(matches!(op.state, ExecOpState::Free), "op slot {index} on the free list is busy");
        op.generation = op.generation.wrapping_add(1);
        op.state = ExecOpState::Pending(None);
        op.ring_key = None;
        Ok((index, op.generation))
    }

    /// Gives back an op slot the future is done with (its state already taken).
    pub(crate) fn release_op(&self, index: u32) {
        let mut ops = self.ops.borrow_mut();
        let op = &mut ops[index as usize];
        op.state = ExecOpState::Free;
        op.ring_key = None;
        let mut free = self.ops_free.borrow_mut();
        debug_assert!(!free.contains(&index), "op slot {index} released twice");
        free.push(index);
    }

    /// Called when an op future is dropped: orphan the op and cancel it if still in flight.
    pub(crate) fn orphan_op(&self, index: u32, generation: u32) {
        let key = {
            let mut ops = self.ops.borrow_mut();
            let op = &mut ops[index as usize];
            if op.generation != generation {
                return;
            }
            match std::mem::take(&mut op.state) {
                ExecOpState::Pending(_) => {
                    op.state = ExecOpState::Orphaned;
                    op.ring_key
                }
                ExecOpState::Done(completion) => {
                    drop(ops);
                    self.recycle_completion(completion);
                    self.release_op(index);
                    return;
                }
                state @ (ExecOpState::Free | ExecOpState::Orphaned) => {
                    op.state = state;
                    return;
                }
            }
        };
        if let Some(key) = key {
            let pushed =
                self.ring.try_borrow_mut().map(|mut ring| ring.push_cancel(key, tag::IGNORE));
            if !matches!(pushed, Ok(Ok(_))) {
                self.cancel_backlog.borrow_mut().push(key);
            }
        }
    }

    fn recycle_completion(&self, mut completion: Completion) {
        if let Some(provided) = completion.provided.take() {
            self.ring.borrow_mut().bufs.recycle(provided);
        }
        self.pool.borrow_mut().give(std::mem::take(&mut completion.buf));
    }

    /// Routes a completion tagged [`Kind::Exec`] to its op future (or to the pool if the
    /// future is gone).
    pub fn dispatch_exec(&self, completion: Completion) {
        let (_, index, generation) = tag::decode(completion.tag);
        let orphan = {
            let mut ops = self.ops.borrow_mut();
            let Some(op) = ops.get_mut(index as usize) else {
                tracing::error!(index, "completion for an executor op slot that does not exist");
                return;
            };
            assert!(tag::same_generation(op.generation, generation), "stale executor completion");
            match std::mem::take(&mut op.state) {
                ExecOpState::Pending(waker) => {
                    op.state = ExecOpState::Done(completion);
                    if let Some(waker) = waker {
                        waker.wake();
                    }
                    None
                }
                ExecOpState::Orphaned => Some(completion),
                state @ (ExecOpState::Free | ExecOpState::Done(_)) => {
                    panic!("executor completion for op slot {index} in state {state:?}")
                }
            }
        };
        if let Some(completion) = orphan {
            self.recycle_completion(completion);
            self.release_op(index);
        }
    }

    /// Executor ops in flight or uncollected.
    pub fn ops_busy(&self) -> u32 {
        self.ops_max - self.ops_free.borrow().len() as u32
    }

    /// One turn of a loop that only runs tasks (tests, tools): submit, wait for at least one
    /// completion unless tasks are ready, dispatch executor and wake completions.
    pub fn turn(&self, scratch: &mut Vec<Completion>) -> std::io::Result<()> {
        let wait = usize::from(!self.has_ready());
        self.ring.borrow_mut().submit_and_wait(wait)?;
        scratch.clear();
        self.ring.borrow_mut().drain(scratch);
        for completion in scratch.drain(..) {
            match tag::decode(completion.tag).0 {
                Some(Kind::Exec) => self.dispatch_exec(completion),
                Some(Kind::Wake) => {
                    if let Err(error) = self.arm_wake(completion.buf) {
                        tracing::error!(%error, "re-arming the wake read failed");
                    }
                }
                _ => {
                    if let Some(provided) = completion.provided {
                        self.ring.borrow_mut().bufs.recycle(provided);
                    }
                }
            }
        }
        Ok(())
    }
}

impl Handle {
    /// Spawns a task on this shard.
    pub fn spawn(&self, future: impl Future<Output = ()> + 'static) -> Result<TaskId, SpawnError> {
        self.0.spawn(future)
    }

    /// Aborts a task.
    pub fn abort(&self, id: TaskId) {
        self.0.abort(id);
    }

    /// The reactor.
    pub fn reactor(&self) -> &Rc<Reactor> {
        &self.0
    }
}

#[cfg(test)]
mod tests;
