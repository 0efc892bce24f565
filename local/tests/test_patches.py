"""The moto patches (vikunja_local/patches): the start-up check of what each patch replaces,
and which patches moto, unpatched, still needs (each patch's probe, in a fresh process)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

import pytest

from conftest import LOCAL_DIR

if str(LOCAL_DIR) not in sys.path:
    sys.path.insert(0, str(LOCAL_DIR))

from vikunja_local import patches  # noqa: E402  (after the path)
from vikunja_local.patches import registry  # noqa: E402

VERSIONING = patches.s3.s3_bucket_versioning_answers_with_its_own_root_element


def test_every_patch_names_what_it_changes_and_the_check_passes_on_the_pinned_moto():
    assert patches.check() == []
    patches.verify()
    applied = set(patches.APPLIED_BY_APPLY_ALL)
    assert len(applied) == len(patches.APPLIED_BY_APPLY_ALL), "a patch is applied twice"
    registered = set(patches.PATCHES)
    assert applied <= registered, f"applied but not registered: {applied - registered}"
    assert registered - applied == {patches.moto_internal_invokes_use_lambda_host}, (
        "registered but applied neither by apply_all nor by the server")
    for patch in patches.PATCHES.values():
        assert any(t.kind in (registry.REPLACES, registry.ADDS) for t in patch.targets), (
            f"{patch.name} records nothing it replaces or adds")


def _altered(monkeypatch, function, index: int, signature: str) -> registry.Target:
    patch = patches.PATCHES[function]
    target = dataclasses.replace(patch.targets[index], signature=signature)
    monkeypatch.setattr(patch, "targets", patch.targets[:index] + (target,) + patch.targets[index + 1:])
    return target


def test_a_signature_that_differs_fails_the_check_naming_the_patch_and_the_symbol(monkeypatch):
    target = _altered(monkeypatch, VERSIONING, 0, "(self, bucket_name)")
    problems = patches.check()
    assert problems == [
        "vikunja_local.patches.s3.s3_bucket_versioning_answers_with_its_own_root_element replaces "
        f"{target.symbol}: the patch expects (self, bucket_name), the installed moto has (self) "
        "(moto no longer has bucket_name)"
    ]
    with pytest.raises(patches.PatchCheckError) as failure:
        patches.verify()
    assert "s3_bucket_versioning_answers_with_its_own_root_element" in str(failure.value)
    print("\n" + str(failure.value))


def test_apply_all_runs_the_check_first_and_applies_nothing_when_it_fails(monkeypatch):
    from moto.s3.responses import S3Response

    moto_own = S3Response.get_bucket_versioning
    _altered(monkeypatch, patches.ecs.code_deploy_services_start_with_a_task_set, 0, "(self, cluster_str, service_name)")
    with pytest.raises(patches.PatchCheckError, match=r"ecs\.code_deploy_services_start_with_a_task_set replaces "
                       r"moto\.ecs\.models\.EC2ContainerServiceBackend\.create_service"):
        patches.apply_all()
    assert S3Response.get_bucket_versioning is moto_own  # nothing was patched in this process
    assert patches._applied is False


def test_missing_and_added_symbols_fail_the_check(monkeypatch):
    patch = patches.PATCHES[VERSIONING]
    monkeypatch.setattr(patch, "targets", (
        registry.Target(registry.REPLACES, "moto.s3.responses.S3Response.get_bucket_versionings", "(self)"),
        registry.Target(registry.ADDS, "moto.s3.responses.S3Response.get_bucket_versioning"),
        registry.Target(registry.REPLACES, "moto.s3.responses.S3Response.get_bucket_versioning", None),
    ))
    problems = patches.check()
    assert len(problems) == 2, problems
    assert "get_bucket_versionings, which the installed moto does not have" in problems[0]
    assert "adds moto.s3.responses.S3Response.get_bucket_versioning, which moto lacked, but the installed moto has it" \
        in problems[1]


def test_a_moto_upgrade_fails_the_check(monkeypatch):
    monkeypatch.setattr(registry, "MOTO_VERSION", "0.0.1")
    assert patches.check() == ["the local stack's patches are written for moto 0.0.1, found 5.2.5"]


def test_signatures_are_recorded_as_python_writes_them():
    def positional_only(a, /, b, *args, c, **kwargs): ...

    def keyword_only(a, *, b): ...

    assert registry.signature_of(positional_only) == "(a, /, b, *args, c, **kwargs)"
    assert registry.signature_of(keyword_only) == "(a, *, b)"
    with pytest.raises(ValueError, match="parameter names only"):
        registry.replaces("moto.x.f", "(self, name=None)")


@pytest.fixture(scope="module")
def probed() -> dict:
    """Every probe against moto without the patches, then with them (one fresh process)."""
    run = subprocess.run(
        [sys.executable, "-m", "vikunja_local.patches.probing"], cwd=LOCAL_DIR,
        env={**os.environ, "PYTHONPATH": str(LOCAL_DIR)}, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return json.loads(run.stdout)


def _table(probed: dict) -> str:
    rows = [("patch", "moto " + probed["moto"] + " unpatched", "what moto does")]
    for name in probed["patches"]:
        short = name.removeprefix("vikunja_local.patches.")
        result = probed["unpatched"].get(name)
        if result is None:
            rows.append((short, "no probe", ""))
        elif "error" in result:
            rows.append((short, "probe failed", result["error"].strip().splitlines()[-1]))
        else:
            rows.append((short, "needed" if result["needed"] else "NO LONGER NEEDED", result["observed"]))
    widths = [max(len(row[column]) for row in rows) for column in range(2)]
    return "\n".join(f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]}".rstrip() for row in rows)


def test_which_patches_unpatched_moto_still_needs(probed):
    print("\n" + _table(probed))
    assert len(probed["probed"]) >= 5
    broken = {name: result["error"] for name, result in probed["unpatched"].items() if "error" in result}
    assert not broken, f"probes that failed against unpatched moto: {broken}"
    unneeded = [
        f"{name}: moto {probed['moto']} without it: {result['observed']} — the patch is no longer needed and "
        "can be removed (with its probe and its README row)"
        for name, result in probed["unpatched"].items() if not result["needed"]
    ]
    assert not unneeded, "\n".join(unneeded)


def test_each_probe_sees_its_patch_fix_moto(probed):
    """A probe that still finds the misbehaviour with the patch applied does not show what
    the patch fixes (or the patch no longer fixes it)."""
    wrong = {name: result for name, result in probed["patched"].items() if result.get("needed", True)}
    assert not wrong, f"with the patches applied these probes still see moto misbehave: {wrong}"


def test_each_patch_changes_the_symbols_it_says_it_replaces(probed):
    assert probed["unchanged"] == []
