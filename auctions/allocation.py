"""Winner determination (SPEC §3): the solver registry and :func:`allocate`.

A solver is registered for a user-model type under a method name. :func:`allocate` looks
the solver up from the model's type (walking its MRO, so subclasses inherit solvers); no
``isinstance`` chains. Solvers that have a Numba kernel also declare it, so that VCG and the
batch simulator can run the whole mechanism inside compiled code.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np

from models import MNL, Independent

from . import _kernels
from ._validation import check_instance
from .outcome import Allocation, frozen_array


@dataclass(frozen=True)
class Solver:
    """A winner-determination method for one family of user models.

    ``solve(scores, p, model, k)`` returns ``(assignment, order)``. ``kernel(p, model)``,
    when present, returns ``(code, q)`` for :func:`auctions._kernels.optimum`.
    ``vcg(bids, p, model, k)``, when present, returns ``(Allocation, payments)`` of VCG
    computed in one pass that shares work across the re-solves, or None for models it has
    no shortcut for.
    """

    name: str
    solve: Callable
    exact: bool
    kernel: Callable | None = None
    vcg: Callable | None = None


_SOLVERS: dict[type, dict[str, Solver]] = {}
_CHOOSERS: dict[type, Callable] = {}


def register_solver(model_type: type, solver: Solver, *, default: bool = False) -> Solver:
    """Make ``solver`` available as ``allocate(..., method=solver.name)`` for ``model_type``.

    With ``default=True`` it is what ``method="auto"`` picks, unless a chooser is registered
    with :func:`register_chooser`.
    """
    _SOLVERS.setdefault(model_type, {})[solver.name] = solver
    if default:
        _CHOOSERS[model_type] = lambda scores, p, model, k, _s=solver: _s
    return solver


def register_chooser(model_type: type, chooser: Callable) -> None:
    """``chooser(scores, p, model, k) -> Solver`` decides what ``method="auto"`` runs."""
    _CHOOSERS[model_type] = chooser


def _table(model, registry):
    for cls in type(model).__mro__:
        if cls in registry:
            return registry[cls]
    raise TypeError(f"model: no winner-determination solver is registered for {type(model).__name__}")


def methods(model) -> tuple[str, ...]:
    """The method names ``allocate`` accepts for ``model`` (besides ``"auto"``)."""
    return tuple(_table(model, _SOLVERS))


def get_solver(scores, p, model, k, method: str) -> Solver:
    """The solver ``allocate`` would run (``method="auto"`` resolved)."""
    if method == "auto":
        return _table(model, _CHOOSERS)(scores, p, model, k)
    table = _table(model, _SOLVERS)
    if method not in table:
        raise ValueError(f"method must be 'auto' or one of {sorted(table)} for {model!r}, got {method!r}")
    return table[method]


def allocate(scores, p, *, model, k=None, method="auto") -> Allocation:
    """Find the augmented allocation that maximises ``sum_i scores[i] * pi_i`` (SPEC §3).

    Parameters
    ----------
    scores : (n,) array_like
        Bids for welfare, virtual values for revenue. Creatives with a score ``<= 0`` are
        never shown.
    p : (n, m) array_like
        Standalone CTRs in ``[0, 1)``.
    model : UserModel
        ``MNL()``, ``Independent()`` or ``Cascade()``.
    k : int, optional
        At most ``k`` creatives are shown; ``None`` means ``min(n, m)``.
    method : str
        ``"auto"`` (the best exact method available), or a method registered for the model:
        ``"matching"`` / ``"lp"`` for ``Independent``, ``"dinkelbach"`` / ``"lp"`` for ``MNL``.

    Returns
    -------
    Allocation

    Examples
    --------
    >>> import numpy as np
    >>> from auctions import allocate
    >>> from models import MNL
    >>> p = np.array([[0.5, 0.4], [0.3, 0.2], [0.2, 0.1]])
    >>> a = allocate([1.0, 0.9, 0.2], p, model=MNL(), k=2)
    >>> a.assignment, round(a.value, 4)
    (array([ 0,  1, -1]), 0.5444)
    """
    scores, p, model, k = check_instance(scores, p, model, k, bids_name="scores", nonnegative=False)
    solver = get_solver(scores, p, model, k, method)
    return solve_with(solver, scores, p, model, k)


def solve_with(solver: Solver, scores, p, model, k) -> Allocation:
    """Run ``solver`` on an already validated instance and package the result."""
    assignment, order = solver.solve(scores, p, model, k)
    ctr = model.ctr(p, assignment, order)
    value = float(np.dot(scores, ctr))
    if solver.exact:
        upper = value
    else:
        upper = independent_upper_bound(scores, p, k)
    ratio = value / upper if upper > 0 else 1.0
    return Allocation(
        assignment=frozen_array(assignment, dtype=np.int64),
        order=frozen_array(order, dtype=np.int64),
        ctr=frozen_array(ctr),
        value=value,
        method=solver.name,
        exact=solver.exact,
        upper_bound=float(upper),
        ratio=float(ratio),
    )


class ApproximateRuleWarning(UserWarning):
    """A mechanism whose truthfulness rests on an exact rule ran an approximate one."""


def warn_if_approximate(mechanism: str, allocation: Allocation, method: str) -> None:
    """VCG and Myerson are truthful only on an exact rule; say so when ``auto`` fell back
    (asking for an approximate method by name needs no warning)."""
    if method == "auto" and not allocation.exact:
        warnings.warn(
            f"{mechanism} ran the approximate rule {allocation.method!r} (the instance is beyond "
            f"the exact budget): payments are not guaranteed truthful; certified ratio "
            f"{allocation.ratio:.3f}",
            ApproximateRuleWarning,
            stacklevel=3,
        )


def independent_upper_bound(scores, p, k) -> float:
    """The independent-model optimum: an upper bound on every model's optimum (SPEC §3.3)."""
    assign = np.empty(p.shape[0], dtype=np.int64)
    return float(_kernels.optimum(_kernels.INDEPENDENT, np.maximum(scores, 0.0), p, k, assign))


def text_order(assignment) -> np.ndarray:
    """Occupied positions in text order: the rendering order of order-insensitive models."""
    # A few positions at most: plain Python beats three NumPy calls on arrays this small.
    return np.array(sorted(j for j in assignment.tolist() if j >= 0), dtype=np.int64)


def _kernel_solver(code_and_q):
    def solve(scores, p, model, k):
        code, q = code_and_q(p, model)
        assign = np.empty(p.shape[0], dtype=np.int64)
        _kernels.optimum(code, scores, q, k, assign)
        return assign, text_order(assign)

    return solve


def _independent_kernel(p, model):
    return _kernels.INDEPENDENT, p


def _mnl_kernel(p, model):
    return _kernels.MNL, model.weights(p)


def _charnes_cooper(scores, num_weight, den_weight, k):
    """Solve ``max sum a w x / (1 + sum d x)`` over matchings with ``<= k`` edges as an LP.

    Charnes-Cooper: ``y = x * y0`` with ``y0 + sum d y = 1`` turns the linear-fractional
    objective into a linear one over the homogenised matching polytope, whose vertices are
    the (integral) matchings.
    """
    import cvxpy as cp

    n, m = num_weight.shape
    y = cp.Variable((n, m), nonneg=True)
    y0 = cp.Variable(nonneg=True)
    c = scores[:, None] * num_weight
    keep = c > 0  # a pair with a non-positive score never helps the objective
    constraints = [
        cp.sum(y, axis=1) <= y0,
        cp.sum(y, axis=0) <= y0,
        cp.sum(y) <= k * y0,
        y0 + cp.sum(cp.multiply(den_weight, y)) == 1,
        cp.multiply(~keep, y) == 0,
    ]
    problem = cp.Problem(cp.Maximize(cp.sum(cp.multiply(c, y))), constraints)
    # SciPy's HiGHS dual simplex: returns a vertex, ships with scipy, prints nothing.
    problem.solve(solver=cp.SCIPY, scipy_options={"method": "highs-ds"})
    if problem.status != cp.OPTIMAL:
        raise RuntimeError(f"the Charnes-Cooper LP ended with status {problem.status}")
    x = np.asarray(y.value) / float(y0.value)
    assign = np.full(n, -1, dtype=np.int64)
    rows, cols = np.nonzero(x > 0.5)
    assign[rows] = cols
    return assign


def _lp_solver(weights_of, *, fractional):
    """The LP method; ``fractional`` says whether the objective has the MNL denominator."""

    def solve(scores, p, model, k):
        w = weights_of(p, model)
        assign = _charnes_cooper(scores, w, w if fractional else np.zeros_like(w), k)
        return assign, text_order(assign)

    return solve


register_solver(
    Independent,
    Solver("matching", _kernel_solver(_independent_kernel), exact=True, kernel=_independent_kernel),
    default=True,
)
register_solver(Independent, Solver("lp", _lp_solver(lambda p, model: p, fractional=False), exact=True))
register_solver(
    MNL, Solver("dinkelbach", _kernel_solver(_mnl_kernel), exact=True, kernel=_mnl_kernel), default=True
)
register_solver(
    MNL, Solver("lp", _lp_solver(lambda p, model: model.weights(p), fractional=True), exact=True)
)


def response(solver: Solver, scores, p, model, k, i: int) -> Callable[[float], tuple[float, float]]:
    """``s -> (optimum, pi_i)`` with advertiser ``i``'s score replaced by ``s``.

    The curve whose breakpoints give threshold payments (:mod:`auctions.payments`).
    """
    a = np.array(scores, dtype=float)
    if solver.kernel is not None:
        code, q = solver.kernel(p, model)
        assign = np.empty(a.size, dtype=np.int64)
        pi = np.empty(a.size)

        def solve(s):
            a[i] = s
            value = _kernels.optimum(code, a, q, k, assign)
            _kernels.ctr_into(code, q, assign, pi)
            return value, pi[i]

    else:

        def solve(s):
            a[i] = s
            alloc = solve_with(solver, a, p, model, k)
            return alloc.value, alloc.ctr[i]

    return solve
