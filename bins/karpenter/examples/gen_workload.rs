//! Writes the scheduling benchmark workload as manifests for `karpenter simulate`: a NodePool,
//! its EC2NodeClass and N pending pods (Karpenter's benchmark mix), one document each.
//!
//! ```sh
//! cargo run --release -p karpenter --example gen_workload -- 20000 > /tmp/bench.yaml
//! cargo run --release -p karpenter -- simulate -f /tmp/bench.yaml
//! ```

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let arg = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "20000".to_string());
    let Ok(count) = arg.parse::<usize>() else {
        eprintln!("usage: gen_workload [POD-COUNT]  (got {arg:?})");
        return ExitCode::from(2);
    };
    let yaml = match karpenter::simulate::workload::workload_yaml(count) {
        Ok(y) => y,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let mut out = std::io::stdout().lock();
    if out
        .write_all(yaml.as_bytes())
        .and_then(|_| out.flush())
        .is_err()
    {
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
