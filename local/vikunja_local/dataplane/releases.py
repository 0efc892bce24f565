"""Which version a task set runs: the tag of its container image.

`repo:tag` gives the tag. `repo@sha256:…` (how the release workflow deploys) gives
the tag(s) that digest has in moto's ECR repository; a digest nobody tagged is its
own version, as nothing better is known.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from .standin import Release

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImageReference:
    repository: str  # without the registry host
    tag: str | None
    digest: str | None


def parse_image(image: str) -> ImageReference:
    name, digest = image.split("@", 1) if "@" in image else (image, None)
    tag = None
    last_segment = name.rsplit("/", 1)[-1]
    if ":" in last_segment:  # a colon before the last slash is a registry port
        name, tag = name.rsplit(":", 1)
    if tag is None and digest is None:
        tag = "latest"
    return ImageReference(_without_registry(name), tag, digest)


def _without_registry(name: str) -> str:
    """`123456789012.dkr.ecr.us-east-1.amazonaws.com/vikunja` → `vikunja`; Docker
    Hub names (`vikunja/vikunja`) keep their namespace."""
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return rest
    return name


def release_of(task_definition, container_name: str | None, account: str, region: str) -> Release:
    image = container_image(task_definition, container_name)
    return Release(image=image, version=version_of(parse_image(image), account, region))


def container_image(task_definition, container_name: str | None) -> str:
    """The image of the load-balanced container (else the first container)."""
    containers = list(getattr(task_definition, "container_definitions", None) or [])
    chosen = next((c for c in containers if c.get("name") == container_name), None) or (containers[0] if containers else {})
    return chosen.get("image") or "unknown:unknown"


def version_of(reference: ImageReference, account: str, region: str) -> str:
    if reference.digest is None:
        return reference.tag or "latest"
    tags = ecr_tags_of(reference.repository, reference.digest, account, region)
    return preferred_tag(tags) or reference.tag or reference.digest


def ecr_tags_of(repository: str, digest: str, account: str, region: str) -> list[str]:
    from moto.ecr.models import ecr_backends

    try:
        repo = ecr_backends[account][region].repositories.get(repository)
    except Exception:
        log.exception("could not read ECR repository %s", repository)
        return []
    if repo is None:
        return []
    for image in list(repo.images):
        if image.get_image_digest() == digest:
            return list(image.image_tags)
    return []


def preferred_tag(tags: list[str]) -> str | None:
    """The newest tag that names a release: `latest` only if nothing else does."""
    specific = [tag for tag in tags if tag != "latest"]
    if specific:
        return specific[-1]
    return tags[-1] if tags else None
