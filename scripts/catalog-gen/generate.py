#!/usr/bin/env python3
"""Generate karpenter-catalog's built-in instance-type data from moto's EC2 snapshots.

moto (https://github.com/getmoto/moto) ships EC2 DescribeInstanceTypes output for every instance
type and DescribeInstanceTypeOfferings output (location type availability-zone) for every region.
This script reads them and writes three compact CSV files under crates/catalog/data/:

  instance_types.csv  one row per instance type: the facts the catalog derives capacity and labels from
  zones.csv           region, zone name, zone id for each built-in region
  offerings.csv       region, instance type, zone letters that offer it (e.g. "abcdf")

Usage (from the workspace root):

  python3 -m venv .venv && .venv/bin/pip install moto
  .venv/bin/python scripts/catalog-gen/generate.py            # writes crates/catalog/data/*.csv
  .venv/bin/python scripts/catalog-gen/generate.py --check    # fails if the committed files differ

Prices are produced separately by derive_prices.py (see docs/catalog.md).
"""

import argparse
import csv
import gzip
import io
import json
import math
import os
import re
import sys

import moto
from moto.ec2.models.availability_zones_and_regions import RegionsAndZonesBackend

REGIONS = ["us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-1"]

# Families a node autoscaler would not launch: retired previous generations older than
# c4/m4/r4/t2, macOS dedicated hosts, and FPGA instances (no Kubernetes device plugin in scope).
EXCLUDED_FAMILIES = {
    "c1", "c3", "cc2", "cg1", "cr1", "g2", "hs1", "i2", "m1", "m2", "m3", "r3", "t1",
    "f1", "f2",
}
EXCLUDED_PREFIXES = ("mac",)

HEADER = [
    "name", "vcpu", "memory_mib", "arch", "cpu_manufacturer", "clock_mhz", "hypervisor",
    "bare_metal", "burstable", "current_generation", "default_card_enis", "ipv4_per_eni",
    "network_mbps", "ebs_mbps", "local_nvme_gb", "encryption_in_transit", "gpu_name",
    "gpu_manufacturer", "gpu_count", "gpu_memory_mib", "accelerator_name",
    "accelerator_manufacturer", "accelerator_count", "neuron_cores", "efa", "spot",
]

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DATA = os.path.join(ROOT, "crates", "catalog", "data")


def resources_dir():
    return os.path.join(os.path.dirname(moto.__file__), "ec2", "resources")


def load_gz_json(path):
    with gzip.open(path, "rt") as f:
        return json.load(f)


def family_of(name):
    return name.split(".", 1)[0]


def excluded(name):
    fam = family_of(name)
    return fam in EXCLUDED_FAMILIES or fam.startswith(EXCLUDED_PREFIXES)


def network_bandwidth_mbps(performance, cards):
    """Baseline bandwidth as the EC2 documentation states it (Karpenter's
    instance-network-bandwidth label): a fixed `N Gigabit` or `Kx N Gigabit` figure when EC2
    reports one, else the sum of the network cards' baseline, truncated to whole Mbps.
    Mirrors `network_bandwidth_mbps` in crates/catalog/src/live/ec2.rs."""
    m = re.fullmatch(r"(\d+)x (\d+(?:\.\d+)?) Gigabit", performance or "")
    if m:
        return int(round(float(m.group(1)) * float(m.group(2)) * 1000))
    m = re.fullmatch(r"(\d+(?:\.\d+)?) Gigabit", performance or "")
    if m:
        return int(round(float(m.group(1)) * 1000))
    total = sum(c.get("BaselineBandwidthInGbps", 0) or 0 for c in cards)
    return int(math.floor(total * 1000 + 1e-6))


def b(v):
    return "true" if v else "false"


def row_for(it):
    name = it["InstanceType"]
    archs = it["ProcessorInfo"]["SupportedArchitectures"]
    if "arm64" in archs:
        arch = "arm64"
    elif "x86_64" in archs:
        arch = "amd64"
    else:
        return None
    net = it["NetworkInfo"]
    default_idx = net.get("DefaultNetworkCardIndex", 0)
    default_enis = net["MaximumNetworkInterfaces"]
    cards = net.get("NetworkCards") or []
    for card in cards:
        if card.get("NetworkCardIndex") == default_idx:
            default_enis = card["MaximumNetworkInterfaces"]
    bandwidth_mbps = network_bandwidth_mbps(net.get("NetworkPerformance", ""), cards)
    ebs = (it.get("EbsInfo") or {}).get("EbsOptimizedInfo") or {}
    storage = it.get("InstanceStorageInfo") or {}
    nvme = storage.get("TotalSizeInGB", 0) if storage.get("NvmeSupport", "unsupported") != "unsupported" else 0
    gpus = (it.get("GpuInfo") or {}).get("Gpus") or []
    gpu = gpus[0] if gpus else None
    neuron = (it.get("NeuronInfo") or {}).get("NeuronDevices") or []
    infer = (it.get("InferenceAcceleratorInfo") or {}).get("Accelerators") or []
    acc_name = acc_man = ""
    acc_count = cores = 0
    if neuron:
        acc_name, acc_man = neuron[0]["Name"], "AWS"
        acc_count = sum(n["Count"] for n in neuron)
        cores = sum(n["Count"] * n.get("CoreInfo", {}).get("Count", 0) for n in neuron)
    elif infer:
        acc_name, acc_man = infer[0]["Name"], infer[0]["Manufacturer"]
        acc_count = sum(a["Count"] for a in infer)
    clock = it["ProcessorInfo"].get("SustainedClockSpeedInGhz")
    return {
        "name": name,
        "vcpu": it["VCpuInfo"]["DefaultVCpus"],
        "memory_mib": it["MemoryInfo"]["SizeInMiB"],
        "arch": arch,
        "cpu_manufacturer": it["ProcessorInfo"].get("Manufacturer", ""),
        "clock_mhz": int(round(clock * 1000)) if clock else 0,
        "hypervisor": it.get("Hypervisor", ""),
        "bare_metal": b(it.get("BareMetal")),
        "burstable": b(it.get("BurstablePerformanceSupported")),
        "current_generation": b(it.get("CurrentGeneration")),
        "default_card_enis": default_enis,
        "ipv4_per_eni": net["Ipv4AddressesPerInterface"],
        "network_mbps": bandwidth_mbps,
        "ebs_mbps": ebs.get("MaximumBandwidthInMbps", 0),
        "local_nvme_gb": nvme,
        "encryption_in_transit": b(net.get("EncryptionInTransitSupported")),
        "gpu_name": gpu["Name"] if gpu else "",
        "gpu_manufacturer": gpu["Manufacturer"] if gpu else "",
        "gpu_count": sum(g["Count"] for g in gpus),
        "gpu_memory_mib": gpu["MemoryInfo"]["SizeInMiB"] if gpu else 0,
        "accelerator_name": acc_name,
        "accelerator_manufacturer": acc_man,
        "accelerator_count": acc_count,
        "neuron_cores": cores,
        "efa": (net.get("EfaInfo") or {}).get("MaximumEfaInterfaces", 0),
        "spot": b("spot" in it.get("SupportedUsageClasses", [])),
    }


def render(rows, header):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow([r[h] for h in header] if isinstance(r, dict) else r)
    return buf.getvalue()


def build():
    res = resources_dir()
    types = load_gz_json(os.path.join(res, "instance_types.json.gz"))
    offered = {}
    for region in REGIONS:
        offs = load_gz_json(os.path.join(res, "instance_type_offerings", "availability-zone", f"{region}.json.gz"))
        for o in offs:
            offered.setdefault(o["InstanceType"], {}).setdefault(region, set()).add(o["Location"])
    rows = []
    for name in sorted(types):
        if name not in offered or excluded(name):
            continue
        r = row_for(types[name])
        if r is not None:
            rows.append(r)
    names = {r["name"] for r in rows}
    zones_rows = []
    zone_backend = RegionsAndZonesBackend.zones
    for region in REGIONS:
        for z in zone_backend[region]:
            zones_rows.append([region, z.name, z.zone_id])
    off_rows = []
    for region in REGIONS:
        for name in sorted(names):
            zs = offered[name].get(region)
            if not zs:
                continue
            letters = "".join(sorted(z[len(region):] for z in zs))
            if not re.fullmatch(r"[a-z]+", letters):
                raise SystemExit(f"unexpected zone names for {name} in {region}: {sorted(zs)}")
            off_rows.append([region, name, letters])
    return {
        "instance_types.csv": render(rows, HEADER),
        "zones.csv": render(zones_rows, ["region", "zone", "zone_id"]),
        "offerings.csv": render(off_rows, ["region", "instance_type", "zones"]),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="compare with the committed files instead of writing")
    args = ap.parse_args()
    out = build()
    os.makedirs(DATA, exist_ok=True)
    stale = []
    for fname, text in out.items():
        path = os.path.join(DATA, fname)
        if args.check:
            with open(path) as f:
                if f.read() != text:
                    stale.append(fname)
        else:
            with open(path, "w") as f:
                f.write(text)
    if stale:
        print("stale:", ", ".join(stale), file=sys.stderr)
        return 1
    print(f"moto {moto.__version__}: " + ", ".join(f"{k} {v.count(chr(10)) - 1} rows" for k, v in out.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
