//! A channel from worker threads to a task on a shard, woken through an eventfd on the ring.
//!
//! Blocking work (container runs, file copies) happens on worker threads; they hand results
//! back with [`Sender::send`], which queues the value under a mutex and adds 1 to an eventfd.
//! The [`Receiver`] lives on the shard: [`Receiver::recv`] pops a value, or awaits a ring read
//! of the eventfd when the queue is empty. The eventfd counter remembers signals sent before the
//! read was armed, so no wake-up is lost.
//!
//! Not for the hot path: a send costs a mutex and a `write(2)`.

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{Handle, OpError};

#[derive(Debug)]
struct Shared<T> {
    queue: Mutex<VecDeque<T>>,
    eventfd: OwnedFd,
    senders: AtomicUsize,
    receiver_alive: AtomicBool,
}

impl<T> Shared<T> {
    fn queue(&self) -> MutexGuard<'_, VecDeque<T>> {
        match self.queue.lock() {
            Ok(queue) => queue,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn signal(&self) {
        if let Err(error) = crate::sys::eventfd_signal(self.eventfd.as_fd()) {
            tracing::error!(%error, "signalling a channel eventfd failed");
        }
    }
}

/// The sending half; `Send + Clone`, for worker threads.
#[derive(Debug)]
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// The receiving half; stays on the shard that created it.
#[derive(Debug)]
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// A duplicate of the eventfd for the ring's reads.
    fd: Rc<OwnedFd>,
    handle: Handle,
    buf: Vec<u8>,
}

/// Creates a channel whose receiver awaits on `handle`'s ring.
pub fn channel<T: Send>(handle: &Handle) -> io::Result<(Sender<T>, Receiver<T>)> {
    let eventfd = crate::sys::eventfd()?;
    let fd = Rc::new(eventfd.try_clone()?);
    let shared = Arc::new(Shared {
        queue: Mutex::new(VecDeque::new()),
        eventfd,
        senders: AtomicUsize::new(1),
        receiver_alive: AtomicBool::new(true),
    });
    let sender = Sender { shared: Arc::clone(&shared) };
    let receiver = Receiver { shared, fd, handle: handle.clone(), buf: Vec::with_capacity(8) };
    Ok((sender, receiver))
}

impl<T> Sender<T> {
    /// Queues `value` and wakes the receiver. Gives the value back if the receiver is gone.
    pub fn send(&self, value: T) -> Result<(), T> {
        if !self.shared.receiver_alive.load(Ordering::Acquire) {
            return Err(value);
        }
        self.shared.queue().push_back(value);
        self.shared.signal();
        Ok(())
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.senders.fetch_add(1, Ordering::AcqRel);
        Sender { shared: Arc::clone(&self.shared) }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.shared.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            // The last sender: wake the receiver so it sees the channel closed.
            self.shared.signal();
        }
    }
}

impl<T> Receiver<T> {
    /// The next value; `Ok(None)` once every sender is gone and the queue is empty.
    pub async fn recv(&mut self) -> Result<Option<T>, OpError> {
        loop {
            if let Some(value) = self.shared.queue().pop_front() {
                return Ok(Some(value));
            }
            if self.shared.senders.load(Ordering::Acquire) == 0 {
                return Ok(self.shared.queue().pop_front());
            }
            let mut buf = std::mem::take(&mut self.buf);
            buf.clear();
            buf.reserve(8);
            let (result, back) = self.handle.read(&self.fd, buf).await;
            self.buf = back;
            result?;
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.shared.receiver_alive.store(false, Ordering::Release);
    }
}
