"""What each patch changes in moto, stated in code, and the start-up check of it.

A patch is a function in one of this package's service modules, decorated with the moto
symbols it touches:

    @replaces("moto.s3.responses.S3Response.get_bucket_versioning", "(self)")
    def s3_bucket_versioning_answers_with_its_own_root_element() -> None: ...

- `replaces(symbol, signature)`: the patch assigns a new value to `symbol` (usually wrapping
  moto's). `signature` is the parameter list the patch expects moto's callable to have,
  names only, in Python syntax — `(self, a, *args, b, **kwargs)`, `/` and a bare `*` where
  moto has them, no defaults or annotations. `None`: not a callable (a dict, a setting):
  it only has to exist.
- `adds(symbol)`: the patch creates an attribute moto lacks (an API moto does not
  implement). It must still be missing: a moto that grew its own would be shadowed.
- `uses(symbol, signature)`: a moto callable the patch calls by its parameter names
  (keyword arguments, moto's constructors). Checked like `replaces`.

A symbol is a dotted path: modules, then attributes (a class's own or inherited, read
without running descriptors, so a classmethod's signature includes `cls`), then dict keys.

`check()` resolves every recorded symbol in the installed moto and compares parameter
names (`inspect.signature`); `verify()` raises `PatchCheckError` naming each patch whose
symbols moved, so a moto upgrade fails at start-up instead of misbehaving at run-time.

`probe(patch)` registers a probe: a function run against moto *without* the patches
(see `probing.py`) that answers whether moto still misbehaves.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable

MOTO_VERSION = "5.2.5"

REPLACES, ADDS, USES = "replaces", "adds", "uses"


@dataclass(frozen=True)
class Target:
    kind: str  # REPLACES, ADDS or USES
    symbol: str
    signature: str | None = None  # "(self, a, b)"; None: no signature to compare


@dataclass(frozen=True)
class Finding:
    """What a probe saw in moto without the patch."""

    needed: bool  # True: moto still misbehaves, the patch is needed
    observed: str  # what moto did, in a few words


@dataclass
class Patch:
    function: Callable[..., None]
    targets: tuple[Target, ...] = ()
    probe: Callable[[], Finding] | None = None

    @property
    def name(self) -> str:
        """`<module>.<function>`, e.g. `vikunja_local.patches.s3.s3_expected_bucket_owner_is_checked`."""
        return f"{self.function.__module__}.{self.function.__name__}"


# Every patch, by function, in the order its module was imported.
PATCHES: dict[Callable[..., None], Patch] = {}


class PatchCheckError(RuntimeError):
    """The installed moto is not the one the patches were written against."""


def _patch_of(function: Callable[..., None]) -> Patch:
    if function not in PATCHES:
        PATCHES[function] = Patch(function)
    return PATCHES[function]


def _target(kind: str, symbol: str, signature: str | None) -> Callable:
    if signature is not None:
        _parse_signature(signature)  # a typo in a recorded signature fails at import

    def decorate(function: Callable[..., None]) -> Callable[..., None]:
        patch = _patch_of(function)
        # Decorators apply bottom-up: prepend, so targets read in source order.
        patch.targets = (Target(kind, symbol, signature),) + patch.targets
        return function

    return decorate


def replaces(symbol: str, signature: str | None) -> Callable:
    return _target(REPLACES, symbol, signature)


def adds(symbol: str) -> Callable:
    return _target(ADDS, symbol, None)


def uses(symbol: str, signature: str | None = None) -> Callable:
    return _target(USES, symbol, signature)


def probe(patch_function: Callable[..., None]) -> Callable:
    """Registers the decorated function as `patch_function`'s probe."""

    def decorate(probe_function: Callable[[], Finding]) -> Callable[[], Finding]:
        _patch_of(patch_function).probe = probe_function
        return probe_function

    return decorate


# -- resolving symbols -----------------------------------------------------------------------

_MISSING = object()


def resolve(symbol: str) -> Any:
    """The object at `symbol`, classmethods and staticmethods unwrapped; `_MISSING` when
    absent. Raises nothing for a missing attribute; an import error of an existing module
    (a broken moto) propagates."""
    parts = symbol.split(".")
    obj: Any = None
    for index in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:index]))
            break
        except ModuleNotFoundError as error:
            tried = ".".join(parts[:index])
            if error.name is None or not (tried == error.name or tried.startswith(error.name + ".")):
                raise  # a module that exists failed to import one of its own imports
    else:
        return _MISSING
    for part in parts[index:]:
        if inspect.isclass(obj):
            try:
                obj = inspect.getattr_static(obj, part)
            except AttributeError:
                return _MISSING
        elif isinstance(obj, dict) and part in obj:
            obj = obj[part]
        elif hasattr(obj, part):
            obj = getattr(obj, part)
        else:
            return _MISSING
    if isinstance(obj, (classmethod, staticmethod)):
        obj = obj.__func__
    return obj


def is_missing(obj: Any) -> bool:
    return obj is _MISSING


def signature_of(obj: Any) -> str:
    """`(self, a, *args, b, **kwargs)`: parameter names in Python syntax."""
    if isinstance(obj, property):
        obj = obj.fget
    parameters = list(inspect.signature(obj).parameters.values())
    tokens: list[str] = []
    seen_star = False
    for position, parameter in enumerate(parameters):
        kind = parameter.kind
        if kind is inspect.Parameter.VAR_POSITIONAL:
            tokens.append("*" + parameter.name)
            seen_star = True
        elif kind is inspect.Parameter.VAR_KEYWORD:
            tokens.append("**" + parameter.name)
        elif kind is inspect.Parameter.KEYWORD_ONLY:
            if not seen_star:
                tokens.append("*")
                seen_star = True
            tokens.append(parameter.name)
        else:
            tokens.append(parameter.name)
        if kind is inspect.Parameter.POSITIONAL_ONLY and (
            position + 1 == len(parameters) or parameters[position + 1].kind is not inspect.Parameter.POSITIONAL_ONLY
        ):
            tokens.append("/")
    return "(" + ", ".join(tokens) + ")"


def _parse_signature(text: str) -> tuple[str, ...]:
    stripped = text.strip()
    if not (stripped.startswith("(") and stripped.endswith(")")):
        raise ValueError(f"a recorded signature is written `(a, b)`: {text!r}")
    inner = stripped[1:-1].strip()
    tokens = tuple(token.strip() for token in inner.split(",")) if inner else ()
    for token in tokens:
        name = token.lstrip("*")
        if token not in ("*", "/") and (not name.isidentifier() or len(token) - len(name) > 2):
            raise ValueError(f"a recorded signature holds parameter names only: {token!r} in {text!r}")
    return tokens


def _difference(expected: tuple[str, ...], actual: tuple[str, ...]) -> str:
    gone = [name for name in expected if name not in actual]
    new = [name for name in actual if name not in expected]
    parts = []
    if gone:
        parts.append("moto no longer has " + ", ".join(gone))
    if new:
        parts.append("moto added " + ", ".join(new))
    if not parts:
        parts.append("same names, different order or kind")
    return "; ".join(parts)


# -- the check -------------------------------------------------------------------------------


def problems_of(patch: Patch) -> list[str]:
    """What no longer holds for one patch, as sentences naming the patch and the symbol."""
    problems = []
    for target in patch.targets:
        found = resolve(target.symbol)
        where = f"{patch.name} {target.kind} {target.symbol}"
        if target.kind == ADDS:
            owner = target.symbol.rpartition(".")[0]
            if is_missing(resolve(owner)):
                problems.append(f"{where}, but the installed moto does not have {owner}")
            elif not is_missing(found):
                problems.append(f"{where}, which moto lacked, but the installed moto has it: "
                                "the patch would shadow moto's own; check whether it is still needed")
            continue
        if is_missing(found):
            problems.append(f"{where}, which the installed moto does not have")
            continue
        if target.signature is None:
            continue
        try:
            actual = signature_of(found)
        except (TypeError, ValueError):
            problems.append(f"{where} {target.signature}, which is no longer a callable ({type(found).__name__})")
            continue
        expected_tokens = _parse_signature(target.signature)
        actual_tokens = _parse_signature(actual)
        if expected_tokens != actual_tokens:
            problems.append(f"{where}: the patch expects {target.signature}, the installed moto has {actual} "
                            f"({_difference(expected_tokens, actual_tokens)})")
    return problems


def check() -> list[str]:
    """Every problem with the installed moto, for every registered patch; [] when all hold."""
    import moto

    problems = []
    if moto.__version__ != MOTO_VERSION:
        problems.append(f"the local stack's patches are written for moto {MOTO_VERSION}, found {moto.__version__}")
    for patch in PATCHES.values():
        if not patch.targets:
            problems.append(f"{patch.name} records no moto symbol (decorate it with @replaces/@adds)")
        problems.extend(problems_of(patch))
    return problems


def verify() -> None:
    """Raises PatchCheckError listing every problem `check` finds."""
    problems = check()
    if problems:
        raise PatchCheckError(
            "moto does not match what the local stack's patches were written against "
            "(vikunja_local/patches; see local/README.md):\n  - " + "\n  - ".join(problems)
        )


@dataclass
class Snapshot:
    """The objects at the replaced/added symbols, to tell afterwards that a patch really
    changed what it says it changes."""

    objects: dict[tuple[str, str], Any] = field(default_factory=dict)

    @classmethod
    def take(cls) -> "Snapshot":
        snapshot = cls()
        for patch in PATCHES.values():
            for target in patch.targets:
                if target.kind != USES:
                    found = resolve(target.symbol)
                    snapshot.objects[(patch.name, target.symbol)] = dict(found) if isinstance(found, dict) else found
        return snapshot

    def unchanged(self) -> list[str]:
        """Recorded symbols that are as they were: a patch that does not replace what it says."""
        left = []
        for patch in PATCHES.values():
            for target in patch.targets:
                if target.kind == USES:
                    continue
                before = self.objects[(patch.name, target.symbol)]
                now = resolve(target.symbol)
                same = before == now if isinstance(now, dict) else before is now
                if same:
                    left.append(f"{patch.name} {target.kind} {target.symbol}, but it is unchanged after the patch")
        return left
