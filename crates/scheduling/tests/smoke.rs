use karpenter_scheduling::fixtures::*;
use karpenter_scheduling::*;

fn pool(types: Vec<karpenter_catalog::InstanceType>) -> NodePoolInput {
    NodePoolInput {
        name: "default".into(),
        instance_types: types,
        ..Default::default()
    }
}

#[test]
fn benchmark_workload_schedules_everything() {
    let input = SchedulerInput {
        node_pools: vec![pool(fake_instance_types(400))],
        pending_pods: benchmark_pods(1000, 7),
        options: SchedulerOptions {
            compute_lower_bound: false,
            ..Default::default()
        },
        ..Default::default()
    };
    let t = std::time::Instant::now();
    let plan = schedule(&input).unwrap();
    eprintln!(
        "{:?} claims={} unsched={} cost={}",
        t.elapsed(),
        plan.new_node_claims.len(),
        plan.unschedulable.len(),
        plan.cost_per_hour
    );
    for u in plan.unschedulable.iter().take(3) {
        eprintln!("{u:?}");
    }
    assert!(plan.unschedulable.is_empty());
}
