//! Multi-document YAML → Karpenter objects → validation → YAML round trip. Must never panic, and
//! every decoded object must round-trip unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(violation) = karpenter_api::fuzzing::parse_and_validate(data) {
        panic!("{violation}");
    }
});
