//! Kubernetes quantity parsing and formatting: never panics, and formatting a parsed quantity
//! parses back to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = karpenter_api::fuzzing::quantity(data) {
        panic!("{violation}");
    }
});
