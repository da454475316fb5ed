//! Tests of the ring against the real kernel: ownership of buffers through completions,
//! cancellation, the throttling error, provided buffers and their exhaustion.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::time::Duration;

use super::*;

fn small_ring(cq: u32, buffers: u32) -> Ring {
    Ring::new(RingConfig {
        sq_entries: 4,
        cq_entries: cq,
        recv_buffers: buffers,
        recv_buffer_bytes: 64,
    })
    .expect("io_uring is available on the test machine")
}

/// Waits until at least one completion arrives and returns everything ready.
fn wait(ring: &mut Ring) -> Vec<Completion> {
    let mut out = Vec::new();
    for _ in 0..1000 {
        ring.submit_and_wait(1).expect("submit");
        ring.drain(&mut out);
        if !out.is_empty() {
            return out;
        }
    }
    panic!("no completion arrived");
}

fn pair() -> (Rc<OwnedFd>, UnixStream) {
    let (ours, theirs) = UnixStream::pair().expect("socketpair");
    (Rc::new(OwnedFd::from(ours)), theirs)
}

#[test]
fn nop_completes_with_its_tag_and_frees_the_slot() {
    let mut ring = small_ring(8, 4);
    let key = ring.push_nop(42).expect("push");
    assert_eq!(ring.in_flight(), 1);
    let done = wait(&mut ring);
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].tag, 42);
    assert_eq!(done[0].key, key);
    assert_eq!(done[0].result, 0);
    assert!(!done[0].more);
    assert_eq!(ring.in_flight(), 0);
}

#[test]
fn a_full_ring_is_a_typed_error_and_recovers() {
    let mut ring = small_ring(8, 4);
    let mut keys = Vec::new();
    for tag in 0..8 {
        keys.push(ring.push_timeout(Expiry::After(Duration::from_secs(60)), tag).expect("room"));
    }
    // The ninth op would not fit in the CQ: refused, nothing queued.
    match ring.push_nop(99) {
        Err(PushError::Full { in_flight: 8, capacity: 8 }) => {}
        other => panic!("expected PushError::Full, got {other:?}"),
    }
    let buf = vec![1u8, 2, 3];
    let (fd, _peer) = pair();
    match ring.push_send(&fd, buf, 0, 7) {
        Err((PushError::Full { .. }, back)) => assert_eq!(back, [1, 2, 3], "buffer handed back"),
        other => panic!("expected Full with the buffer back, got {other:?}"),
    }
    // Free capacity by completing everything, then pushing works again.
    assert!(ring.cancel_all_and_wait(50));
    assert_eq!(ring.in_flight(), 0);
    ring.push_nop(1).expect("room again");
}

#[test]
fn send_returns_the_same_buffer() {
    let mut ring = small_ring(8, 4);
    let (fd, mut peer) = pair();
    let buf = b"hello world".to_vec();
    let address = buf.as_ptr();
    ring.push_send(&fd, buf, 6, 5).expect("push");
    let done = wait(&mut ring);
    assert_eq!(done[0].result, 5);
    assert_eq!(done[0].buf.as_ptr(), address, "the op hands back the very buffer it owned");
    let mut got = [0u8; 5];
    peer.read_exact(&mut got).expect("read");
    assert_eq!(&got, b"world");
}

#[test]
fn read_grows_the_buffer_by_the_bytes_read() {
    let mut ring = small_ring(8, 4);
    let (fd, mut peer) = pair();
    peer.write_all(b"abc").expect("write");
    let mut buf = Vec::with_capacity(16);
    buf.extend_from_slice(b">");
    ring.push_read(&fd, buf, 3).map_err(|(e, _)| e).expect("push");
    let done = wait(&mut ring);
    assert_eq!(done[0].result, 3);
    assert_eq!(done[0].buf, b">abc");
}

/// A file body's read: at its offset, at most `len_max` bytes even with more room and more
/// file, and the descriptor's own position untouched (it is shared with the file store).
#[test]
fn read_at_reads_at_its_offset_and_no_more_than_asked() {
    use std::io::Seek;
    let mut ring = small_ring(8, 4);
    let mut file = tempfile_with(b"0123456789");
    let fd = Rc::new(OwnedFd::from(file.try_clone().expect("dup")));
    ring.push_read_at(&fd, Vec::with_capacity(16), 3, 4, 5).map_err(|(e, _)| e).expect("push");
    let done = wait(&mut ring);
    assert_eq!((done[0].result, done[0].buf.as_slice()), (4, &b"3456"[..]));
    ring.push_read_at(&fd, Vec::with_capacity(16), 8, 4, 6).map_err(|(e, _)| e).expect("push");
    let done = wait(&mut ring);
    assert_eq!((done[0].result, done[0].buf.as_slice()), (2, &b"89"[..]), "short at the end");
    ring.push_read_at(&fd, Vec::with_capacity(16), 10, 4, 7).map_err(|(e, _)| e).expect("push");
    assert_eq!(wait(&mut ring)[0].result, 0, "at the end: 0");
    assert_eq!(file.stream_position().expect("position"), 0, "the position did not move");
}

fn tempfile_with(bytes: &[u8]) -> std::fs::File {
    use std::io::Seek;
    let path = std::env::temp_dir().join(format!("ring-read-at-{}", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .expect("temp file");
    std::fs::remove_file(&path).expect("unlink");
    file.write_all(bytes).expect("write");
    file.rewind().expect("rewind");
    file
}

#[test]
fn cancelled_read_returns_its_buffer_exactly_once() {
    // The "connection" goes away while the read is in flight: the buffer stays with the op
    // until the kernel's CQE, then comes back once.
    let mut ring = small_ring(8, 4);
    let (fd, peer) = pair();
    let buf = Vec::with_capacity(32);
    let address = buf.as_ptr();
    let read = ring.push_read(&fd, buf, 1).map_err(|(e, _)| e).expect("push");
    ring.submit().expect("submit");
    drop(fd); // our handle is gone; the slot's Rc keeps the socket open
    ring.push_cancel(read, 2).expect("cancel");
    let mut all = Vec::new();
    while all.len() < 2 {
        all.extend(wait(&mut ring));
    }
    let reads: Vec<_> = all.iter().filter(|c| c.tag == 1).collect();
    assert_eq!(reads.len(), 1, "exactly one completion for the read");
    assert_eq!(reads[0].result, -errno::ECANCELED);
    assert_eq!(reads[0].buf.as_ptr(), address, "buffer returned with the completion");
    assert_eq!(ring.in_flight(), 0);
    drop(peer);
}

#[test]
fn recv_multi_lends_provided_buffers_and_takes_them_back() {
    let mut ring = small_ring(16, 4);
    let (fd, mut peer) = pair();
    ring.push_recv_multi(&fd, 9).expect("push");
    peer.write_all(b"first").expect("write");
    let mut done = wait(&mut ring);
    let completion = done.remove(0);
    assert!(completion.more, "multishot recv stays armed");
    let provided = completion.provided.expect("data comes in a provided buffer");
    assert_eq!(ring.bufs.bytes(&provided), b"first");
    assert_eq!(ring.bufs.lent(), 1);
    ring.bufs.recycle(provided);
    assert_eq!(ring.bufs.lent(), 0);
    ring.bufs.check_invariants();
    // End of stream: a zero-byte completion without a buffer ends the multishot.
    drop(peer);
    let done = wait(&mut ring);
    assert_eq!(done[0].result, 0);
    assert!(done[0].provided.is_none());
    assert!(!done[0].more);
    assert_eq!(ring.in_flight(), 0);
}

#[test]
fn closing_mid_recv_returns_every_buffer_exactly_once() {
    // Data races with the cancellation: whatever the kernel delivered before the cancel took
    // effect arrives in provided buffers, each recycled once; then the recv ends.
    let mut ring = small_ring(16, 8);
    let (fd, mut peer) = pair();
    let recv = ring.push_recv_multi(&fd, 1).expect("push");
    ring.submit().expect("submit");
    peer.write_all(b"in flight").expect("write");
    ring.push_cancel(recv, 2).expect("cancel");
    drop(fd);
    let mut recv_done = false;
    let mut returned = 0;
    while !recv_done {
        for completion in wait(&mut ring) {
            if let Some(provided) = completion.provided {
                ring.bufs.recycle(provided);
                returned += 1;
            }
            if completion.tag == 1 && !completion.more {
                recv_done = true;
            }
        }
    }
    assert!(returned <= 1, "one write, at most one buffer");
    assert_eq!(ring.bufs.lent(), 0, "every lent buffer came back");
    ring.bufs.check_invariants();
    // A nop still completes and no other op is pending: the ring is quiet.
    ring.push_nop(3).expect("push");
    let _ = wait(&mut ring);
    assert_eq!(ring.in_flight(), 0);
    drop(peer);
}

#[test]
#[should_panic(expected = "already has")]
fn recycling_twice_is_caught() {
    let mut ring = small_ring(8, 4);
    // Forge a second token for a buffer the kernel already has: only this module can.
    ring.bufs.recycle(ProvidedBuf::forged_for_test(0));
}

#[test]
fn recv_without_buffers_ends_with_enobufs_and_rearms() {
    let mut ring = small_ring(16, 1);
    let (fd, mut peer) = pair();
    ring.push_recv_multi(&fd, 1).expect("push");
    peer.write_all(b"one").expect("write");
    let first = wait(&mut ring).remove(0);
    let held = first.provided.expect("buffer");
    // The only buffer is lent: the next message finds none.
    peer.write_all(b"two").expect("write");
    let mut ended = None;
    while ended.is_none() {
        for completion in wait(&mut ring) {
            if !completion.more {
                ended = Some(completion.result);
            }
        }
    }
    assert_eq!(ended, Some(-errno::ENOBUFS));
    ring.bufs.recycle(held);
    ring.push_recv_multi(&fd, 1).expect("re-arm");
    let again = wait(&mut ring).remove(0);
    let provided = again.provided.expect("buffer");
    assert_eq!(ring.bufs.bytes(&provided), b"two");
    ring.bufs.recycle(provided);
    drop(peer);
}

#[test]
fn absolute_timeout_fires_and_update_moves_it() {
    let mut ring = small_ring(8, 4);
    let far = crate::sys::monotonic_ns() + 60_000_000_000;
    let timer = ring.push_timeout(Expiry::AtMonotonicNs(far), 1).expect("push");
    let soon = crate::sys::monotonic_ns() + 1_000_000;
    ring.push_timeout_update(timer, Expiry::AtMonotonicNs(soon), 2).expect("update");
    let mut results = std::collections::HashMap::new();
    while results.len() < 2 {
        for completion in wait(&mut ring) {
            results.insert(completion.tag, completion.result);
        }
    }
    assert_eq!(results[&1], -errno::ETIME, "the timer fired at its new expiry");
    assert_eq!(results[&2], 0, "the update found its target");
}

#[test]
fn ring_sizes_are_validated() {
    let bad = RingConfig { sq_entries: 8, cq_entries: 4, recv_buffers: 4, recv_buffer_bytes: 64 };
    assert!(matches!(Ring::new(bad), Err(RingError::Sizes { .. })));
    let bad = RingConfig { sq_entries: 4, cq_entries: 8, recv_buffers: 3, recv_buffer_bytes: 64 };
    assert!(matches!(Ring::new(bad), Err(RingError::BufRing(BufRingError::Count { count: 3 }))));
}

#[test]
fn a_refused_ring_says_what_to_change() {
    // 65536 SQ entries is twice the kernel's limit (IORING_MAX_ENTRIES): a real EINVAL from
    // io_uring_setup, the same code an older kernel gives for DEFER_TASKRUN.
    let big = RingConfig {
        sq_entries: 1 << 16,
        cq_entries: 1 << 16,
        recv_buffers: 4,
        recv_buffer_bytes: 64,
    };
    let err = Ring::new(big).expect_err("the kernel refuses 65536 SQ entries");
    let text = err.to_string();
    assert!(matches!(err, RingError::Setup { .. }), "{text}");
    assert!(text.contains("Invalid argument") && text.contains("Linux 6.1"), "{text}");
    assert!(text.contains(rustix::system::uname().release().to_str().unwrap()), "{text}");
    use rustix::io::Errno;
    for (code, says) in [(Errno::PERM, "io_uring_disabled"), (Errno::NOSYS, "without io_uring")] {
        assert!(setup_hint(&io::Error::from(code)).contains(says));
    }
    assert_eq!(setup_hint(&io::Error::from(Errno::NOMEM)), "", "nothing to add");
}

#[test]
fn a_submit_without_waiting_still_delivers_ready_completions() {
    // With DEFER_TASKRUN the kernel posts a completion that became ready while the op was
    // parked (here: a read waiting for data) only when an enter runs the ring's task work.
    // `submit` is what the shard calls when it must not block (tasks are ready): it has to
    // deliver such completions too, or a shard kept busy by tasks never sees its sockets.
    let mut ring = small_ring(8, 4);
    let (fd, mut peer) = pair();
    ring.push_read(&fd, Vec::with_capacity(16), 4).map_err(|(e, _)| e).expect("push");
    ring.submit().expect("submit");
    let mut done = Vec::new();
    ring.drain(&mut done);
    assert!(done.is_empty(), "nothing to read yet: the read is parked");
    peer.write_all(b"ping").expect("write");
    ring.submit().expect("submit");
    ring.drain(&mut done);
    assert_eq!(done.len(), 1, "the ready read completes on the first non-waiting submit");
    assert_eq!(done[0].tag, 4);
    assert_eq!(done[0].buf, b"ping");
}

#[test]
fn a_wait_does_not_count_a_send_expected_inline() {
    // The send completes while it is submitted; a wait for one completion that counted it
    // would return at once and the caller would need a second enter to sleep. Declared with
    // `expect_inline`, the same single call also waits for the timeout behind it.
    let mut ring = small_ring(8, 4);
    let (fd, mut peer) = pair();
    ring.push_send(&fd, b"hi".to_vec(), 0, 1).map_err(|(e, _)| e).expect("push send");
    ring.expect_inline();
    ring.push_timeout(Expiry::After(Duration::from_millis(2)), 2).expect("push timeout");
    let enters_before = ring.stats().enters;
    ring.submit_and_wait(1).expect("enter");
    assert_eq!(ring.stats().enters, enters_before + 1);
    assert_eq!(ring.stats().inline_waits_bounded, 0, "the timeout ended it, not the bound");
    let mut done = Vec::new();
    ring.drain(&mut done);
    let tags: Vec<u64> = done.iter().map(|c| c.tag).collect();
    assert_eq!(tags, [1, 2], "one enter brings the inline send and the next completion");
    assert_eq!(done[0].result, 2);
    assert_eq!(done[1].result, -errno::ETIME);
    let mut got = [0u8; 2];
    peer.read_exact(&mut got).expect("read");
    assert_eq!(&got, b"hi");
}

#[test]
fn a_send_expected_inline_that_blocks_cannot_hold_the_wait() {
    // A full socket buffer: the send parks instead of completing inline. The wait that does
    // not count it must still return (bounded by INLINE_WAIT_BOUND), not sleep until some
    // unrelated completion arrives.
    let (returned, told) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || {
        let mut ring = small_ring(8, 4);
        let (ours, mut peer) = UnixStream::pair().expect("socketpair");
        ours.set_nonblocking(true).expect("nonblocking");
        let mut filled = 0usize;
        let chunk = [7u8; 4096];
        while let Ok(n) = (&ours).write(&chunk) {
            filled += n;
        }
        let fd = Rc::new(OwnedFd::from(ours));
        ring.push_send(&fd, b"late".to_vec(), 0, 9).map_err(|(e, _)| e).expect("push");
        ring.expect_inline();
        ring.submit_and_wait(1).expect("enter");
        let mut done = Vec::new();
        ring.drain(&mut done);
        returned.send(()).expect("main thread listens");
        assert!(done.is_empty(), "the send cannot have completed: nothing read yet");
        assert_eq!(ring.stats().inline_waits_bounded, 1, "the wait ended at its bound");
        // Make room (the parked send is retried by the ring's next enter), then collect it:
        // its bytes arrive and its buffer comes back.
        let mut sink = vec![0u8; filled];
        peer.read_exact(&mut sink).expect("drain the peer");
        let done = wait(&mut ring);
        assert_eq!(done[0].tag, 9);
        assert_eq!(done[0].result, 4);
        assert_eq!(done[0].buf, b"late");
        let mut late = [0u8; 4];
        peer.read_exact(&mut late).expect("read the late send");
        assert_eq!(&late, b"late");
    });
    let outcome = told.recv_timeout(Duration::from_secs(60));
    assert!(outcome.is_ok(), "the wait is still asleep after 60 s: the bound does not hold");
    worker.join().expect("worker assertions");
}

#[test]
fn a_batched_wait_returns_once_for_several_completions() {
    // Three reads parked on three sockets; another thread writes to all three. (Not ring
    // timeouts: a firing timeout ends any wait early, by design of io_uring.)
    let mut ring = small_ring(8, 4);
    let mut peers = Vec::new();
    for tag in 1..=3 {
        let (fd, peer) = pair();
        ring.push_read(&fd, Vec::with_capacity(8), tag).map_err(|(e, _)| e).expect("push");
        peers.push((fd, peer));
    }
    ring.submit().expect("submit");
    let writers: Vec<UnixStream> =
        peers.iter().map(|(_, peer)| peer.try_clone().expect("clone")).collect();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1));
        for mut peer in writers {
            peer.write_all(b"x").expect("write");
        }
    });
    ring.batch_next_wait(3, crate::limits::WAIT_BATCH_BOUND_DEFAULT);
    let enters_before = ring.stats().enters;
    ring.submit_and_wait(1).expect("enter");
    assert_eq!(ring.stats().enters, enters_before + 1);
    assert_eq!((ring.stats().batched_waits, ring.stats().batches_short), (1, 0));
    let mut done = Vec::new();
    ring.drain(&mut done);
    writer.join().expect("writer");
    let mut tags: Vec<u64> = done.iter().map(|c| c.tag).collect();
    tags.sort_unstable();
    assert_eq!(tags, [1, 2, 3], "one wake-up for the three reads, not one for the first");
    assert!(!ring.take_batch_short());
}

#[test]
fn a_batched_wait_is_bounded_and_reports_coming_back_short() {
    let mut ring = small_ring(8, 4);
    ring.push_nop(1).expect("push");
    // The shortest bound an operator may choose (`-wait-batch-bound`).
    ring.batch_next_wait(4, crate::limits::WAIT_BATCH_BOUND_MIN);
    ring.submit_and_wait(1).expect("enter");
    let mut done = Vec::new();
    ring.drain(&mut done);
    assert_eq!(done.len(), 1, "the bound ends the wait with the one completion there is");
    assert_eq!((ring.stats().batched_waits, ring.stats().batches_short), (1, 1), "counted");
    assert!(ring.take_batch_short(), "the caller learns the batch did not fill");
    assert!(!ring.take_batch_short(), "the flag clears once read");
    // The batch applies to one wait only: the next one returns with a single completion.
    ring.push_nop(2).expect("push");
    ring.submit_and_wait(1).expect("enter");
    done.clear();
    ring.drain(&mut done);
    assert_eq!(done.len(), 1);
    assert!(!ring.take_batch_short());
    assert_eq!(ring.stats().batched_waits, 1, "a plain wait is not a batched one");
}

#[test]
fn a_batch_of_one_is_a_plain_wait() {
    // `-wait-batch 1` (batching off): the wait returns at the first completion, unbatched.
    let mut ring = small_ring(8, 4);
    ring.push_nop(1).expect("push");
    ring.batch_next_wait(crate::limits::WAIT_BATCH_COMPLETIONS_MIN, Duration::from_millis(10));
    ring.submit_and_wait(1).expect("enter");
    let mut done = Vec::new();
    ring.drain(&mut done);
    assert_eq!(done.len(), 1);
    assert!(!ring.take_batch_short());
    assert_eq!((ring.stats().batched_waits, ring.stats().batches_short), (0, 0));
}
