"""Which account and region a request (or moto's state) belongs to."""

from __future__ import annotations

import os
from typing import Iterator

from .router import CallView


def account_for(call: CallView | None) -> str:
    """The same account moto would pick for this request."""
    if "MOTO_ACCOUNT_ID" in os.environ:
        return os.environ["MOTO_ACCOUNT_ID"]
    if call is not None and call.header("x-moto-account-id"):
        return call.header("x-moto-account-id")  # type: ignore[return-value]
    from moto.iam.models import get_account_id_from

    return get_account_id_from((call.access_key if call else None) or "test")


def existing_backends(backend_dict) -> Iterator[tuple[str, str, object]]:
    """(account, region, backend) for every backend moto has created so far: moto
    creates them lazily, so iterating never conjures new ones. Copies the dicts
    first: request threads may add backends meanwhile."""
    for account, regions in list(backend_dict.items()):
        for region, backend in list(regions.items()):
            yield account, region, backend
