//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) through the same property
//! functions the fuzz targets call, so `cargo test` checks every seed and every crash found.

use std::path::PathBuf;

/// The files of one fuzz target's corpus, sorted, with their names.
pub fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(target);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    files.sort();
    assert!(files.len() >= 10, "corpus {} has only {} files", dir.display(), files.len());
    files
}

#[test]
fn http_parse_corpus_holds_the_properties() {
    for (name, data) in corpus("http_parse") {
        let r = std::panic::catch_unwind(|| shardbox_http::props::check_parse(&data));
        assert!(r.is_ok(), "property failed on http_parse/{name}");
    }
}

#[test]
fn chunked_corpus_holds_the_properties() {
    for (name, data) in corpus("chunked") {
        let r = std::panic::catch_unwind(|| shardbox_http::props::check_chunked(&data));
        assert!(r.is_ok(), "property failed on chunked/{name}");
    }
}

#[test]
fn multipart_corpus_holds_the_properties() {
    for (name, data) in corpus("multipart") {
        let r = std::panic::catch_unwind(|| shardbox_http::props::check_multipart(&data));
        assert!(r.is_ok(), "property failed on multipart/{name}");
    }
}
