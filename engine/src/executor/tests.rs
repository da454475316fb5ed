//! Executor tests with real ring ops: timers, socket reads and writes, abandoned ops,
//! cross-thread wake-ups, the op-slot limit and task abort.

use std::cell::{Cell, RefCell};
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::channel::channel;
use super::*;
use crate::ring::RingConfig;

fn reactor(ops_max: u32) -> Rc<Reactor> {
    let ring = Ring::new(RingConfig {
        sq_entries: 16,
        cq_entries: 64,
        recv_buffers: 4,
        recv_buffer_bytes: 512,
    })
    .expect("io_uring is available on the test machine");
    Reactor::new(ring, ops_max, 64).expect("reactor")
}

fn socket_pair() -> (Rc<OwnedFd>, UnixStream) {
    let (ours, theirs) = UnixStream::pair().expect("socketpair");
    (Rc::new(OwnedFd::from(ours)), theirs)
}

#[test]
fn sleep_orders_tasks_by_deadline() {
    let reactor = reactor(16);
    let handle = reactor.handle();
    let order = Rc::new(RefCell::new(Vec::new()));
    for (name, ms) in [("slow", 40u64), ("fast", 5)] {
        let (handle2, order) = (handle.clone(), Rc::clone(&order));
        handle
            .spawn(async move {
                handle2.sleep(Duration::from_millis(ms)).await.expect("sleep");
                order.borrow_mut().push(name);
            })
            .expect("spawn");
    }
    let started = Instant::now();
    block_on(&reactor, async {
        handle.sleep(Duration::from_millis(60)).await.expect("sleep");
    });
    assert!(started.elapsed() >= Duration::from_millis(60));
    assert_eq!(*order.borrow(), ["fast", "slow"]);
    assert_eq!(reactor.tasks_alive(), 0);
    assert_eq!(reactor.ops_busy(), 0);
}

#[test]
fn read_and_write_a_socket() {
    let reactor = reactor(16);
    let handle = reactor.handle();
    let (fd, mut peer) = socket_pair();
    let echoed = std::thread::spawn(move || {
        let mut got = [0u8; 4];
        peer.read_exact(&mut got).expect("read");
        peer.write_all(b"pong").expect("write");
        got
    });
    let reply = block_on(&reactor, async {
        let (written, _) = handle.write_all(&fd, b"ping".to_vec()).await;
        written.expect("write");
        let (read, buf) = handle.read(&fd, Vec::with_capacity(16)).await;
        assert_eq!(read.expect("read"), 4);
        buf
    });
    assert_eq!(reply, b"pong");
    assert_eq!(&echoed.join().expect("peer"), b"ping");
}

#[test]
fn dropped_read_returns_its_buffer_to_the_pool_once() {
    // A connection closes while its read is in flight: the future is dropped, the op is
    // cancelled, and the buffer reaches the pool when the CQE arrives — once.
    let reactor = reactor(16);
    let handle = reactor.handle();
    let (fd, peer) = socket_pair();
    let buf = Vec::with_capacity(1024);
    let address = buf.as_ptr();
    let returned_before = reactor.pool.borrow().returned();
    block_on(&reactor, async {
        let read = handle.read(&fd, buf);
        // Lose the race on purpose: the timeout wins, dropping the read mid-flight.
        let outcome = handle.timeout(Duration::from_millis(10), read).await;
        assert!(matches!(outcome, Err(Ok(ops::Elapsed))));
        // Let the cancellation's CQE arrive.
        for _ in 0..10 {
            handle.nop().await.expect("nop");
            if reactor.ops_busy() == 0 {
                break;
            }
        }
    });
    assert_eq!(reactor.ops_busy(), 0, "the orphaned op completed");
    let pool = reactor.pool.borrow();
    assert_eq!(pool.returned() - returned_before, 1, "returned exactly once");
    assert_eq!(pool.len(), 1);
    drop(pool);
    let again = reactor.pool.borrow_mut().take(1024);
    assert_eq!(again.as_ptr(), address, "the very buffer the read owned");
    assert_eq!(reactor.ring.borrow().in_flight(), 1, "only the wake read is left");
    drop(peer);
}

#[test]
fn op_slots_are_limited_with_a_typed_error() {
    let reactor = reactor(2);
    let handle = reactor.handle();
    let (fd, _peer) = socket_pair();
    block_on(&reactor, async {
        let mut first = Box::pin(handle.read(&fd, Vec::with_capacity(8)));
        let mut second = Box::pin(handle.read(&fd, Vec::with_capacity(8)));
        // Submit both (they wait for data that never comes).
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        assert!(first.as_mut().poll(&mut cx).is_pending());
        assert!(second.as_mut().poll(&mut cx).is_pending());
        let (third, buf) = handle.read(&fd, vec![7u8; 3]).await;
        assert!(matches!(third, Err(OpError::Full { max: 2 })), "got {third:?}");
        assert_eq!(buf, [7, 7, 7], "the buffer comes back with the error");
    });
}

#[test]
fn worker_thread_wakes_a_task_through_a_channel() {
    let reactor = reactor(16);
    let handle = reactor.handle();
    let (sender, mut receiver) = channel::<u64>(&handle).expect("channel");
    let worker = std::thread::spawn(move || {
        for value in 1..=3 {
            std::thread::sleep(Duration::from_millis(5));
            sender.send(value).expect("receiver alive");
        }
    });
    let got = block_on(&reactor, async {
        let mut got = Vec::new();
        while let Some(value) = receiver.recv().await.expect("recv") {
            got.push(value);
        }
        got
    });
    worker.join().expect("worker");
    assert_eq!(got, [1, 2, 3]);
}

#[test]
fn a_waker_used_from_another_thread_wakes_the_shard() {
    let reactor = reactor(16);
    let flag = Rc::new(Cell::new(false));
    let (tx, rx) = std::sync::mpsc::channel::<std::task::Waker>();
    let flag2 = Rc::clone(&flag);
    let mut sent = false;
    let task = std::future::poll_fn(move |cx| {
        if flag2.get() {
            return std::task::Poll::Ready(());
        }
        if !sent {
            tx.send(cx.waker().clone()).expect("send waker");
            sent = true;
            return std::task::Poll::Pending;
        }
        flag2.set(true);
        std::task::Poll::Ready(())
    });
    reactor.spawn(task).expect("spawn");
    let waker_thread = std::thread::spawn(move || {
        let waker = rx.recv().expect("waker");
        std::thread::sleep(Duration::from_millis(10));
        waker.wake();
    });
    let handle = reactor.handle();
    block_on(&reactor, async {
        // Waits on the ring; only the other thread's wake can finish the task.
        while reactor.tasks_alive() > 0 {
            handle.sleep(Duration::from_millis(1)).await.expect("sleep");
        }
    });
    waker_thread.join().expect("thread");
    assert!(flag.get());
}

#[test]
fn abort_drops_a_task_and_cancels_its_ops() {
    let reactor = reactor(16);
    let handle = reactor.handle();
    let finished = Rc::new(Cell::new(false));
    let (handle2, finished2) = (handle.clone(), Rc::clone(&finished));
    let id = handle
        .spawn(async move {
            handle2.sleep(Duration::from_secs(60)).await.expect("sleep");
            finished2.set(true);
        })
        .expect("spawn");
    block_on(&reactor, async {
        handle.nop().await.expect("nop"); // let the task start its sleep
        assert_eq!(reactor.ops_busy(), 1);
        handle.abort(id);
        assert_eq!(reactor.tasks_alive(), 0);
        for _ in 0..10 {
            handle.nop().await.expect("nop");
            if reactor.ops_busy() == 0 {
                break;
            }
        }
    });
    assert!(!finished.get());
    assert_eq!(reactor.ops_busy(), 0, "the sleep was cancelled and its slot freed");
}

#[test]
fn spawn_is_limited() {
    let ring = Ring::new(RingConfig {
        sq_entries: 16,
        cq_entries: 64,
        recv_buffers: 4,
        recv_buffer_bytes: 512,
    })
    .expect("ring");
    let reactor = Reactor::new(ring, 4, 2).expect("reactor");
    reactor.spawn(async {}).expect("first");
    reactor.spawn(async {}).expect("second");
    assert!(matches!(reactor.spawn(async {}), Err(SpawnError::Full { max: 2 })));
    reactor.run_ready();
    assert_eq!(reactor.tasks_alive(), 0);
    reactor.spawn(async {}).expect("room again");
}
