"""Regenerate ``tests/golden/*.csv``: ``python -m sim.tables_golden [DIR]``.

Only after a deliberate change to the draws or the mechanisms; the golden test compares
a fresh run of each table at size ``"golden"`` with these files.
"""
from __future__ import annotations

import sys
from pathlib import Path

from .engine import atomic_write_text
from .tables import TABLES, build_table


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else Path(__file__).resolve().parents[1] / "tests" / "golden"
    out.mkdir(parents=True, exist_ok=True)
    for table in TABLES:
        df = build_table(table, size="golden")
        atomic_write_text(out / f"{table}.csv", df.to_csv(index=False, float_format="%.10g"))
        print(f"wrote {out / (table + '.csv')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
