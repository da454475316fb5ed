//! Every limit of a run and a comparison, at max - 1, max and max + 1 (and at zero).

use std::time::Duration;

use shardbox_bench::compare::{self, CompareConfig, CompareError, TargetSpec};
use shardbox_bench::limits::{
    COMPARE_MS_MAX, CONNECTIONS_MAX, DEADLINE_MS_MAX, DURATION_MS_MAX, DURATION_MS_MIN,
    PIPELINE_DEPTH_MAX, REQUEST_BODY_BYTES_MAX, REQUESTS_MAX, ROUNDS_MAX, TARGETS_MAX, THREADS_MAX,
    WARMUP_MS_MAX,
};
use shardbox_bench::request::{RequestError, RequestSpec, Target};
use shardbox_bench::run::{ConfigError, RunConfig, Stop};

fn base() -> RunConfig {
    RunConfig::new(Target::parse("http://127.0.0.1:9/").unwrap())
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn connections() {
    let mut c = base();
    for ok in [1, CONNECTIONS_MAX - 1, CONNECTIONS_MAX] {
        c.connections = ok;
        assert_eq!(c.validate(), Ok(()), "{ok}");
    }
    for bad in [0, CONNECTIONS_MAX + 1] {
        c.connections = bad;
        assert!(matches!(c.validate(), Err(ConfigError::Connections { .. })), "{bad}");
    }
}

#[test]
fn depth() {
    let mut c = base();
    for ok in [1, PIPELINE_DEPTH_MAX - 1, PIPELINE_DEPTH_MAX] {
        c.depth = ok;
        assert_eq!(c.validate(), Ok(()));
    }
    for bad in [0, PIPELINE_DEPTH_MAX + 1] {
        c.depth = bad;
        assert!(matches!(c.validate(), Err(ConfigError::Depth { .. })));
    }
}

#[test]
fn threads_bounded_by_limit_and_connections() {
    let mut c = base();
    c.connections = CONNECTIONS_MAX;
    for ok in [1, THREADS_MAX - 1, THREADS_MAX] {
        c.threads = ok;
        assert_eq!(c.validate(), Ok(()));
    }
    for bad in [0, THREADS_MAX + 1] {
        c.threads = bad;
        assert!(matches!(c.validate(), Err(ConfigError::Threads { .. })));
    }
    c.connections = 2;
    c.threads = 3;
    assert!(matches!(c.validate(), Err(ConfigError::Threads { max: 2, .. })));
}

#[test]
fn duration_and_warmup() {
    let mut c = base();
    for ok in [DURATION_MS_MIN, DURATION_MS_MAX - 1, DURATION_MS_MAX] {
        c.stop = Stop::Duration(ms(ok));
        assert_eq!(c.validate(), Ok(()));
    }
    for bad in [DURATION_MS_MIN - 1, DURATION_MS_MAX + 1] {
        c.stop = Stop::Duration(ms(bad));
        assert!(matches!(c.validate(), Err(ConfigError::Duration { .. })));
    }
    c.stop = Stop::Duration(ms(1000));
    for ok in [0, WARMUP_MS_MAX - 1, WARMUP_MS_MAX] {
        c.warmup = ms(ok);
        assert_eq!(c.validate(), Ok(()));
    }
    c.warmup = ms(WARMUP_MS_MAX + 1);
    assert!(matches!(c.validate(), Err(ConfigError::Warmup { .. })));
}

#[test]
fn request_count_and_deadline() {
    let mut c = base();
    for ok in [1, REQUESTS_MAX - 1, REQUESTS_MAX] {
        c.stop = Stop::Requests { count: ok, deadline: ms(1000) };
        assert_eq!(c.validate(), Ok(()));
    }
    for bad in [0, REQUESTS_MAX + 1] {
        c.stop = Stop::Requests { count: bad, deadline: ms(1000) };
        assert!(matches!(c.validate(), Err(ConfigError::Requests { .. })));
    }
    for ok in [1, DEADLINE_MS_MAX - 1, DEADLINE_MS_MAX] {
        c.stop = Stop::Requests { count: 5, deadline: ms(ok) };
        assert_eq!(c.validate(), Ok(()));
    }
    for bad in [0, DEADLINE_MS_MAX + 1] {
        c.stop = Stop::Requests { count: 5, deadline: ms(bad) };
        assert!(matches!(c.validate(), Err(ConfigError::Deadline { .. })));
    }
}

#[test]
fn body_file_size() {
    let dir = std::env::temp_dir();
    let pid = std::process::id();
    for (len, ok) in [
        (REQUEST_BODY_BYTES_MAX - 1, true),
        (REQUEST_BODY_BYTES_MAX, true),
        (REQUEST_BODY_BYTES_MAX + 1, false),
    ] {
        let path = dir.join(format!("bench-bound-{pid}-{len}"));
        std::fs::write(&path, vec![b'x'; len as usize]).unwrap();
        let read = RequestSpec::read_body(path.to_str().unwrap());
        std::fs::remove_file(&path).unwrap();
        match read {
            Ok(body) => assert!(ok && body.len() as u64 == len, "{len}"),
            Err(e) => assert!(!ok && matches!(e, RequestError::BodyTooLarge { .. }), "{len}: {e}"),
        }
    }
}

fn compare_config(targets: usize, rounds: u32) -> CompareConfig {
    CompareConfig {
        targets: (0..targets)
            .map(|i| TargetSpec::parse(&format!("t{i}=http://127.0.0.1:9/")).unwrap())
            .collect(),
        baseline: 0,
        rounds,
        run: base(),
        scenario: "bounds".into(),
        csv: None,
    }
}

#[test]
fn compare_targets_rounds_and_total_time() {
    for ok in [1, TARGETS_MAX - 1, TARGETS_MAX] {
        assert!(compare::validate(&compare_config(ok, 1)).is_ok(), "{ok} targets");
    }
    for bad in [0, TARGETS_MAX + 1] {
        assert!(matches!(
            compare::validate(&compare_config(bad, 1)),
            Err(CompareError::Targets { .. })
        ));
    }
    for ok in [1, ROUNDS_MAX - 1, ROUNDS_MAX] {
        assert!(compare::validate(&compare_config(2, ok)).is_ok(), "{ok} rounds");
    }
    for bad in [0, ROUNDS_MAX + 1] {
        assert!(matches!(
            compare::validate(&compare_config(2, bad)),
            Err(CompareError::Rounds { .. })
        ));
    }
    // One run planned at exactly COMPARE_MS_MAX / (targets × rounds) is allowed; 1 ms more is not.
    let mut c = compare_config(2, 10);
    let per_run = COMPARE_MS_MAX / 20;
    c.run.warmup = Duration::ZERO;
    c.run.stop = Stop::Duration(ms(per_run));
    assert!(compare::validate(&c).is_ok());
    c.run.stop = Stop::Duration(ms(per_run + 1));
    assert!(matches!(compare::validate(&c), Err(CompareError::TooLong { .. })));
    let mut dup = compare_config(2, 1);
    dup.targets[1].name = "t0".into();
    assert!(matches!(compare::validate(&dup), Err(CompareError::DuplicateName(_))));
}
