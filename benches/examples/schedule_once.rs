//! Runs one schedule and prints its timing and shape; used to measure peak memory with
//! `/usr/bin/time -v target/release/examples/schedule_once diverse 20000`.
//!
//! Arguments: `diverse N [--input-only] [--no-optimize] [--no-bound]` (Karpenter's benchmark workload) or `plain N` / `diverse-builtin N` (plain or benchmark pods on the
//! built-in us-east-1 catalog).

use karpenter_benches::{builtin_pool, diverse_input, diverse_on, plain_input};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let kind = args.get(1).map(String::as_str).unwrap_or("diverse");
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let mut input = match kind {
        "plain" => plain_input(builtin_pool(), n),
        "diverse-builtin" => diverse_on(builtin_pool(), n),
        _ => diverse_input(n),
    };
    let flags: Vec<&str> = args.iter().skip(3).map(String::as_str).collect();
    input.options.optimize_packing = !flags.contains(&"--no-optimize");
    input.options.compute_lower_bound = !flags.contains(&"--no-bound");
    if flags.contains(&"--input-only") {
        // Baseline for peak-memory measurements: the input without scheduling.
        println!("{kind} {n}: input only, {} pods", input.pending_pods.len());
        return;
    }
    let t = Instant::now();
    match karpenter_scheduling::schedule(&input) {
        Ok(plan) => {
            let (mut req_cpu, mut req_mem, mut cap_cpu, mut cap_mem) = (0i64, 0i64, 0i64, 0i64);
            for c in &plan.new_node_claims {
                req_cpu += c.requests.get("cpu");
                req_mem += c.requests.get("memory");
                if let Some(l) = &c.launch {
                    let a = input.node_pools[c.node_pool_index].instance_types
                        [l.instance_type_index]
                        .allocatable();
                    cap_cpu += a.get("cpu");
                    cap_mem += a.get("memory");
                }
            }
            println!(
                "  new nodes hold {:.1}% of their cpu and {:.1}% of their memory",
                100.0 * req_cpu as f64 / cap_cpu.max(1) as f64,
                100.0 * req_mem as f64 / cap_mem.max(1) as f64
            );
            println!(
                "{kind} {n}: {:?}, {} new nodes, {} unschedulable, ${:.3}/h, lower bound ${:.3}/h",
                t.elapsed(),
                plan.new_node_claims.len(),
                plan.unschedulable.len(),
                plan.cost_per_hour,
                plan.lower_bound_per_hour
            )
        }
        Err(e) => {
            eprintln!("invalid input: {e}");
            std::process::exit(2);
        }
    }
}
