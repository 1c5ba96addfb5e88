//! Live data conversions on captured response shapes, the price refresh policy and the
//! insufficient-capacity cache.

use jiff::{SignedDuration, Timestamp};
use karpenter_catalog::allocatable::MIB;
use karpenter_catalog::live::ec2::{
    DescribeAvailabilityZonesOutput, DescribeInstanceTypeOfferingsOutput,
    DescribeInstanceTypesOutput, InstanceTypeInfo,
};
use karpenter_catalog::live::prices::{
    latest_spot_prices, on_demand_prices, parse_price_list_document,
    DescribeSpotPriceHistoryOutput, GetProductsOutput,
};
use karpenter_catalog::live::{
    catalog_from_ec2, PriceBook, PriceOrigin, RefreshOutcome, UnavailableOfferings,
};
use karpenter_catalog::{AllocatableOptions, CapacityType, Catalog, InstanceSpec, PriceSource};
use std::collections::HashMap;

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn types() -> DescribeInstanceTypesOutput {
    serde_json::from_str(&fixture("describe_instance_types.json")).unwrap()
}

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

#[test]
fn describe_instance_types_converts_like_the_builtin_data() {
    let out = types();
    assert_eq!(out.instance_types.len(), 8);
    let builtin = Catalog::builtin("us-east-1", &AllocatableOptions::default()).unwrap();
    let specs = karpenter_catalog::builtin::specs().unwrap();
    for info in &out.instance_types {
        let spec = InstanceSpec::try_from(info).unwrap();
        let from_builtin = specs.iter().find(|s| s.name == spec.name).unwrap();
        assert_eq!(&spec, from_builtin, "{}", spec.name);
        let it = spec.to_instance_type(&AllocatableOptions::default(), vec![]);
        let b = builtin.get(&spec.name).unwrap();
        assert_eq!(it.labels, b.labels, "{}", spec.name);
        assert_eq!(it.capacity, b.capacity, "{}", spec.name);
    }
    let m5 = InstanceSpec::try_from(&out.instance_types[0]).unwrap();
    assert_eq!(m5.name, "m5.large");
    assert_eq!((m5.default_card_enis, m5.ipv4_per_eni), (3, 10));
    let p4d = out
        .instance_types
        .iter()
        .find(|i| i.instance_type.as_deref() == Some("p4d.24xlarge"))
        .unwrap();
    let p4d = InstanceSpec::try_from(p4d).unwrap();
    assert_eq!(p4d.default_card_enis, 15);
    assert_eq!(p4d.efa, 4);
    assert_eq!(p4d.gpu.as_ref().unwrap().count, 8);
}

#[test]
fn conversion_errors_name_type_and_field() {
    let info: InstanceTypeInfo = serde_json::from_str(
        r#"{"InstanceType":"x9.large","VCpuInfo":{"DefaultVCpus":2},"ProcessorInfo":{"SupportedArchitectures":["x86_64"]}}"#,
    )
    .unwrap();
    let e = InstanceSpec::try_from(&info).unwrap_err();
    assert_eq!(e.object, "x9.large");
    assert_eq!(e.field, "MemoryInfo.SizeInMiB");
    let mac: InstanceTypeInfo = serde_json::from_str(
        r#"{"InstanceType":"mac1.metal","VCpuInfo":{"DefaultVCpus":12},"MemoryInfo":{"SizeInMiB":32768},
            "ProcessorInfo":{"SupportedArchitectures":["x86_64_mac"]},"NetworkInfo":{"Ipv4AddressesPerInterface":30,"MaximumNetworkInterfaces":8}}"#,
    )
    .unwrap();
    let e = InstanceSpec::try_from(&mac).unwrap_err();
    assert!(e.to_string().contains("SupportedArchitectures"), "{e}");
    let e = InstanceSpec::try_from(&InstanceTypeInfo::default()).unwrap_err();
    assert_eq!(e.field, "InstanceType");
}

fn price_pages() -> Vec<GetProductsOutput> {
    serde_json::from_str(&fixture("get_products_pages.json")).unwrap()
}

#[test]
fn price_list_documents_parse_with_filters() {
    let pages = price_pages();
    let (prices, errors) = on_demand_prices(&pages, "us-east-1");
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(prices["m5.large"], 0.096);
    assert_eq!(prices["m5.xlarge"], 0.192); // the eu-west-1 document is ignored
    assert_eq!(prices["p4d.24xlarge"], 21.957642);
    assert_eq!(prices.len(), 8);
    // Windows and unused-reservation documents are filtered out.
    let windows = &pages[0].price_list[3];
    assert_eq!(
        parse_price_list_document(windows, "us-east-1").unwrap(),
        None
    );
    let unused = &pages[0].price_list[4];
    assert_eq!(
        parse_price_list_document(unused, "us-east-1").unwrap(),
        None
    );
    assert!(parse_price_list_document("{not json", "us-east-1").is_err());
    let bad = pages[0].price_list[0].replace("0.0960000000", "n/a");
    let e = parse_price_list_document(&bad, "us-east-1").unwrap_err();
    assert_eq!(e.object, "m5.large");
    assert!(e.field.contains("USD"));
    let (_, errors) = on_demand_prices(
        &[GetProductsOutput {
            price_list: vec![bad, "[]".into()],
            ..Default::default()
        }],
        "us-east-1",
    );
    assert_eq!(errors.len(), 2);
}

#[test]
fn spot_history_keeps_the_latest_linux_price() {
    let page: DescribeSpotPriceHistoryOutput =
        serde_json::from_str(&fixture("describe_spot_price_history.json")).unwrap();
    let latest = latest_spot_prices(std::slice::from_ref(&page)).unwrap();
    assert_eq!(latest[&("m5.large".into(), "us-east-1a".into())], 0.0352);
    assert_eq!(latest[&("m5.large".into(), "us-east-1b".into())], 0.041);
    assert_eq!(latest[&("g5.xlarge".into(), "us-east-1c".into())], 0.4527);
    assert_eq!(latest.len(), 3);
    let mut bad = page;
    bad.spot_price_history[0].timestamp = "yesterday".into();
    let e = latest_spot_prices(&[bad]).unwrap_err();
    assert_eq!(e.object, "m5.large in us-east-1a");
    assert_eq!(e.field, "Timestamp");
}

#[test]
fn live_catalog_from_captured_responses() {
    let offerings: DescribeInstanceTypeOfferingsOutput =
        serde_json::from_str(&fixture("describe_instance_type_offerings.json")).unwrap();
    let zones: DescribeAvailabilityZonesOutput =
        serde_json::from_str(&fixture("describe_availability_zones.json")).unwrap();
    let now = t("2026-07-20T12:30:00Z");
    let mut book = PriceBook::builtin("us-east-1");
    let (od, _) = on_demand_prices(&price_pages(), "us-east-1");
    assert_eq!(
        book.apply_on_demand(now, Ok(od)),
        RefreshOutcome::Updated(8)
    );
    let page: DescribeSpotPriceHistoryOutput =
        serde_json::from_str(&fixture("describe_spot_price_history.json")).unwrap();
    book.apply_spot(now, Ok(latest_spot_prices(&[page]).unwrap()));

    let live = catalog_from_ec2(
        "us-east-1",
        &types().instance_types,
        &offerings.instance_type_offerings,
        &zones.availability_zones,
        &book,
        &AllocatableOptions::default(),
    )
    .unwrap();
    assert!(live.skipped.is_empty(), "{:?}", live.skipped);
    let c = live.catalog;
    assert_eq!(c.prices, PriceSource::Live);
    assert_eq!(c.instance_types.len(), 8);
    let m5 = c.get("m5.large").unwrap();
    assert_eq!(m5.allocatable().get("cpu"), 1930);
    assert_eq!(m5.capacity.get("memory"), 7577 * MIB);
    // us-east-1e is impaired in the zones fixture: no offerings there.
    assert!(m5.offerings.iter().all(|o| o.zone != "us-east-1e"));
    let a_spot = m5
        .offerings
        .iter()
        .find(|o| o.zone == "us-east-1a" && o.capacity_type == CapacityType::Spot)
        .unwrap();
    assert_eq!(a_spot.price, 0.0352);
    assert_eq!(a_spot.zone_id.as_deref(), Some("use1-az6"));
    assert_eq!(m5.cheapest(CapacityType::OnDemand).unwrap().price, 0.096);
    // zones without a live spot price fall back to the built-in estimate
    let c_spot = m5
        .offerings
        .iter()
        .find(|o| o.zone == "us-east-1c" && o.capacity_type == CapacityType::Spot)
        .unwrap();
    assert!(c_spot.price > 0.0 && c_spot.price < 0.096);
}

#[test]
fn refresh_policy_12h_with_fallback() {
    let t0 = t("2026-07-20T00:00:00Z");
    let mut book = PriceBook::builtin("us-east-1");
    assert_eq!(book.on_demand_origin(), PriceOrigin::Builtin);
    assert!(book.on_demand_refresh_due(t0));
    assert_eq!(book.on_demand("m5.large"), Some(0.096));

    // A failure keeps the built-in prices and retries after 5 minutes.
    let out = book.apply_on_demand(t0, Err("AccessDenied".into()));
    assert!(matches!(out, RefreshOutcome::KeptPrevious { .. }));
    assert_eq!(book.on_demand("m5.large"), Some(0.096));
    assert!(!book.on_demand_refresh_due(t0 + SignedDuration::from_mins(4)));
    assert!(book.on_demand_refresh_due(t0 + SignedDuration::from_mins(5)));

    // Success: live prices for 12 hours; types missing from the result keep built-in prices.
    let t1 = t0 + SignedDuration::from_mins(5);
    let live = HashMap::from([("m5.large".to_string(), 0.1)]);
    assert_eq!(
        book.apply_on_demand(t1, Ok(live)),
        RefreshOutcome::Updated(1)
    );
    assert_eq!(book.on_demand_origin(), PriceOrigin::Live(t1));
    assert_eq!(book.on_demand("m5.large"), Some(0.1));
    assert_eq!(book.on_demand("c5.large"), Some(0.085));
    assert!(!book.on_demand_refresh_due(t1 + SignedDuration::from_hours(11)));
    assert!(book.on_demand_refresh_due(t1 + SignedDuration::from_hours(12)));

    // A later failure or empty answer keeps the last good live prices.
    let t2 = t1 + SignedDuration::from_hours(12);
    assert!(matches!(
        book.apply_on_demand(t2, Ok(HashMap::new())),
        RefreshOutcome::KeptPrevious { .. }
    ));
    assert_eq!(book.on_demand("m5.large"), Some(0.1));
    assert_eq!(book.on_demand_origin(), PriceOrigin::Live(t1));

    // Spot: built-in estimate until a refresh, then live per zone.
    let est = book.spot("m5.large", "us-east-1a").unwrap();
    assert!(est < 0.096);
    assert!(book.spot_refresh_due(t0));
    book.apply_spot(
        t0,
        Ok(HashMap::from([(
            ("m5.large".to_string(), "us-east-1a".to_string()),
            0.03,
        )])),
    );
    assert_eq!(book.spot("m5.large", "us-east-1a"), Some(0.03));
    assert_eq!(book.spot_origin(), PriceOrigin::Live(t0));
    assert!(!book.spot_refresh_due(t0 + SignedDuration::from_hours(1)));
    book.apply_spot(t0 + SignedDuration::from_hours(12), Err("throttled".into()));
    assert_eq!(book.spot("m5.large", "us-east-1a"), Some(0.03));

    // A region without built-in data falls back to us-east-1 figures.
    let other = PriceBook::builtin("sa-east-1");
    assert_eq!(other.on_demand("m5.large"), Some(0.096));
    assert!(other.spot("m5.large", "sa-east-1a").is_some());
}

#[test]
fn insufficient_capacity_cache_expires_after_3_minutes() {
    let t0 = t("2026-07-20T12:00:00Z");
    let mut ice = UnavailableOfferings::new();
    ice.mark("m5.large", "us-east-1a", CapacityType::Spot, t0);
    assert!(ice.is_unavailable("m5.large", "us-east-1a", CapacityType::Spot, t0));
    assert!(!ice.is_unavailable("m5.large", "us-east-1a", CapacityType::OnDemand, t0));
    assert!(!ice.is_unavailable("m5.large", "us-east-1b", CapacityType::Spot, t0));
    let just_before = t0 + SignedDuration::from_secs(179);
    let at_ttl = t0 + SignedDuration::from_mins(3);
    assert!(ice.is_unavailable("m5.large", "us-east-1a", CapacityType::Spot, just_before));
    assert!(!ice.is_unavailable("m5.large", "us-east-1a", CapacityType::Spot, at_ttl));

    let mut c = Catalog::builtin("us-east-1", &AllocatableOptions::default()).unwrap();
    assert_eq!(ice.apply(&mut c, just_before), 1);
    let m5 = c.get("m5.large").unwrap();
    let marked: Vec<_> = m5.offerings.iter().filter(|o| !o.available).collect();
    assert_eq!(marked.len(), 1);
    assert_eq!(marked[0].zone, "us-east-1a");
    assert_eq!(marked[0].capacity_type, CapacityType::Spot);
    assert_ne!(m5.cheapest(CapacityType::Spot).unwrap().zone, "us-east-1a");

    // A second failure extends the window; prune drops expired entries.
    ice.mark(
        "m5.large",
        "us-east-1a",
        CapacityType::Spot,
        t0 + SignedDuration::from_mins(2),
    );
    assert!(ice.is_unavailable("m5.large", "us-east-1a", CapacityType::Spot, at_ttl));
    ice.mark("c5.large", "us-east-1b", CapacityType::OnDemand, t0);
    assert_eq!(ice.len_at(at_ttl), 1);
    ice.prune(at_ttl);
    assert_eq!(ice.len_at(t0), 1);
}
