//! isolation tests.

use libtest_mimic::Trial;

pub fn tests() -> Vec<Trial> {
    vec![]
}
