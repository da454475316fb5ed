//! [`Workers`]: the judge's blocking work (parsing `/run` bodies, running containers, file store
//! copies) runs here, never on a shard.
//!
//! One pool per process: `threads` threads (the `-parallelism`, like go-judge's worker count)
//! take jobs from one FIFO queue bounded by `queue_max` jobs (go-judge: 512) and by
//! `queue_bytes_max` bytes: each job says how many bytes it holds (its copy of a request body),
//! counted from submit until the job has run. Without the byte bound, 512 queued bodies of
//! 64 MiB (the default `-body-bytes-max`) would hold 32 GiB, and the connections waiting on
//! them as much again. A full queue refuses the job at once ([`QueueFull`]) so the shard can
//! answer 503 instead of piling up work; a job is always accepted when nothing is held, so one
//! body larger than the bound still runs. Jobs report back through `crate::executor::channel`.
//! Dropping the pool lets queued jobs finish, then joins the threads.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use crate::limits::WORKER_STACK_BYTES;

/// A unit of blocking work.
pub type Job = Box<dyn FnOnce() + Send + 'static>;

/// The queue was full (or the pool is shutting down); the job is handed back.
#[derive(Debug, thiserror::Error)]
#[error("worker queue is full")]
pub struct QueueFull;

#[derive(Default)]
struct Queue {
    /// Each job with the bytes it holds.
    jobs: VecDeque<(Job, u64)>,
    /// Bytes held by queued and running jobs.
    held_bytes: u64,
    closed: bool,
    /// Jobs taken by a thread and not finished yet.
    running: usize,
}

struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
    queue_max: usize,
    queue_bytes_max: u64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The worker threads and their queue.
pub struct Workers {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Workers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workers").field("threads", &self.threads.len()).finish_non_exhaustive()
    }
}

impl Workers {
    /// Starts `threads` workers (at least one) with a queue of `queue_max` jobs holding at most
    /// `queue_bytes_max` bytes.
    pub fn new(threads: usize, queue_max: usize, queue_bytes_max: u64) -> std::io::Result<Workers> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            ready: Condvar::new(),
            queue_max,
            queue_bytes_max,
        });
        let mut pool = Workers { shared, threads: Vec::new() };
        for i in 0..threads.max(1) {
            let shared = Arc::clone(&pool.shared);
            let t = std::thread::Builder::new()
                .name(format!("judge-worker-{i}"))
                .stack_size(WORKER_STACK_BYTES)
                .spawn(move || work(&shared))?;
            pool.threads.push(t);
        }
        Ok(pool)
    }

    /// Queues `job`, which holds `bytes` until it has run, or refuses it when `queue_max` jobs
    /// are already waiting or its bytes would take those held past `queue_bytes_max` (a job
    /// holding none, or the first when none are held, passes the byte bound).
    pub fn submit(&self, bytes: u64, job: Job) -> Result<(), QueueFull> {
        let mut q = self.shared.lock();
        let over_bytes = bytes > 0
            && q.held_bytes > 0
            && q.held_bytes.saturating_add(bytes) > self.shared.queue_bytes_max;
        if q.closed || q.jobs.len() >= self.shared.queue_max || over_bytes {
            return Err(QueueFull);
        }
        q.held_bytes = q.held_bytes.saturating_add(bytes);
        q.jobs.push_back((job, bytes));
        drop(q);
        self.shared.ready.notify_one();
        Ok(())
    }

    /// Jobs waiting and jobs running.
    pub fn load(&self) -> (usize, usize) {
        let q = self.shared.lock();
        (q.jobs.len(), q.running)
    }

    /// Bytes held by queued and running jobs.
    pub fn held_bytes(&self) -> u64 {
        self.shared.lock().held_bytes
    }
}

fn work(shared: &Shared) {
    loop {
        let (job, bytes) = {
            let mut q = shared.lock();
            loop {
                if let Some(next) = q.jobs.pop_front() {
                    q.running = q.running.saturating_add(1);
                    break next;
                }
                if q.closed {
                    return;
                }
                q = shared.ready.wait(q).unwrap_or_else(PoisonError::into_inner);
            }
        };
        // A panicking job is a bug; keep the worker alive for the others.
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).is_err() {
            tracing::error!("a judge job panicked");
        }
        let mut q = shared.lock();
        q.running = q.running.saturating_sub(1);
        q.held_bytes = q.held_bytes.saturating_sub(bytes);
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.ready.notify_all();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;

    use super::*;

    #[test]
    fn runs_jobs_and_refuses_past_the_queue_bound() {
        let pool = Workers::new(1, 2, u64::MAX).expect("workers");
        let (started_tx, started_rx) = mpsc::channel();
        let (gate_tx, gate_rx) = mpsc::channel::<()>();
        pool.submit(
            0,
            Box::new(move || {
                started_tx.send(()).expect("send");
                let _ = gate_rx.recv();
            }),
        )
        .expect("first job");
        started_rx.recv().expect("the only thread is busy");
        let done = Arc::new(AtomicUsize::new(0));
        for _ in 0..2 {
            let d = Arc::clone(&done);
            pool.submit(
                0,
                Box::new(move || {
                    d.fetch_add(1, Ordering::SeqCst);
                }),
            )
            .expect("queue max - 1 and max");
        }
        assert!(pool.submit(0, Box::new(|| {})).is_err(), "queue max + 1 is refused");
        assert_eq!(pool.load(), (2, 1));
        gate_tx.send(()).expect("release");
        drop(pool);
        assert_eq!(done.load(Ordering::SeqCst), 2, "queued jobs finish before the pool is gone");
    }

    #[test]
    fn held_bytes_are_bounded_from_submit_until_the_job_has_run() {
        let pool = Workers::new(1, 100, 10).expect("workers");
        let (gate_tx, gate_rx) = mpsc::channel::<()>();
        let (done_tx, done_rx) = mpsc::channel::<()>();
        // More than the bound is accepted when nothing is held (one large body still runs).
        pool.submit(
            25,
            Box::new(move || {
                let _ = gate_rx.recv();
                done_tx.send(()).expect("send");
            }),
        )
        .expect("first job, alone");
        assert!(pool.submit(0, Box::new(|| {})).is_ok(), "no bytes: only the count bounds it");
        assert!(pool.submit(1, Box::new(|| {})).is_err(), "25 held: max + 1 is refused");
        assert_eq!(pool.held_bytes(), 25);
        gate_tx.send(()).expect("release");
        done_rx.recv().expect("ran");
        let start = std::time::Instant::now();
        while pool.held_bytes() != 0 {
            assert!(start.elapsed() < std::time::Duration::from_secs(10), "bytes never released");
            std::thread::yield_now();
        }
        let (g2_tx, g2_rx) = mpsc::channel::<()>();
        pool.submit(
            4,
            Box::new(move || {
                let _ = g2_rx.recv();
            }),
        )
        .expect("4 of 10");
        pool.submit(6, Box::new(|| {})).expect("10 of 10: the max itself");
        assert!(pool.submit(1, Box::new(|| {})).is_err(), "11 of 10");
        g2_tx.send(()).expect("release");
    }

    #[test]
    fn a_panicking_job_does_not_kill_its_worker() {
        let pool = Workers::new(1, 4, u64::MAX).expect("workers");
        pool.submit(0, Box::new(|| panic!("boom"))).expect("submit");
        let (tx, rx) = mpsc::channel();
        pool.submit(0, Box::new(move || tx.send(7).expect("send"))).expect("submit");
        assert_eq!(rx.recv().expect("the worker survived"), 7);
    }
}
