//! `karpenter simulate` on the scheduling benchmark workload written as YAML.
//!
//! The small run checks that every generated pod is accounted for. The 20,000-pod run is the
//! performance contract — parse to output within 2× the scheduler's own time — and is meant for
//! release builds:
//!
//! ```sh
//! cargo test --release -p karpenter --test simulate_perf -- --ignored --nocapture
//! ```

use karpenter::manifest;
use karpenter::simulate::{self, workload, Options};
use std::time::Instant;

struct Measured {
    bytes: usize,
    docs: usize,
    parse_s: f64,
    render_s: f64,
    total_s: f64,
    schedule_s: f64,
    sim: simulate::Simulation,
}

fn run(pods: usize) -> Measured {
    let dir = std::env::temp_dir().join(format!(
        "karpenter-simulate-perf-{}-{pods}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("workload.yaml");
    let yaml = workload::workload_yaml(pods).unwrap();
    std::fs::write(&file, &yaml).unwrap();

    let started = Instant::now();
    let docs = simulate::parse::load_paths(&[&file]).unwrap();
    let parse_s = started.elapsed().as_secs_f64();
    let sim = simulate::simulate_documents(
        &docs,
        &Options {
            catalog: None,
            region: "us-east-1".into(),
        },
    )
    .unwrap();
    let render_started = Instant::now();
    let rendered = simulate::output::render(&sim.output, simulate::output::Format::Json).unwrap();
    let render_s = render_started.elapsed().as_secs_f64();
    let total_s = started.elapsed().as_secs_f64();
    assert!(rendered.len() > 2);
    std::fs::remove_dir_all(&dir).ok();
    Measured {
        bytes: yaml.len(),
        docs: docs.len(),
        parse_s,
        render_s,
        total_s,
        schedule_s: sim.timings.schedule.as_secs_f64(),
        sim,
    }
}

fn report(m: &Measured) {
    eprintln!(
        "simulate: {} docs, {:.1} MB: parse {:.3}s ({:.1} MB/s, {:.0} docs/s), decode {:.3}s, prepare {:.3}s, schedule {:.3}s, launch {:.3}s, render {:.3}s, total {:.3}s ({:.2}x the scheduler; simulate's own {:.3}s, so 2x holds while the scheduler takes at least that)",
        m.docs,
        m.bytes as f64 / 1e6,
        m.parse_s,
        m.bytes as f64 / 1e6 / m.parse_s,
        m.docs as f64 / m.parse_s,
        m.sim.timings.decode.as_secs_f64(),
        m.sim.timings.prepare.as_secs_f64(),
        m.schedule_s,
        m.sim.timings.launch.as_secs_f64(),
        m.render_s,
        m.total_s,
        m.total_s / m.schedule_s,
        m.total_s - m.schedule_s
    );
}

#[test]
fn benchmark_workload_is_fully_accounted_for() {
    let m = run(60);
    report(&m);
    let s = &m.sim.output.summary;
    assert_eq!(m.docs, 62, "pool, node class and 60 pods");
    assert_eq!(s.pods, 60);
    let placed: usize = m
        .sim
        .output
        .node_claims
        .iter()
        .map(|c| c.pods.len())
        .sum::<usize>()
        + m.sim
            .output
            .existing_nodes
            .iter()
            .map(|n| n.pods.len())
            .sum::<usize>();
    assert_eq!(placed, s.scheduled);
    assert_eq!(s.scheduled + m.sim.output.unschedulable.len(), s.pods);
    assert!(s.scheduled > 0);
}

#[test]
#[ignore = "performance: run in release with --ignored"]
fn twenty_thousand_pods_within_twice_the_scheduler() {
    let m = run(20_000);
    report(&m);
    assert_eq!(m.sim.output.summary.pods, 20_000);
    assert!(
        m.total_s <= 2.0 * m.schedule_s,
        "simulate took {:.3}s, more than twice the scheduler's {:.3}s",
        m.total_s,
        m.schedule_s
    );
}

/// Single-thread YAML throughput on the benchmark workload: to generic documents, from those to
/// typed Pods, and straight from text to typed Pods.
#[test]
#[ignore = "performance: run in release with --ignored"]
fn yaml_parse_throughput() {
    use k8s_openapi::api::core::v1::Pod;
    let text = workload::workload_yaml(20_000).unwrap();
    let mb = text.len() as f64 / 1e6;
    let started = Instant::now();
    let mut docs = Vec::new();
    manifest::parse_documents("bench.yaml", &text, &mut docs).unwrap();
    let to_values = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let pods: Vec<Pod> = docs[2..]
        .iter()
        .map(|d| serde::Deserialize::deserialize(&d.value).unwrap())
        .collect();
    let values_to_pods = started.elapsed().as_secs_f64();
    let pieces: Vec<&str> = text.split("\n---\n").skip(2).collect();
    let started = Instant::now();
    let direct: Vec<Pod> = pieces
        .iter()
        .map(|p| serde_yaml::from_str(p).unwrap())
        .collect();
    let text_to_pods = started.elapsed().as_secs_f64();
    assert_eq!(pods, direct);
    eprintln!(
        "yaml, one thread, {mb:.1} MB, {} docs: text->values {to_values:.3}s ({:.1} MB/s, {:.0} docs/s); values->pods {values_to_pods:.3}s; text->pods {text_to_pods:.3}s ({:.1} MB/s)",
        docs.len(),
        mb / to_values,
        docs.len() as f64 / to_values,
        mb / text_to_pods
    );
}
