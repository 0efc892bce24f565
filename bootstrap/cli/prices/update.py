#!/usr/bin/env python3
"""Regenerate aws-prices.json from AWS's public Price List bulk files (Python stdlib only).

    python3 bootstrap/cli/prices/update.py              # fetch the offer files (needs network)
    python3 bootstrap/cli/prices/update.py --offers DIR # or read DIR/<offer code>/<region>.json

For each region of the table and each price this script knows how to find, it reads the
region's offer file (https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/<offer code>/
current/<region>/index.json), picks the one on-demand SKU the price stands for and rewrites
its `usd`, `source` and `date` (the offer file's publication date), and sets `verified`.
Prices it has no selector for (Fargate Spot's discount, CloudFront, Route 53: global or not a
list price) or cannot find are left as they are and listed at the end.

It has not been run where it was written: that machine reaches package registries only, so
the committed table holds the figures docs/aws.md quoted (see each price's `source`). The
selection logic is tested on a small fixture shaped like an offer file (test_update.py).
"""

import argparse
import datetime
import json
import re
import sys
import urllib.request
from pathlib import Path

TABLE = Path(__file__).with_name("aws-prices.json")
OFFER_URL = "https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/{code}/current/{region}/index.json"

# usagetype values carry a region prefix (USE1-, EU-, EUW2-) except in some us-east-1 SKUs.
REGION_PREFIX = re.compile(r"^[A-Z]{2,4}\d?-")

FIXED = {
    "rds.gp3": ("AmazonRDS", {"productFamily": "Database Storage", "volumeType": "General Purpose-GP3",
                              "databaseEngine": "MySQL", "deploymentOption": "Single-AZ"}),
    "nlb.hour": ("AWSELB", {"productFamily": "Load Balancer-Network", "usagetype": "LoadBalancerUsage"}),
    "nlb.nlcu": ("AWSELB", {"productFamily": "Load Balancer-Network", "usagetype": "LCUUsage"}),
    "fargate.x86.vcpu": ("AmazonECS", {"usagetype": "Fargate-vCPU-Hours:perCPU"}),
    "fargate.x86.gb": ("AmazonECS", {"usagetype": "Fargate-GB-Hours"}),
    "fargate.arm.vcpu": ("AmazonECS", {"usagetype": "Fargate-ARM-vCPU-Hours:perCPU"}),
    "fargate.arm.gb": ("AmazonECS", {"usagetype": "Fargate-ARM-GB-Hours"}),
    "ipv4.address": ("AmazonVPC", {"usagetype": "PublicIPv4:InUseAddress"}),
    "s3.gb": ("AmazonS3", {"volumeType": "Standard", "usagetype": "TimedStorage-ByteHrs"}),
    "efs.gb": ("AmazonEFS", {"storageClass": "General Purpose", "usagetype": "TimedStorage-ByteHrs"}),
    "secrets.secret": ("AWSSecretsManager", {"usagetype": "AWSSecretsManager-Secrets"}),
    "ses.mail": ("AmazonSES", {"usagetype": "Recipients"}),
    "logs.ingest": ("AmazonCloudWatch", {"usagetype": "DataProcessing-Bytes"}),
    "logs.store": ("AmazonCloudWatch", {"usagetype": "TimedStorage-ByteHrs"}),
    "alarms.alarm": ("AmazonCloudWatch", {"usagetype": "CW:AlarmMonitorUsage"}),
    "ecr.gb": ("AmazonECR", {"usagetype": "TimedStorage-ByteHrs"}),
    "sfn.transition": ("AmazonStates", {"usagetype": "StateTransition"}),
    "lambda.x86.gb-second": ("AWSLambda", {"usagetype": "Lambda-GB-Second"}),
    "lambda.request": ("AWSLambda", {"usagetype": "Request"}),
}


def selector(key):
    """(offer code, attribute filters) for a table key, or None when it has no list price."""
    if key.startswith("rds.db."):
        return "AmazonRDS", {"productFamily": "Database Instance", "instanceType": key[len("rds."):],
                             "databaseEngine": "MySQL", "deploymentOption": "Single-AZ"}
    if key.startswith("elasticache.cache."):
        return "AmazonElastiCache", {"productFamily": "Cache Instance",
                                     "instanceType": key[len("elasticache."):], "cacheEngine": "Valkey"}
    return FIXED.get(key)


def matches(attributes, filters):
    for name, wanted in filters.items():
        value = attributes.get(name, "")
        if name == "usagetype":
            value = REGION_PREFIX.sub("", value)
        if value != wanted:
            return False
    return True


def find_price(offer, filters):
    """The USD on-demand price per unit of the one SKU `filters` select, at its first tier.

    Refuses no match and several SKUs with different prices, so a selector that has become
    ambiguous fails loudly instead of picking one."""
    products = offer.get("products", {})
    on_demand = offer.get("terms", {}).get("OnDemand", {})
    found = {}
    for sku, product in products.items():
        attributes = dict(product.get("attributes", {}), productFamily=product.get("productFamily", ""))
        if not matches(attributes, filters) or sku not in on_demand:
            continue
        for term in on_demand[sku].values():
            dimensions = sorted(term["priceDimensions"].values(),
                                key=lambda d: float(d.get("beginRange", "0")))
            first = dimensions[0]
            found[sku] = (float(first["pricePerUnit"]["USD"]), first.get("unit", ""), first.get("description", ""))
    prices = {price for price, _, _ in found.values()}
    if not found:
        raise LookupError(f"no on-demand SKU matches {filters}")
    if len(prices) > 1:
        raise LookupError(f"{len(found)} SKUs with different prices match {filters}: {sorted(prices)}")
    return next(iter(found.values()))


def update_region(region, prices, offer_for):
    """Rewrite `prices` (one region of the table) from `offer_for(code)`; the keys left alone."""
    left = []
    for key, price in prices.items():
        selected = selector(key)
        if selected is None:
            left.append(f"{key}: no list price to select")
            continue
        code, filters = selected
        try:
            offer = offer_for(code)
            usd, unit, description = find_price(offer, filters)
        except (LookupError, OSError) as problem:
            left.append(f"{key}: {problem}")
            continue
        per = price.get("per", 1)
        price["usd"] = round(usd * per, 10)
        price["source"] = f"{OFFER_URL.format(code=code, region=region)}: {description} (per {unit})"
        price["date"] = offer.get("publicationDate", "")[:10] or datetime.date.today().isoformat()
        price["verified"] = True
    return left


def offers(region, directory):
    cache = {}

    def offer_for(code):
        if code not in cache:
            if directory:
                cache[code] = json.loads((Path(directory) / code / f"{region}.json").read_text())
            else:
                with urllib.request.urlopen(OFFER_URL.format(code=code, region=region)) as answer:
                    cache[code] = json.load(answer)
        return cache[code]

    return offer_for


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offers", help="read DIR/<offer code>/<region>.json instead of fetching")
    args = parser.parse_args()
    table = json.loads(TABLE.read_text())
    for region, prices in table["regions"].items():
        for line in update_region(region, prices, offers(region, args.offers)):
            print(f"{region}: left as it was: {line}", file=sys.stderr)
    TABLE.write_text(json.dumps(table, indent=2) + "\n")
    print(f"wrote {TABLE}; then run `make cost-docs`")


if __name__ == "__main__":
    main()
