"""Static checks of the bootstrap template and the state machines (run by `make lint-templates`).

No Rust build and no AWS account: the template is packaged the way `vikunja-aws package`
(bootstrap/cli/src/package.rs) does it, with stand-in zips, then checked by

  1. cfn-lint (pinned, checks/requirements.txt): 0 errors, 0 warnings;
  2. checkov --framework cloudformation: 0 failed checks other than those listed, each with
     its reason, in checks/suppressions.yaml (a listed check that no longer fails is an error:
     the list stays true);
  3. our IAM rules: no Allow of `*` or `service:*` actions (nor NotAction); every `Resource: "*"`
     statement has a Sid that says why; a Sid that claims "NoResource…" is true for each of its
     actions according to the Service Authorization Reference data that cfn-lint ships (or the
     action is listed, with a reason); an action that has no resource-level permissions is
     never granted on an ARN only (AWS would deny it); every action exists;
  4. every state machine definition: parsed by moto's ASL parser (run in the local stack's
     venv, see asl_parse.py), every Next/Default/StartAt names a state of its scope, every state
     is reachable, and its `${…}` names equal the template's DefinitionSubstitutions keys.

Usage: python checks/lint_templates.py [--root DIR] [--out DIR] [--asl-python PATH] [--cli PATH]
Exit status 0 when everything passes, 1 otherwise; each finding is printed on one line.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent

# ----------------------------------------------------------------------------- template


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short forms (!Ref, !Sub, !GetAtt a.b, …) as long forms."""


def _short_form(loader: yaml.Loader, suffix: str, node: yaml.Node):
    tag = suffix
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag == "Ref":
        return {"Ref": value}
    if tag == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag}": value}


_CfnLoader.add_multi_constructor("!", _short_form)


def load_template(path: Path) -> dict:
    with path.open() as f:
        return yaml.load(f, Loader=_CfnLoader)


def package(root: Path, template: dict) -> tuple[dict, list[str]]:
    """package.rs's rules, for linting: a string `Code` (functions/<name>) becomes an S3 object
    in the artifacts bucket, a `DefinitionS3Location` file becomes the inline, compacted
    `DefinitionString`. Returns the packaged template and the problems packaging would hit."""
    packaged = copy.deepcopy(template)
    problems: list[str] = []
    for logical_id, resource in (packaged.get("Resources") or {}).items():
        kind = resource.get("Type", "")
        properties = resource.get("Properties")
        if not isinstance(properties, dict):
            continue
        if kind == "AWS::Lambda::Function" and isinstance(properties.get("Code"), str):
            folder = properties["Code"]
            name = folder.removeprefix("functions/").rstrip("/")
            if not (root / "functions" / name / "Cargo.toml").is_file():
                problems.append(f"package: {logical_id}: Code {folder!r} is not a crate under functions/")
            properties["Code"] = {
                "S3Bucket": {"Ref": "ArtifactsBucket"},
                "S3Key": f"functions/{name}/lint.zip",
            }
        if kind == "AWS::StepFunctions::StateMachine" and isinstance(
            properties.get("DefinitionS3Location"), str
        ):
            file = properties.pop("DefinitionS3Location")
            try:
                definition = json.loads((root / file).read_text())
            except (OSError, ValueError) as e:
                problems.append(f"package: {logical_id}: {file}: {e}")
                continue
            if "StartAt" not in definition or "States" not in definition:
                problems.append(f"package: {logical_id}: {file} has no StartAt/States")
            properties["DefinitionString"] = json.dumps(definition, separators=(",", ":"))
            # Where the definition came from, for the ASL checks (not part of the template).
            resource.setdefault("Metadata", {})["LintDefinitionFile"] = file
    return packaged, problems


def without_lint_metadata(packaged: dict) -> dict:
    clean = copy.deepcopy(packaged)
    for resource in (clean.get("Resources") or {}).values():
        metadata = resource.get("Metadata")
        if isinstance(metadata, dict):
            metadata.pop("LintDefinitionFile", None)
            if not metadata:
                del resource["Metadata"]
    return clean


def package_with_cli(cli: Path, root: Path, template: dict, out: Path) -> dict:
    """The real packager (`vikunja-aws package`) with one stand-in binary per function."""
    binaries = Path(tempfile.mkdtemp(prefix="lint-binaries-", dir=out))
    for resource in (template.get("Resources") or {}).values():
        code = (resource.get("Properties") or {}).get("Code")
        if resource.get("Type") == "AWS::Lambda::Function" and isinstance(code, str):
            name = code.removeprefix("functions/").rstrip("/")
            (binaries / name).write_text(f"#!/bin/sh\n# stand-in for {name}\n")
    target = out / "cli-package"
    subprocess.run(
        [str(cli), "package", "--binaries", str(binaries), "--out", str(target)],
        cwd=root, check=True, stdout=subprocess.DEVNULL,
        env={**os.environ, "VIKUNJA_ROOT": str(root)},
    )
    return json.loads((target / "template.json").read_text())


def compare_with_cli(ours: dict, theirs: dict) -> list[str]:
    """Our packaging must equal the CLI's except for the zips' content-addressed keys."""
    def normalise(template: dict) -> dict:
        t = without_lint_metadata(template)
        for resource in (t.get("Resources") or {}).values():
            code = (resource.get("Properties") or {}).get("Code")
            if isinstance(code, dict) and "S3Key" in code:
                code["S3Key"] = re.sub(r"/[^/]+\.zip$", "/*.zip", code["S3Key"])
            definition = (resource.get("Properties") or {}).get("DefinitionString")
            if isinstance(definition, str):
                resource["Properties"]["DefinitionString"] = json.loads(definition)
        return t

    a, b = normalise(ours), normalise(theirs)
    if a == b:
        return []
    problems = []
    for key in sorted(set(a.get("Resources", {})) | set(b.get("Resources", {}))):
        if a.get("Resources", {}).get(key) != b.get("Resources", {}).get(key):
            problems.append(f"package: {key}: packaged differently by checks/lint_templates.py and vikunja-aws package")
    return problems or ["package: the packaged templates differ outside Resources"]


# ----------------------------------------------------------------------------- cfn-lint


def run_cfn_lint(venv_bin: Path, packaged_file: Path, regions: list[str]) -> tuple[list[str], list[str], list[str]]:
    """Returns (errors, warnings, informational) as printable lines."""
    proc = subprocess.run(
        [str(venv_bin / "cfn-lint"), "--format", "json", "--regions", *regions,
         "--include-checks", "I", "--", str(packaged_file)],
        capture_output=True, text=True,
    )
    try:
        matches = json.loads(proc.stdout or "[]")
    except ValueError:
        return [f"cfn-lint: could not run: {proc.stderr.strip() or proc.stdout.strip()}"], [], []
    errors, warnings, infos = [], [], []
    for m in matches:
        rule = m.get("Rule", {}).get("Id", "?")
        path = "/".join(str(p) for p in m.get("Location", {}).get("Path", []) or [])
        line = f"cfn-lint {rule} {path}: {m.get('Message', '').strip()}"
        {"E": errors, "W": warnings}.get(rule[:1], infos).append(line)
    return errors, warnings, infos


# ----------------------------------------------------------------------------- checkov


def run_checkov(venv_bin: Path, packaged_file: Path) -> tuple[list[dict], int, str]:
    """All failed checks (nothing skipped: suppressions are applied by us, so stale ones show)."""
    proc = subprocess.run(
        [str(venv_bin / "checkov"), "--framework", "cloudformation", "-f", str(packaged_file),
         "--output", "json", "--compact", "--quiet", "--skip-download"],
        capture_output=True, text=True,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false",
             "LOG_LEVEL": "ERROR"},
    )
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        raise SystemExit(f"checkov did not answer JSON (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    if isinstance(report, list):  # one report per framework
        report = next((r for r in report if r.get("check_type") == "cloudformation"), report[0])
    results = report.get("results", {})
    summary = report.get("summary", {})
    version = summary.get("checkov_version", "?")
    return results.get("failed_checks", []), summary.get("passed", 0), version


def apply_suppressions(failed: list[dict], suppressions: dict) -> tuple[list[str], list[str], list[str]]:
    """Returns (unsuppressed findings, suppressed findings, stale suppressions)."""
    unsuppressed, suppressed = [], []
    used: set[tuple[str, str]] = set()
    for check in failed:
        check_id = check.get("check_id", "?")
        resource = check.get("resource", "?")  # e.g. AWS::Lambda::Function.NetworkFunction
        logical_id = resource.rsplit(".", 1)[-1]
        line = f"checkov {check_id} {resource}: {check.get('check_name', '').strip()}"
        rule = suppressions.get(check_id)
        if rule and (rule.get("resources") in (None, "all") or logical_id in rule["resources"]):
            used.add((check_id, logical_id))
            suppressed.append(line)
        else:
            unsuppressed.append(line)
    stale = []
    for check_id, rule in suppressions.items():
        if not rule or not str(rule.get("reason", "")).strip():
            stale.append(f"checkov suppression {check_id} has no reason: say why in checks/suppressions.yaml")
        if not any(cid == check_id for cid, _ in used):
            stale.append(f"checkov suppression {check_id} no longer matches any failed check: remove it from checks/suppressions.yaml")
        elif isinstance((rule or {}).get("resources"), list):
            for logical_id in rule["resources"]:
                if (check_id, logical_id) not in used:
                    stale.append(f"checkov suppression {check_id} lists {logical_id}, which no longer fails it: remove it")
    return unsuppressed, suppressed, stale


# ----------------------------------------------------------------------------- IAM


def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def policy_statements(template: dict):
    """(logical id, where, statement) for every statement of every policy document."""
    def walk(node, where):
        if isinstance(node, dict):
            if "Statement" in node and isinstance(node["Statement"], (list, dict)):
                for i, statement in enumerate(_as_list(node["Statement"])):
                    if isinstance(statement, dict):
                        yield where, i, statement
            for key, value in node.items():
                if key != "Statement":
                    yield from walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                yield from walk(value, f"{where}/{i}")

    for logical_id, resource in (template.get("Resources") or {}).items():
        properties = resource.get("Properties") or {}
        for key in ("Policies", "PolicyDocument", "ManagedPolicyArns"):
            if key in properties:
                for where, i, statement in walk(properties[key], key):
                    yield logical_id, f"{where}/Statement/{i}", statement


def load_iam_reference(venv_site: Path | None) -> dict:
    """The Service Authorization Reference as cfn-lint ships it: service -> action -> resource types."""
    import cfnlint  # noqa: PLC0415  (only in the lint venv)

    path = Path(cfnlint.__file__).parent / "data/AdditionalSpecs/Policies.json"
    return json.loads(path.read_text())


def resource_types(reference: dict, action: str) -> list[str] | None:
    """None when the action is unknown; [] when it has no resource-level permissions."""
    if ":" not in action:
        return None
    service, name = action.split(":", 1)
    entry = reference.get(service.lower(), {}).get("Actions", {}).get(name.lower())
    if entry is None:
        return None
    return list(entry.get("Resources", []))


def check_iam(template: dict, reference: dict, allowed: dict) -> tuple[list[str], set[str]]:
    """Returns (findings, allow-list entries used)."""
    findings: list[str] = []
    used: set[str] = set()
    for logical_id, where, st in policy_statements(template):
        if st.get("Effect") != "Allow":
            continue
        sid = st.get("Sid")
        label = f"iam {logical_id} {sid or where}"
        if "NotAction" in st:
            findings.append(f"{label}: Allow with NotAction grants everything else: list the actions")
        if "NotResource" in st:
            findings.append(f"{label}: Allow with NotResource: name the resources")
        actions = [a for a in _as_list(st.get("Action")) if isinstance(a, str)]
        resources = _as_list(st.get("Resource"))
        principal_policy = "Principal" in st  # trust policy or resource policy: not an identity grant
        for action in actions:
            if action == "*" or re.fullmatch(r"[A-Za-z0-9-]+:\*", action):
                findings.append(f"{label}: Action {action!r}: list the actions this role calls")
        if principal_policy:
            continue
        star = "*" in resources
        has_condition = bool(st.get("Condition"))
        if star:
            if not sid:
                findings.append(f"{label}: Resource \"*\" without a Sid: the Sid must say why (e.g. DescribeHasNoResourceLevelPermissions)")
            elif not has_condition and "NoResource" not in sid:
                findings.append(f"{label}: Resource \"*\" with no Condition: the Sid must name the missing resource-level permission (…NoResource…)")
        for action in actions:
            if "*" in action:
                continue
            kinds = resource_types(reference, action)
            key = f"{logical_id}/{sid}/{action}"
            if kinds is None:
                if action in allowed or key in allowed:
                    used.add(action if action in allowed else key)
                    continue
                findings.append(f"{label}: {action} is not an action the Service Authorization Reference knows (typo?)")
                continue
            if star and not has_condition and kinds:
                if action in allowed or key in allowed:
                    used.add(action if action in allowed else key)
                else:
                    findings.append(f"{label}: {action} has resource-level permissions ({', '.join(kinds)}): grant it on those ARNs, not \"*\" (or list it in checks/suppressions.yaml iam: with the reason)")
            if not star and not kinds:
                if action in allowed or key in allowed:
                    used.add(action if action in allowed else key)
                else:
                    findings.append(f"{label}: {action} has no resource-level permissions: AWS only allows it with Resource \"*\" (granted on ARNs only, every call is denied)")
    return findings, used


def handler_permissions(template: dict, region: str = "us-east-1") -> dict[str, set[str]]:
    """What CloudFormation calls, with the caller's credentials, to create, update, read and
    delete each resource type of the template (the registry schemas that cfn-lint ships)."""
    import cfnlint  # noqa: PLC0415

    schemas = Path(cfnlint.__file__).parent / "data/schemas"
    providers = json.loads((schemas / f"providers/{region}.json").read_text())
    needed: dict[str, set[str]] = {}
    for kind in sorted({r.get("Type") for r in (template.get("Resources") or {}).values()}):
        entry = providers.get(kind)
        schema = json.loads((schemas / f"resources/{entry}.json").read_text()) if isinstance(entry, str) else (entry or {})
        for handler in ("create", "update", "read", "delete"):
            for permission in (schema.get("handlers", {}).get(handler, {}).get("permissions") or []):
                needed.setdefault(permission, set()).add(f"{kind} {handler}")
    return needed


def check_operator_policy(root: Path, template: dict, reference: dict, allowed: dict, not_needed: dict) -> tuple[list[str], int]:
    """docs/operator-policy.json follows our IAM rules and grants what CloudFormation needs for
    every resource type of the template, except what a listed reason says is never called."""
    path = root / "docs/operator-policy.json"
    if not path.is_file():
        return [f"operator policy: {path.relative_to(root)} is missing"], 0
    document = json.loads(path.read_text())
    wrapped = {"Resources": {"OperatorPolicy": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": document}}}}
    findings, _ = check_iam(wrapped, reference, allowed)
    granted = {a.lower() for st in _as_list(document.get("Statement")) if st.get("Effect") == "Allow"
               for a in _as_list(st.get("Action"))}
    needed = handler_permissions(template)
    for permission, uses in sorted(needed.items()):
        if permission.lower() in granted or permission in not_needed:
            continue
        findings.append(f"operator policy: lacks {permission} ({', '.join(sorted(uses))}): grant it in docs/operator-policy.json or say in checks/suppressions.yaml why it is never called")
    for permission in not_needed:
        if permission not in needed:
            findings.append(f"operator policy: {permission} is listed as not needed, but no resource type of the template uses it: remove it from checks/suppressions.yaml")
        elif permission.lower() in granted:
            findings.append(f"operator policy: {permission} is listed as not needed but granted: remove one")
        elif not str((not_needed[permission] or {}).get("reason", "")).strip():
            findings.append(f"operator policy: {permission} is listed as not needed without a reason")
    return findings, len(_as_list(document.get("Statement")))


# ----------------------------------------------------------------------------- state machines


def asl_structure(definition: dict, where: str) -> list[str]:
    """Every StartAt/Next/Default/Catch target names a state of its own scope; all reachable."""
    problems: list[str] = []

    def scope(machine: dict, path: str):
        states = machine.get("States")
        if not isinstance(states, dict) or not states:
            problems.append(f"{path}: no States")
            return
        start = machine.get("StartAt")
        if start not in states:
            problems.append(f"{path}: StartAt {start!r} is not a state")
        edges: dict[str, set[str]] = {}
        for name, state in states.items():
            targets: set[str] = set()
            targets.update(t for t in [state.get("Next"), state.get("Default")] if t)
            for choice in state.get("Choices", []) or []:
                if choice.get("Next"):
                    targets.add(choice["Next"])
            for catcher in state.get("Catch", []) or []:
                if catcher.get("Next"):
                    targets.add(catcher["Next"])
            for target in targets:
                if target not in states:
                    problems.append(f"{path}/{name}: goes to {target!r}, which is not a state of this scope")
            edges[name] = targets & set(states)
            kind = state.get("Type")
            terminal = kind in ("Succeed", "Fail") or state.get("End") is True
            if kind == "Choice":
                terminal = False
                if not state.get("Choices"):
                    problems.append(f"{path}/{name}: Choice without Choices")
            elif not terminal and not state.get("Next"):
                problems.append(f"{path}/{name}: neither Next nor End")
            for i, branch in enumerate(state.get("Branches", []) or []):
                scope(branch, f"{path}/{name}/Branches/{i}")
            for key in ("ItemProcessor", "Iterator"):
                if isinstance(state.get(key), dict):
                    scope(state[key], f"{path}/{name}/{key}")
        seen, todo = set(), [start] if start in states else []
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo.extend(edges.get(name, ()))
        for name in states:
            if name not in seen:
                problems.append(f"{path}/{name}: unreachable from StartAt")

    scope(definition, where)
    return problems


SUBSTITUTION = re.compile(r"\$\{([^}]*)\}")


def placeholder(name: str, value, template: dict) -> str:
    """A value of the right shape for a substitution, so the ASL parser sees what AWS would."""
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"][0]
        kind = (template.get("Resources", {}).get(target) or {}).get("Type", "")
        if kind == "AWS::Lambda::Function":
            return f"arn:aws:lambda:us-east-1:123456789012:function:lint-{target}"
        if kind == "AWS::StepFunctions::StateMachine":
            return f"arn:aws:states:us-east-1:123456789012:stateMachine:lint-{target}"
    if isinstance(value, dict) and "Ref" in value:
        param = (template.get("Parameters") or {}).get(value["Ref"])
        if param and "Default" in param:
            return str(param["Default"])
        kind = (template.get("Resources", {}).get(value["Ref"]) or {}).get("Type", "")
        if kind == "AWS::StepFunctions::StateMachine":
            return f"arn:aws:states:us-east-1:123456789012:stateMachine:lint-{value['Ref']}"
    if isinstance(value, (str, int, float)):
        return str(value)
    return f"lint-{name}"


def state_machines(template: dict, packaged: dict):
    for logical_id, resource in (packaged.get("Resources") or {}).items():
        if resource.get("Type") != "AWS::StepFunctions::StateMachine":
            continue
        properties = resource.get("Properties") or {}
        file = (resource.get("Metadata") or {}).get("LintDefinitionFile", logical_id)
        yield logical_id, file, properties


def check_state_machines(root: Path, template: dict, packaged: dict, asl_python: Path | None, out: Path) -> tuple[list[str], list[str]]:
    """Returns (findings, one summary line per definition). asl_python None: no parser run."""
    findings: list[str] = []
    summaries: list[str] = []
    to_parse: dict[str, str] = {}
    defined_files = set()
    for logical_id, file, properties in state_machines(template, packaged):
        defined_files.add(file)
        text = properties.get("DefinitionString")
        if not isinstance(text, str):
            findings.append(f"asl {logical_id}: no DefinitionS3Location file or DefinitionString to check")
            continue
        used = set(SUBSTITUTION.findall(text))
        given = properties.get("DefinitionSubstitutions") or {}
        for name in sorted(used - set(given)):
            findings.append(f"asl {file}: ${{{name}}} is not in {logical_id}'s DefinitionSubstitutions (the state machine would run with the literal text)")
        for name in sorted(set(given) - used):
            findings.append(f"asl {file}: {logical_id}'s DefinitionSubstitutions has {name}, which the definition never uses")
        substituted = SUBSTITUTION.sub(lambda m: placeholder(m.group(1), given.get(m.group(1)), template), text)
        definition = json.loads(substituted)
        findings.extend(f"asl {p}" for p in asl_structure(definition, file))
        to_parse[file] = substituted
        summaries.append(f"{file}: {count_states(definition)} states, {len(used)} substitution(s)")
    for path in sorted((root / "statemachine").glob("*.asl.json")):
        rel = str(path.relative_to(root))
        if rel not in defined_files:
            findings.append(f"asl {rel}: no state machine in the template uses it (a definition nothing deploys)")
    if to_parse and asl_python:
        request = out / "asl-definitions.json"
        request.write_text(json.dumps(to_parse))
        proc = subprocess.run([str(asl_python), str(HERE / "asl_parse.py"), str(request)],
                              capture_output=True, text=True)
        if proc.returncode not in (0, 1):
            findings.append(f"asl: the ASL parser did not run (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
        else:
            findings.extend(line for line in proc.stdout.splitlines() if line.strip())
    return findings, summaries


def count_states(definition: dict) -> int:
    total = 0
    for state in (definition.get("States") or {}).values():
        total += 1
        for branch in state.get("Branches", []) or []:
            total += count_states(branch)
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(key), dict):
                total += count_states(state[key])
    return total


# ----------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=HERE.parent)
    parser.add_argument("--out", type=Path, default=None, help="where the packaged template is written (default: <root>/.local/lint)")
    parser.add_argument("--asl-python", type=Path, required=True, help="a Python with moto[stepfunctions] (the local stack's venv)")
    parser.add_argument("--cli", type=Path, default=None, help="also package with this vikunja-aws binary and compare")
    parser.add_argument("--regions", default="us-east-1,eu-west-1")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    root = args.root.resolve()
    out = (args.out or root / ".local/lint").resolve()
    out.mkdir(parents=True, exist_ok=True)
    venv_bin = Path(sys.executable).parent
    suppressions = yaml.safe_load((HERE / "suppressions.yaml").read_text()) or {}
    failures: list[str] = []
    timings: list[str] = []

    def timed(label, fn):
        started = time.monotonic()
        result = fn()
        timings.append(f"{label} {time.monotonic() - started:.1f}s")
        return result

    template = load_template(root / "bootstrap/template.yaml")
    packaged, problems = package(root, template)
    failures += problems
    if args.cli:
        failures += timed("cli-package", lambda: compare_with_cli(packaged, package_with_cli(args.cli, root, template, out)))
    packaged_file = out / "template.packaged.json"
    packaged_file.write_text(json.dumps(without_lint_metadata(packaged), indent=2))
    functions = sum(1 for r in template["Resources"].values() if r.get("Type") == "AWS::Lambda::Function")
    print(f"== packaged {packaged_file} ({len(template['Resources'])} resources, {functions} functions)")

    errors, warnings, infos = timed("cfn-lint", lambda: run_cfn_lint(venv_bin, packaged_file, args.regions.split(",")))
    print(f"== cfn-lint: {len(errors)} errors, {len(warnings)} warnings, {len(infos)} informational")
    for line in errors + warnings + (infos if args.verbose else []):
        print("  " + line)
    if infos and not args.verbose:
        print(f"  (informational, not failures: {', '.join(sorted({i.split()[1] for i in infos}))}; --verbose lists them)")
    failures += errors + warnings

    failed, passed, version = timed("checkov", lambda: run_checkov(venv_bin, packaged_file))
    unsuppressed, suppressed, stale = apply_suppressions(failed, suppressions.get("checkov") or {})
    print(f"== checkov {version}: {passed} passed, {len(unsuppressed)} failed, {len(suppressed)} suppressed (checks/suppressions.yaml)")
    for line in unsuppressed + stale + (suppressed if args.verbose else []):
        print("  " + line)
    failures += unsuppressed + stale

    allowed = suppressions.get("iam") or {}
    iam_findings, iam_used = check_iam(template, load_iam_reference(None), allowed)
    iam_stale = [f"iam allow-list entry {k} matches nothing: remove it from checks/suppressions.yaml" for k in allowed if k not in iam_used]
    statements = sum(1 for _ in policy_statements(template))
    print(f"== IAM: {statements} statements, {len(iam_findings) + len(iam_stale)} findings, {len(iam_used)} allow-listed action(s)")
    for line in iam_findings + iam_stale:
        print("  " + line)
    failures += iam_findings + iam_stale

    operator_findings, operator_statements = check_operator_policy(
        root, template, load_iam_reference(None), allowed, suppressions.get("operator-policy-not-needed") or {})
    print(f"== operator policy (docs/operator-policy.json): {operator_statements} statements, {len(operator_findings)} findings")
    for line in operator_findings:
        print("  " + line)
    failures += operator_findings

    asl_findings, summaries = timed("asl", lambda: check_state_machines(root, template, packaged, args.asl_python, out))
    print(f"== state machines: {len(summaries)} definitions, {len(asl_findings)} findings")
    for line in summaries:
        print("  " + line)
    for line in asl_findings:
        print("  " + line)
    failures += asl_findings

    print(f"== timings: {', '.join(timings)}")
    if failures:
        print(f"lint-templates: {len(failures)} problem(s)")
        return 1
    print("lint-templates: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
