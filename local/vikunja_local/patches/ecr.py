"""ECR: image digests are the sha256 of the manifest, as a registry computes them."""

from __future__ import annotations

from .registry import Finding, probe, replaces


@replaces("moto.ecr.models.Image._create_digest", "(self)")
def ecr_image_digests_are_manifest_hashes() -> None:
    """moto makes an image's digest from its layers' digests only (and a random one of
    101 values without layers), so two different manifests — a new config on the same
    layers, or any two layer-less test manifests — got the same digest, and a release
    by digest deployed the wrong image or none. A registry's digest is the sha256 of
    the manifest bytes; so is moto's now (an explicit `imageDigest` is still kept)."""
    import hashlib

    from moto.ecr.models import Image

    def create_digest(self) -> None:
        self._image_digest = "sha256:" + hashlib.sha256(self.image_manifest.encode("utf-8")).hexdigest()

    Image._create_digest = create_digest


# -- probes (see probing.py): moto without the patch, under mock_aws --------------------------


@probe(ecr_image_digests_are_manifest_hashes)
def _probe_image_digest() -> Finding:
    import hashlib
    import json

    from .probing import client

    ecr = client("ecr")
    ecr.create_repository(repositoryName="probe")
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"digest": "sha256:" + "1" * 64, "size": 1}, "layers": []})
    digest = ecr.put_image(repositoryName="probe", imageManifest=manifest, imageTag="v1")["image"]["imageId"]["imageDigest"]
    expected = "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()
    return Finding(digest != expected, "digest is the manifest's sha256" if digest == expected
                   else "digest is not the manifest's sha256")
