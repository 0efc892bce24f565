"""update.py's selection on a fixture shaped like an offer file (`python3 -m unittest` or pytest)."""

import unittest

import update


def product(sku, family, **attributes):
    return sku, {"sku": sku, "productFamily": family, "attributes": attributes}


def on_demand(sku, *tiers):
    dimensions = {
        f"{sku}.JRTCKXETXF.{i}": {"rateCode": f"{sku}.JRTCKXETXF.{i}", "description": text,
                                  "beginRange": begin, "endRange": "Inf", "unit": unit,
                                  "pricePerUnit": {"USD": usd}, "appliesTo": []}
        for i, (begin, usd, unit, text) in enumerate(tiers)
    }
    return {sku: {f"{sku}.JRTCKXETXF": {"offerTermCode": "JRTCKXETXF", "sku": sku,
                                        "effectiveDate": "2026-11-01T00:00:00Z",
                                        "priceDimensions": dimensions, "termAttributes": {}}}}


OFFER = {
    "formatVersion": "v1.0",
    "offerCode": "AmazonECS",
    "version": "20261120000000",
    "publicationDate": "2026-11-20T00:00:00Z",
    "products": dict([
        product("X86CPU", "Compute", usagetype="USE1-Fargate-vCPU-Hours:perCPU", regionCode="us-east-1"),
        product("SPOTCPU", "Compute", usagetype="USE1-SpotUsage-Fargate-vCPU-Hours:perCPU"),
        product("ARMCPU", "Compute", usagetype="USE1-Fargate-ARM-vCPU-Hours:perCPU"),
        product("STORE", "Storage", usagetype="TimedStorage-ByteHrs", volumeType="Standard"),
    ]),
    "terms": {"OnDemand": {
        **on_demand("X86CPU", ("0", "0.0404800000", "hours", "$0.04048 per hour per vCPU")),
        **on_demand("SPOTCPU", ("0", "0.0126000000", "hours", "spot")),
        **on_demand("ARMCPU", ("0", "0.0323800000", "hours", "$0.03238 per hour per vCPU for ARM")),
        **on_demand("STORE", ("51200", "0.0220000000", "GB-Mo", "next 450 TB"),
                    ("0", "0.0230000000", "GB-Mo", "first 50 TB")),
    }, "Reserved": {}},
}


class FindPrice(unittest.TestCase):
    def test_the_region_prefix_is_ignored_and_spot_is_not_taken_for_on_demand(self):
        self.assertEqual(update.find_price(OFFER, {"usagetype": "Fargate-vCPU-Hours:perCPU"})[0], 0.04048)
        self.assertEqual(update.find_price(OFFER, {"usagetype": "Fargate-ARM-vCPU-Hours:perCPU"})[0], 0.03238)

    def test_a_tiered_price_is_its_first_tier(self):
        usd, unit, _ = update.find_price(OFFER, {"usagetype": "TimedStorage-ByteHrs", "volumeType": "Standard"})
        self.assertEqual((usd, unit), (0.023, "GB-Mo"))

    def test_no_match_and_an_ambiguous_match_are_refused(self):
        with self.assertRaises(LookupError):
            update.find_price(OFFER, {"usagetype": "Fargate-GB-Hours"})
        with self.assertRaises(LookupError):
            update.find_price(OFFER, {"productFamily": "Compute"})


class UpdateRegion(unittest.TestCase):
    def test_found_prices_are_rewritten_with_source_and_date_and_the_rest_kept(self):
        prices = {
            "fargate.x86.vcpu": {"usd": 1.0, "unit": "vCPU-hour", "source": "old", "date": "2020-01-01", "verified": False},
            "fargate.x86.gb": {"usd": 2.0, "unit": "GB-hour", "source": "old", "date": "2020-01-01", "verified": False},
            "fargate.spot.saving": {"usd": 0.7, "unit": "fraction", "source": "page", "date": "2026-12-02", "verified": False},
        }
        left = update.update_region("us-east-1", prices, lambda code: OFFER)
        self.assertEqual(prices["fargate.x86.vcpu"]["usd"], 0.04048)
        self.assertEqual(prices["fargate.x86.vcpu"]["date"], "2026-11-20")
        self.assertTrue(prices["fargate.x86.vcpu"]["verified"])
        self.assertIn("/AmazonECS/current/us-east-1/index.json", prices["fargate.x86.vcpu"]["source"])
        self.assertEqual(prices["fargate.x86.gb"]["usd"], 2.0)
        self.assertEqual(prices["fargate.spot.saving"]["source"], "page")
        self.assertEqual(len(left), 2)

    def test_a_price_per_thousand_is_scaled(self):
        ses = {"usd": 1.0, "per": 1000, "unit": "mails", "source": "old", "date": "", "verified": False}
        offer = {"publicationDate": "2026-11-20T00:00:00Z",
                 "products": dict([product("MAIL", "Sending Email", usagetype="USE1-Recipients")]),
                 "terms": {"OnDemand": on_demand("MAIL", ("0", "0.0001000000", "Count", "per recipient"))}}
        update.update_region("us-east-1", {"ses.mail": ses}, lambda code: offer)
        self.assertAlmostEqual(ses["usd"], 0.10)

    def test_sized_keys_select_by_instance_type(self):
        code, filters = update.selector("rds.db.t4g.small")
        self.assertEqual((code, filters["instanceType"]), ("AmazonRDS", "db.t4g.small"))
        self.assertEqual(update.selector("elasticache.cache.t4g.micro")[1]["cacheEngine"], "Valkey")
        self.assertIsNone(update.selector("fargate.spot.saving"))


if __name__ == "__main__":
    unittest.main()
