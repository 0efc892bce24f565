"""Runs the patches' probes: does moto, without our patches, still misbehave?

A probe (registered with `registry.probe(patch)`, next to its patch) is a small function that
makes moto show the behaviour its patch fixes — in this process, through boto3 under
`moto.mock_aws` — and returns a `Finding`: `needed=True` when moto still misbehaves.

    python -m vikunja_local.patches.probing

runs, in a fresh process (the patches change moto's classes for good): every probe against
moto as installed; then applies the patches and checks that each changed the symbols it says
it replaces (`registry.Snapshot`); then runs every probe again, where each must find
`needed=False` (else the probe does not show what its patch fixes). Prints one JSON document.
It takes a few seconds; `local/tests/test_patches.py` runs it.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback
from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"


def client(service: str) -> Any:
    """A boto3 client for the moto of the `mock_aws` the probes run under."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        service, region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}),
    )


def run_probes() -> dict[str, dict[str, Any]]:
    """{patch name: {"needed": bool, "observed": str} or {"error": traceback}} for every
    patch that has a probe, each under a fresh `mock_aws`."""
    from moto import mock_aws
    from moto.core.config import default_user_config

    from .registry import PATCHES

    # A fresh moto for each probe, but the same boto3 session: botocore keeps its loaded models.
    config = {"core": {**default_user_config["core"], "reset_boto3_session": False}}
    results: dict[str, dict[str, Any]] = {}
    for patch in PATCHES.values():
        if patch.probe is None:
            continue
        began = time.monotonic()
        try:
            with mock_aws(config=config):
                finding = patch.probe()
            results[patch.name] = {"needed": bool(finding.needed), "observed": finding.observed}
        except Exception:  # a probe that breaks is reported, never taken as an answer
            results[patch.name] = {"error": traceback.format_exc(limit=4)}
        results[patch.name]["seconds"] = round(time.monotonic() - began, 3)
    return results


def main() -> None:
    logging.basicConfig(level=logging.CRITICAL)  # patched moto logs what the probes provoke
    import moto

    from . import PATCHES, apply_all, moto_internal_invokes_use_lambda_host
    from .registry import Snapshot

    document: dict[str, Any] = {
        "moto": moto.__version__,
        "patches": [patch.name for patch in PATCHES.values()],
        "probed": [patch.name for patch in PATCHES.values() if patch.probe is not None],
    }
    document["unpatched"] = run_probes()
    snapshot = Snapshot.take()
    apply_all()
    moto_internal_invokes_use_lambda_host(lambda_host=None)  # installs; no probe invokes a function
    document["unchanged"] = snapshot.unchanged()
    document["patched"] = run_probes()
    json.dump(document, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
