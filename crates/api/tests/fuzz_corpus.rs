//! Replays every checked-in fuzz seed (fuzz/corpus/<target>/*) through the same functions the
//! fuzz targets call, so the ordinary test run proves no corpus input panics or breaks an
//! invariant.

use karpenter_api::fuzzing;
use std::path::{Path, PathBuf};

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "empty corpus {}", dir.display());
    files
        .into_iter()
        .map(|p| {
            let data = std::fs::read(&p).unwrap();
            (p, data)
        })
        .collect()
}

#[test]
fn manifest_corpus() {
    let mut objects = 0;
    let mut errors = 0;
    for (path, data) in corpus("manifest") {
        let summary = fuzzing::parse_and_validate(&data)
            .unwrap_or_else(|v| panic!("{}: {v}", path.display()));
        objects += summary.objects;
        errors += summary.errors;
    }
    // The seeds include valid examples and deliberately broken objects.
    assert!(objects >= 10, "{objects} objects");
    assert!(errors >= 10, "{errors} errors");
}

#[test]
fn quantity_corpus() {
    let mut parsed = 0;
    for (path, data) in corpus("quantity") {
        parsed += fuzzing::quantity(&data).unwrap_or_else(|v| panic!("{}: {v}", path.display()));
    }
    assert!(parsed >= 10, "{parsed} quantities parsed");
}

#[test]
fn duration_corpus() {
    let mut parsed = 0;
    for (path, data) in corpus("duration") {
        parsed += fuzzing::duration(&data).unwrap_or_else(|v| panic!("{}: {v}", path.display()));
    }
    assert!(parsed >= 8, "{parsed} durations parsed");
}

#[test]
fn arbitrary_bytes_do_not_panic() {
    // A cheap in-process stand-in for the fuzzer: deterministic pseudo-random mutations of the
    // manifest seeds.
    let seeds = corpus("manifest");
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..400 {
        let (_, seed) = &seeds[round % seeds.len()];
        let mut data = seed.clone();
        for _ in 0..(1 + next() % 8) {
            if data.is_empty() {
                break;
            }
            let i = (next() as usize) % data.len();
            match next() % 3 {
                0 => data[i] = next() as u8,
                1 => {
                    data.remove(i);
                }
                _ => data.insert(i, b"{}[]:-#&*!|>'\"%@`0 \n"[(next() % 20) as usize]),
            }
        }
        let _ = fuzzing::quantity(&data);
        let _ = fuzzing::duration(&data);
        if let Err(v) = fuzzing::parse_and_validate(&data) {
            panic!(
                "round {round}: {v}\ninput: {:?}",
                String::from_utf8_lossy(&data)
            );
        }
    }
}
