//! `karpenter simulate`: golden output for `examples/`, determinism, and insufficient capacity
//! through a `--catalog` file.
//!
//! Regenerate the goldens with `UPDATE_GOLDEN=1 cargo test -p karpenter --test simulate_output`.

mod simulate_support;

use simulate_support::{data, examples_dir, scratch, simulate};

fn golden(name: &str, actual: &str) {
    let path = format!("{}/tests/golden/{name}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(format!("{}/tests/golden", env!("CARGO_MANIFEST_DIR"))).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e} (run with UPDATE_GOLDEN=1 to create it)"));
    assert!(
        expected == actual,
        "{name} differs from the golden file; if the change is intended, regenerate with UPDATE_GOLDEN=1\n--- expected\n{expected}\n--- actual\n{actual}"
    );
}

fn has_examples() -> bool {
    std::fs::read_dir(examples_dir())
        .map(|d| {
            d.filter_map(Result::ok).any(|e| {
                e.path()
                    .extension()
                    .is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
            })
        })
        .unwrap_or(false)
}

#[test]
fn examples_match_the_golden_json() {
    assert!(has_examples(), "examples/ holds no manifests");
    let run = simulate(&["-f", &examples_dir(), "-o", "json"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = run.json();
    assert!(
        v["summary"]["newNodes"].as_u64().unwrap() > 0,
        "the examples launch nodes"
    );
    golden("examples.json", &run.stdout);
}

#[test]
fn examples_table_matches_the_golden_table() {
    assert!(has_examples(), "examples/ holds no manifests");
    let run = simulate(&["-f", &examples_dir()], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    golden("examples.table", &run.stdout);
}

#[test]
fn two_runs_print_identical_bytes() {
    for format in ["json", "yaml", "table"] {
        let a = simulate(&["-f", &examples_dir(), "-o", format], None);
        let b = simulate(&["-f", &examples_dir(), "-o", format], None);
        assert_eq!(a.code, 0, "{}", a.stderr);
        assert_eq!(a.stdout, b.stdout, "{format} output differs between runs");
    }
    let pods: String = (0..40)
        .map(|i| {
            format!(
                "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}}}\nspec: {{containers: [{{name: c, image: c, resources: {{requests: {{cpu: {}m, memory: {}Mi}}}}}}]}}\n",
                100 + (i * 37) % 900,
                128 + (i * 53) % 2000
            )
        })
        .collect();
    let path = scratch("many.yaml", &pods);
    let args = [
        "-f".to_string(),
        data("pool.yaml"),
        "-f".to_string(),
        path,
        "--catalog".to_string(),
        data("catalog.yaml"),
        "-o".to_string(),
        "json".to_string(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let a = simulate(&args, None);
    let b = simulate(&args, None);
    assert_eq!(a.code, 0, "{}", a.stderr);
    assert_eq!(a.stdout, b.stdout);
    let names: Vec<String> = a.json()["nodeClaims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    let expected: Vec<String> = (1..=names.len()).map(|i| format!("default-{i}")).collect();
    assert_eq!(names, expected, "names come from a per-pool counter");
}

#[test]
fn insufficient_capacity_falls_back_to_the_next_cheapest_offering() {
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec: {containers: [{name: c, image: c, resources: {requests: {cpu: 500m}}}]}\n";
    let path = scratch("pod.yaml", pod);
    let pool = data("pool.yaml");
    let run = |catalog: &str| {
        simulate(
            &["-f", &pool, "-f", &path, "--catalog", catalog, "-o", "json"],
            None,
        )
    };
    let normal = run(&data("catalog.yaml"));
    assert_eq!(normal.code, 0, "{}", normal.stderr);
    let n = normal.json();
    assert_eq!(n["nodeClaims"][0]["zone"], "test-zone-a");
    assert_eq!(n["summary"]["insufficientCapacityRetries"], 0);

    let short = run(&data("ice-catalog.yaml"));
    assert_eq!(short.code, 0, "{}", short.stderr);
    let s = short.json();
    let c = &s["nodeClaims"][0];
    assert_eq!(c["instanceType"], "small.2x", "{s:#}");
    assert_eq!(c["capacityType"], "spot");
    assert_eq!(c["zone"], "test-zone-b", "zone a spot is out of capacity");
    assert_eq!(c["pricePerHour"], 0.04);
    assert!(
        s["summary"]["insufficientCapacityRetries"]
            .as_u64()
            .unwrap()
            == 1,
        "the out-of-capacity offering was tried once, then the next-cheapest"
    );
    assert_eq!(s["summary"]["costPerHour"], 0.04);
}

#[test]
fn exhausted_capacity_reports_the_pods() {
    // The only offering the pool allows is out of capacity.
    let catalog = scratch(
        "catalog.yaml",
        "instanceTypes:\n- name: only.1x\n  capacity: {cpu: \"2\", memory: 4Gi}\n  overhead: {cpu: 100m}\n  offerings:\n  - {zone: z, capacityType: on-demand, price: 0.1, available: false}\n",
    );
    let pod = scratch(
        "pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec: {containers: [{name: c, image: c, resources: {requests: {cpu: 500m}}}]}\n",
    );
    let run = simulate(
        &[
            "-f",
            &data("pool.yaml"),
            "-f",
            &pod,
            "--catalog",
            &catalog,
            "-o",
            "json",
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = run.json();
    assert_eq!(v["summary"]["newNodes"], 0, "{v:#}");
    assert_eq!(v["unschedulable"][0]["pod"], "default/web");
}
