//! Go/Karpenter duration parsing: never panics, and formatting a parsed duration parses back to
//! the same whole seconds.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = karpenter_api::fuzzing::duration(data) {
        panic!("{violation}");
    }
});
