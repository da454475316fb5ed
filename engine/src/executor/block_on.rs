//! `block_on`: drive a reactor from the current thread until one future completes. For tests
//! and tools; a shard runs its own loop instead.

use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use super::{Reactor, WakeQueue};
use crate::ring::Completion;
use crate::tag::{self, Kind};

/// Runs `future` to completion on `reactor`, driving the ring and any spawned tasks. For tests
/// and tools; a shard runs its own loop instead.
pub fn block_on<F: Future>(reactor: &Rc<Reactor>, future: F) -> F::Output {
    struct MainWaker {
        woken: AtomicBool,
        queue: Arc<WakeQueue>,
    }
    impl Wake for MainWaker {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.woken.store(true, Ordering::Release);
            self.queue.signal();
        }
    }
    let main = Arc::new(MainWaker { woken: AtomicBool::new(true), queue: reactor.wake_queue() });
    let waker = Waker::from(Arc::clone(&main));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    if let Err(error) = reactor.arm_wake(Vec::with_capacity(8)) {
        panic!("block_on: arming the wake read: {error}");
    }
    let mut scratch = Vec::with_capacity(64);
    loop {
        if main.woken.swap(false, Ordering::AcqRel)
            && let Poll::Ready(output) = future.as_mut().poll(&mut cx)
        {
            return output;
        }
        reactor.run_ready();
        if main.woken.load(Ordering::Acquire) || reactor.has_ready() {
            let _ = reactor.ring.borrow_mut().submit();
            scratch.clear();
            reactor.ring.borrow_mut().drain(&mut scratch);
            for completion in scratch.drain(..) {
                dispatch_for_block_on(reactor, completion);
            }
            continue;
        }
        if let Err(error) = reactor.turn(&mut scratch) {
            panic!("block_on: ring error: {error}");
        }
    }
}

fn dispatch_for_block_on(reactor: &Reactor, completion: Completion) {
    match tag::decode(completion.tag).0 {
        Some(Kind::Exec) => reactor.dispatch_exec(completion),
        Some(Kind::Wake) => {
            let _ = reactor.arm_wake(completion.buf);
        }
        _ => {
            if let Some(provided) = completion.provided {
                reactor.ring.borrow_mut().bufs.recycle(provided);
            }
        }
    }
}
