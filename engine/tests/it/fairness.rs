//! A shard keeps serving its sockets while its executor is busy: tasks that are always ready
//! (a long computation that yields between slices) must not hide completions that are ready.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use shardbox_engine::router::{Access, Exchange, Reply, Response};

use crate::harness::{TestServer, eventually, test_config};

/// Yields once: wakes itself and returns `Pending`, so the task is ready again at once.
struct YieldNow(bool);

impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Yields this many times at most before giving up on seeing another request answered. Each
/// yield is one turn of the shard's loop; a shard that handles ready completions on every turn
/// answers the other request within a few turns.
const YIELDS_MAX: u64 = 200_000;

#[test]
fn a_task_that_keeps_yielding_does_not_starve_other_connections() {
    let mut config = test_config();
    config.routes = std::sync::Arc::new(|shard| {
        shardbox_engine::endpoints::builtin_routes(shard).get(
            "/spin",
            Access::Public,
            Rc::new(|ex: &mut Exchange<'_, '_>| {
                let metrics = ex.shard.metrics.clone();
                let ok_before = metrics.sum(|m| m.responses_with(200));
                Reply::Later(Box::pin(async move {
                    for turn in 0..YIELDS_MAX {
                        if metrics.sum(|m| m.responses_with(200)) > ok_before {
                            return Response::new(200, "text/plain", format!("saw it at {turn}"));
                        }
                        YieldNow(false).await;
                    }
                    Response::new(200, "text/plain", "gave up")
                }))
            }),
        )
    });
    let server = TestServer::start(config);
    let mut spinner = server.connect();
    spinner.send(b"GET /spin HTTP/1.1\r\nHost: t\r\n\r\n");
    eventually("the spinning task started", || server.metrics.sum(|m| m.tasks_spawned.get()) == 1);
    // The shard never blocks while the task spins: this connection's accept and request
    // completions must still be posted and handled.
    let mut other = server.connect();
    assert_eq!(other.get("/hello").status, 200);
    let reply = spinner.read_reply().expect("the spinner's reply");
    assert!(
        reply.text().starts_with("saw it at "),
        "the task never saw /hello answered: {}",
        reply.text()
    );
    server.stop().expect("clean stop");
}
