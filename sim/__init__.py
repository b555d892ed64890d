"""The Monte-Carlo simulator, the built-in tables and the ``aigc-auctions`` command (SPEC §7).

    >>> import scipy.stats as st
    >>> from models import MNL
    >>> from sim import Scenario, simulate
    >>> sc = Scenario(n=10, m=5, k=3, model=MNL(), values=st.uniform(0, 1))
    >>> res = simulate(sc, auctions=1000, rng=0)
    >>> list(res.summary.columns)[:7]
    ['welfare', 'welfare_se', 'revenue', 'revenue_se', 'clicks', 'shown', 'welfare_share']
"""
from .engine import BLOCK_SIZE, SimulationResult, simulate
from .scenario import Scenario, ScenarioError, load_scenario, parse_scenario

__all__ = ["BLOCK_SIZE", "Scenario", "ScenarioError", "SimulationResult", "load_scenario",
           "parse_scenario", "simulate"]
