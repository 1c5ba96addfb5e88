#!/usr/bin/env python3
"""Derive karpenter-catalog's built-in us-east-1 on-demand price table from a public price list.

Input: a public table of us-east-1 Linux on-demand prices, one `"type": price` pair per entry, in
the format of Karpenter's generated pricing file (aws/karpenter-provider-aws,
pkg/providers/pricing/zz_generated.pricing_aws.go; the snapshot used for the committed table is
commit 031e72b6099630e960dacb88b48a7e9bb780945f, "generated at 2026-01-19T13:23:24Z for us-east-1",
itself produced from the AWS Price List API).

Output: crates/catalog/data/prices.csv, the compact representation the crate embeds:

  family,<family>,<basis>,<rate>   within a family, price = rate x units, where the basis is
                                   `vcpu` (units = vCPUs) or `mem` (units = GiB of memory),
                                   whichever explains more of the family's sizes
  type,<instance type>,,<price>    documented exceptions: sizes whose list price is not
                                   rate x units (metal premiums, GPU sizes, rounding)

Only families that appear in crates/catalog/data/instance_types.csv are written. Types of those
families missing from the input are priced by the family rate; types of families missing from the
input get no built-in price and are left out of the built-in catalog.

Usage: python3 scripts/catalog-gen/derive_prices.py PATH/TO/zz_generated.pricing_aws.go
"""

import collections
import csv
import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DATA = os.path.join(ROOT, "crates", "catalog", "data")
TOLERANCE = 0.0005  # relative; tighter than any price difference that matters


def load_source(path):
    text = open(path).read()
    header = re.search(r"generated at (\S+) for (\S+)", text)
    prices = {m.group(1): float(m.group(2)) for m in re.finditer(r'"([a-z0-9\-]+\.[a-z0-9\-]+)":\s*([0-9.]+)', text)}
    return (header.group(1) if header else "unknown"), prices


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    generated_at, prices = load_source(sys.argv[1])
    specs = {}
    with open(os.path.join(DATA, "instance_types.csv")) as f:
        for r in csv.DictReader(f):
            specs[r["name"]] = (int(r["vcpu"]), int(r["memory_mib"]) / 1024.0)
    fams = collections.defaultdict(dict)
    for name, price in prices.items():
        fams[name.split(".", 1)[0]][name] = price
    catalog_fams = {n.split(".", 1)[0] for n in specs}
    rows = []
    fitted = exceptions = 0
    for fam in sorted(fams):
        if fam not in catalog_fams:
            continue
        members = {n: p for n, p in fams[fam].items() if n in specs}
        if not members:
            continue
        best = None
        for basis, idx in (("vcpu", 0), ("mem", 1)):
            ratios = collections.Counter(round(p / specs[n][idx], 8) for n, p in members.items())
            rate = max(ratios.items(), key=lambda kv: (kv[1], -kv[0]))[0]
            exc = {n: p for n, p in members.items() if abs(rate * specs[n][idx] - p) > TOLERANCE * p}
            if best is None or len(exc) < len(best[2]):
                best = (basis, rate, exc)
        basis, rate, exc = best
        rows.append(["family", fam, basis, f"{rate:.8f}".rstrip("0").rstrip(".")])
        for n in sorted(exc):
            rows.append(["type", n, "", f"{exc[n]:.6f}".rstrip("0").rstrip(".")])
        fitted += len(members) - len(exc)
        exceptions += len(exc)
    with open(os.path.join(DATA, "prices.csv"), "w") as f:
        f.write(f"# us-east-1 Linux on-demand USD/h, derived from a public price list generated at {generated_at}\n")
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["kind", "key", "basis", "value"])
        w.writerows(rows)
    print(f"{sum(1 for r in rows if r[0] == 'family')} family rates cover {fitted} types; {exceptions} exceptions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
