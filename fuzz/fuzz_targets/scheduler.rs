//! Arbitrary bytes → a generated cluster → the scheduler, twice. Must never panic, must place
//! every pod exactly once within allocatable, and must give the same plan both times.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = karpenter_scheduling::fuzzing::schedule_bytes(data) {
        panic!("{violation}");
    }
});
