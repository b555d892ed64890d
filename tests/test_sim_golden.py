"""Small golden versions of the built-in tables (regenerate: python -m sim.tables_golden)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.tables import TABLES, build_table

GOLDEN = Path(__file__).parent / "golden"
RTOL = 1e-7   # fixed tolerance: same draws, floating-point differences across platforms only


@pytest.mark.parametrize("table", TABLES)
def test_table_matches_golden(table):
    expected = pd.read_csv(GOLDEN / f"{table}.csv")
    got = build_table(table, size="golden")
    got = pd.read_csv(pd.io.common.StringIO(got.to_csv(index=False, float_format="%.10g")))
    assert list(got.columns) == list(expected.columns)
    for col in expected.columns:
        if pd.api.types.is_numeric_dtype(expected[col]):
            np.testing.assert_allclose(got[col], expected[col], rtol=RTOL, atol=1e-12, err_msg=col)
        else:
            assert list(got[col]) == list(expected[col]), col
