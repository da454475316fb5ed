//! Test support: the tables of `docs/operations.md`, read by the tests that keep the flags
//! (`cli`) and the metrics families (`metrics`) documented there. Only built for tests.

/// The cells of every row of `docs/operations.md` whose first cell starts with `first_cell`
/// (e.g. `` `- `` for flags, `` `shardbox_ `` for metrics); cell 0 is the empty text before the
/// first `|`.
pub(crate) fn rows(first_cell: &str) -> Vec<Vec<String>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/operations.md");
    let doc = std::fs::read_to_string(path).expect("docs/operations.md");
    let prefix = format!("| {first_cell}");
    doc.lines()
        .filter(|line| line.starts_with(&prefix))
        .map(|line| line.split('|').map(|cell| cell.trim().to_owned()).collect())
        .collect()
}
