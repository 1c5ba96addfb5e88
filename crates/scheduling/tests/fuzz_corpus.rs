//! Replays every checked-in seed of the `scheduler` fuzz target (fuzz/corpus/scheduler/*)
//! through the function the target calls, so the ordinary test run proves no seed panics or
//! breaks an invariant.

use karpenter_scheduling::fuzzing::schedule_bytes;
use std::path::Path;

#[test]
fn scheduler_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/scheduler");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(files.len() >= 10, "corpus too small: {}", files.len());
    let (mut pods, mut scheduled) = (0, 0);
    for f in files {
        let data = std::fs::read(&f).expect("readable seed");
        let s = schedule_bytes(&data).unwrap_or_else(|v| panic!("{}: {v}", f.display()));
        pods += s.pods;
        scheduled += s.scheduled;
    }
    assert!(pods > 100, "{pods} pods");
    assert!(scheduled > 0, "nothing scheduled");
}
