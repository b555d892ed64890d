"""Scenarios: what the simulator draws and which mechanisms it compares (SPEC §7).

A :class:`Scenario` is data: sizes, value distributions (frozen ``scipy.stats``
distributions), a CTR generator, a user model and mechanism names. It loads from TOML
(:func:`load_scenario`); unknown keys and bad values are rejected with the key's name.

TOML format::

    name = "mnl-10x5"            # optional label
    n = 10                       # advertisers
    m = 5                        # positions
    k = 3                        # at most k shown (optional, default min(n, m))
    model = "mnl"                # "mnl", "independent", "cascade", or a table:
                                 # model = { name = "cascade", decay = 0.9 }
    mechanisms = ["vcg", "myerson", "gsp_separable", "vcg_independent"]
    ctr = "nonseparable"         # "separable", "nonseparable", "context" or "fixed"
    s = 0.5                      # non-separability (nonseparable only)
    # p = [[0.1, 0.05], ...]     # the fixed (n, m) matrix (ctr = "fixed" only)

    [values]                     # i.i.d. values: any continuous scipy.stats distribution,
    dist = "uniform"             # its parameters as keys
    loc = 0.0
    scale = 1.0

    # or per advertiser, groups that add up to n:
    # [[values]]
    # dist = "lognorm"
    # s = 0.5
    # scale = 2.0
    # count = 3

A mechanism name is a key of :data:`auctions.MECHANISMS`, optionally with a
winner-determination method after a colon (``"vcg:greedy"``): the approximate rules.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import numbers
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.stats
from scipy.stats._distn_infrastructure import rv_continuous_frozen

from models import MNL, Cascade, Independent, UserModel

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover
    import tomli as tomllib

__all__ = ["CTR_GENERATORS", "MODELS", "Scenario", "ScenarioError", "load_scenario", "parse_scenario"]

#: User models a TOML file may name.
MODELS = {"mnl": MNL, "independent": Independent, "cascade": Cascade}
#: CTR generators a scenario may name.
CTR_GENERATORS = ("separable", "nonseparable", "context", "fixed")


class ScenarioError(ValueError):
    """A scenario (or scenario file) is invalid; the message names the key."""


@dataclasses.dataclass(frozen=True)
class Scenario:
    """One simulated market: sizes, priors, CTR generator, user model, mechanisms.

    Parameters
    ----------
    n, m : int
        Advertisers and positions.
    k : int, optional
        At most ``k`` creatives shown; ``None`` means ``min(n, m)``.
    model : UserModel
        How users click, e.g. ``MNL()``. Default ``MNL()``.
    values : frozen scipy.stats distribution, or a sequence of ``n`` of them
        Values per click, i.i.d. or one distribution per advertiser. Also the priors that
        Myerson's mechanism knows. Default ``uniform(0, 1)``.
    ctr : {"nonseparable", "separable", "context", "fixed"}
        CTR generator (:mod:`models.ctr`). Default ``"nonseparable"``.
    s : float
        Non-separability of the ``"nonseparable"`` generator. Default 0.5.
    p : (n, m) array_like, optional
        The matrix of the ``"fixed"`` generator (given ``p``, ``ctr`` defaults to it).
    mechanisms : sequence of str
        Registered mechanism names, optionally ``"name:method"``. Default ``("vcg",
        "myerson")``.
    name : str
        A label for tables.

    Examples
    --------
    >>> import scipy.stats as st
    >>> from models import MNL
    >>> from sim import Scenario
    >>> sc = Scenario(n=10, m=5, k=3, model=MNL(), values=st.uniform(0, 1),
    ...               mechanisms=("vcg", "myerson"))
    >>> sc.ctr, sc.s, sc.k
    ('nonseparable', 0.5, 3)
    """

    n: int
    m: int
    k: int | None = None
    model: UserModel = dataclasses.field(default_factory=MNL)
    values: object = dataclasses.field(default_factory=lambda: scipy.stats.uniform(0, 1))
    ctr: str | None = None
    s: float = 0.5
    p: object = None
    mechanisms: tuple = ("vcg", "myerson")
    name: str = ""

    def __post_init__(self):
        set_ = lambda key, value: object.__setattr__(self, key, value)  # noqa: E731
        for key in ("n", "m"):
            x = getattr(self, key)
            if isinstance(x, bool) or not isinstance(x, numbers.Integral) or x < 1:
                raise ScenarioError(f"{key} must be a positive int, got {x!r}")
            set_(key, int(x))
        if self.k is None:
            set_("k", min(self.n, self.m))
        elif isinstance(self.k, bool) or not isinstance(self.k, numbers.Integral) or not 1 <= self.k <= self.m:
            raise ScenarioError(f"k must be an int between 1 and m={self.m}, got {self.k!r}")
        set_("k", int(self.k))
        if not isinstance(self.model, UserModel):
            raise ScenarioError(f"model must be a user model such as MNL(), got {type(self.model).__name__}")
        set_("values", _check_values(self.values, self.n))
        if self.p is not None:
            p = np.array(self.p, dtype=float)
            if p.shape != (self.n, self.m):
                raise ScenarioError(f"p must have shape (n, m) = ({self.n}, {self.m}), got {p.shape}")
            if not np.all(np.isfinite(p)) or np.any(p < 0) or np.any(p >= 1):
                raise ScenarioError("p must be finite CTRs in [0, 1)")
            p.setflags(write=False)
            set_("p", p)
        ctr = self.ctr if self.ctr is not None else ("fixed" if self.p is not None else "nonseparable")
        if ctr not in CTR_GENERATORS:
            raise ScenarioError(f"ctr must be one of {list(CTR_GENERATORS)}, got {ctr!r}")
        if (ctr == "fixed") != (self.p is not None):
            raise ScenarioError("p: give the matrix exactly when ctr = 'fixed'")
        set_("ctr", ctr)
        if isinstance(self.s, bool) or not isinstance(self.s, numbers.Real) or not np.isfinite(self.s) or self.s < 0:
            raise ScenarioError(f"s must be a finite number >= 0, got {self.s!r}")
        set_("s", float(self.s))
        mechanisms = (self.mechanisms,) if isinstance(self.mechanisms, str) else tuple(self.mechanisms)
        if not mechanisms:
            raise ScenarioError("mechanisms must name at least one mechanism")
        for name in mechanisms:
            _check_mechanism(name, self.model)
        if len(set(mechanisms)) != len(mechanisms):
            raise ScenarioError(f"mechanisms must not repeat a name, got {list(mechanisms)}")
        set_("mechanisms", mechanisms)
        if not isinstance(self.name, str):
            raise ScenarioError(f"name must be a string, got {self.name!r}")

    @property
    def priors(self):
        """The value distributions as Myerson takes them: one shared, or a list of ``n``."""
        return list(self.values) if isinstance(self.values, tuple) else self.values

    def draw_values(self, rng, size: int) -> np.ndarray:
        """``(size, n)`` values per click from the scenario's distributions."""
        if isinstance(self.values, tuple):
            out = np.empty((size, self.n))
            for i, dist in enumerate(self.values):
                out[:, i] = dist.rvs(size=size, random_state=rng)
        else:
            out = np.asarray(self.values.rvs(size=(size, self.n), random_state=rng), dtype=float)
        return np.maximum(out, 0.0)

    def draw_ctr(self, rng, size: int) -> np.ndarray:
        """``(size, n, m)`` standalone CTRs from the scenario's generator."""
        from models import ctr as gen

        if self.ctr == "fixed":
            return np.broadcast_to(self.p, (size, self.n, self.m))
        if self.ctr == "nonseparable":
            return gen.nonseparable(self.n, self.m, self.s, rng=rng, size=size)
        if self.ctr == "separable":
            return gen.separable(self.n, self.m, rng=rng, size=size)
        return gen.context(self.n, self.m, rng=rng, size=size)

    def describe(self) -> dict:
        """A JSON-able description, the identity of the scenario for checkpoints."""
        vals = self.values if isinstance(self.values, tuple) else (self.values,)
        return {
            "name": self.name, "n": self.n, "m": self.m, "k": self.k,
            "model": _describe_model(self.model),
            "values": [_describe_dist(d) for d in vals],
            "ctr": self.ctr, "s": self.s,
            "p": None if self.p is None else hashlib.sha256(self.p.tobytes()).hexdigest(),
            "mechanisms": list(self.mechanisms),
        }

    def fingerprint(self) -> str:
        """A short hash of :meth:`describe`."""
        blob = json.dumps(self.describe(), sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def replace(self, **changes) -> "Scenario":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


def _describe_model(model) -> dict:
    out = {"type": type(model).__name__}
    for key, value in sorted(vars(model).items()):
        if isinstance(value, np.ndarray):
            value = hashlib.sha256(value.tobytes()).hexdigest()
        out[key] = value
    return out


def _describe_dist(dist) -> dict:
    return {"dist": dist.dist.name, "args": [float(a) for a in dist.args],
            "kwds": {k: float(v) for k, v in sorted(dist.kwds.items())}}


def _check_values(values, n):
    if isinstance(values, Sequence) and not isinstance(values, str):
        values = tuple(values)
        if len(values) != n:
            raise ScenarioError(f"values must be one distribution or a sequence of n={n}, got {len(values)}")
    else:
        values = values
    for dist in values if isinstance(values, tuple) else (values,):
        if not isinstance(dist, rv_continuous_frozen):
            raise ScenarioError(
                "values must be frozen continuous scipy.stats distributions "
                f"(e.g. scipy.stats.uniform(0, 1)), got {type(dist).__name__}")
        lo = float(dist.support()[0])
        if not lo >= 0.0:
            raise ScenarioError(f"values: {dist.dist.name} has support below 0 (values per click are >= 0)")
    return values


def _check_mechanism(spec, model):
    from auctions import MECHANISMS
    from auctions.allocation import methods

    if not isinstance(spec, str):
        raise ScenarioError(f"mechanisms must be names, got {spec!r}")
    name, _, method = spec.partition(":")
    if name not in MECHANISMS:
        raise ScenarioError(f"mechanisms: unknown mechanism {name!r}; known: {sorted(MECHANISMS)}")
    if method:
        try:
            known = methods(model)
        except TypeError as exc:
            raise ScenarioError(f"mechanisms: {exc}") from None
        if method not in known:
            raise ScenarioError(f"mechanisms: method {method!r} of {spec!r} is not one of {list(known)}")


# --- TOML ---------------------------------------------------------------------------------

_KEYS = {"name", "n", "m", "k", "model", "mechanisms", "ctr", "s", "p", "values"}


def load_scenario(path) -> Scenario:
    """Read a scenario from a TOML file (format in the module docstring).

    Raises
    ------
    ScenarioError
        For a missing or unreadable file, invalid TOML, an unknown key or a bad value; the
        message names the key.

    Examples
    --------
    >>> import tempfile, os
    >>> from sim import load_scenario
    >>> path = os.path.join(tempfile.mkdtemp(), "s.toml")
    >>> _ = open(path, "w").write('n = 4\\nm = 2\\nk = 1\\n[values]\\ndist = "uniform"\\n')
    >>> load_scenario(path).n
    4
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise ScenarioError(f"cannot read scenario file {str(path)!r}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path.name}: invalid TOML: {exc}") from None
    return parse_scenario(data, default_name=path.stem)


def parse_scenario(data: dict, *, default_name: str = "") -> Scenario:
    """Build a :class:`Scenario` from the dictionary of a TOML file."""
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise ScenarioError(f"unknown key {unknown[0]!r} (known: {sorted(_KEYS)})")
    for key in ("n", "m"):
        if key not in data:
            raise ScenarioError(f"missing key {key!r}")
    kw = {key: data[key] for key in ("n", "m", "k", "s", "ctr", "name", "p") if key in data}
    kw.setdefault("name", default_name)
    if "ctr" in kw and not isinstance(kw["ctr"], str):
        raise ScenarioError(f"ctr must be a string, got {kw['ctr']!r}")
    if "mechanisms" in data:
        mechs = data["mechanisms"]
        if isinstance(mechs, str):
            mechs = [mechs]
        if not isinstance(mechs, list):
            raise ScenarioError(f"mechanisms must be a list of names, got {mechs!r}")
        kw["mechanisms"] = tuple(mechs)
    if "model" in data:
        kw["model"] = _parse_model(data["model"])
    if "values" in data:
        kw["values"] = _parse_values(data["values"], data.get("n"))
    return Scenario(**kw)


def _parse_model(spec):
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, dict) or "name" not in spec:
        raise ScenarioError(f"model must be a name or a table with a 'name', got {spec!r}")
    spec = dict(spec)
    name = spec.pop("name")
    if name not in MODELS:
        raise ScenarioError(f"model must be one of {sorted(MODELS)}, got {name!r}")
    try:
        return MODELS[name](**spec)
    except TypeError as exc:
        raise ScenarioError(f"model: bad option for {name!r}: {exc}") from None
    except ValueError as exc:
        raise ScenarioError(f"model: {exc}") from None


def _parse_dist(spec, where):
    if not isinstance(spec, dict):
        raise ScenarioError(f"{where} must be a table with a 'dist' key, got {spec!r}")
    spec = dict(spec)
    spec.pop("count", None)
    if "dist" not in spec:
        raise ScenarioError(f"{where}.dist is missing")
    name = spec.pop("dist")
    family = getattr(scipy.stats, name, None) if isinstance(name, str) else None
    if not isinstance(family, scipy.stats.rv_continuous):
        raise ScenarioError(f"{where}.dist must name a continuous scipy.stats distribution, got {name!r}")
    allowed = set((family.shapes or "").replace(" ", "").split(",")) - {""} | {"loc", "scale"}
    for key, value in spec.items():
        if key not in allowed:
            raise ScenarioError(f"{where}: unknown key {key!r} for {name} (known: {sorted(allowed) + ['count', 'dist']})")
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
            raise ScenarioError(f"{where}.{key} must be a finite number, got {value!r}")
    dist = family(**spec)
    try:
        ok = bool(np.all(np.isfinite(dist.support()))) or np.isfinite(dist.mean())
    except Exception:  # noqa: BLE001 - scipy raises assorted errors for invalid shapes
        ok = False
    if not ok or not np.isfinite(dist.ppf(0.5)):
        raise ScenarioError(f"{where}: invalid parameters {spec} for {name}")
    return dist


def _parse_values(spec, n):
    if isinstance(spec, dict):
        if "count" in spec:
            raise ScenarioError("values.count is only for per-advertiser groups ([[values]])")
        return _parse_dist(spec, "values")
    if not isinstance(spec, list) or not spec:
        raise ScenarioError(f"values must be a table or a list of tables, got {spec!r}")
    out = []
    for g, group in enumerate(spec):
        where = f"values[{g}]"
        count = group.get("count", 1) if isinstance(group, dict) else 1
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ScenarioError(f"{where}.count must be a positive int, got {count!r}")
        out.extend([_parse_dist(group, where)] * count)
    if n is not None and len(out) != n:
        raise ScenarioError(f"values: the groups' counts add up to {len(out)}, but n = {n}")
    return tuple(out)
