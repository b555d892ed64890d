"""The ``aigc-auctions`` command line: reproduce --quick, simulate, and exit code 2."""
from __future__ import annotations

import pandas as pd
import pytest

from sim.cli import main

GOOD = """
name = "tiny"
n = 4
m = 2
k = 1
model = "mnl"
mechanisms = ["vcg", "myerson"]
[values]
dist = "uniform"
"""


def test_reproduce_quick_writes_tables_and_plots(tmp_path, capsys, monkeypatch):
    import sim.tables as tables

    # The same code path as the real --quick run, on fewer auctions so the suite stays fast.
    monkeypatch.setitem(tables.PROFILES, "quick", tables.PROFILES["golden"])
    assert main(["reproduce", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Table 1" in out and "Table 3" in out and "| mechanism" not in out.splitlines()[0]
    for table in tables.TABLES:
        assert (tmp_path / f"{table}.csv").stat().st_size > 0
        assert (tmp_path / f"{table}.md").read_text().startswith("### ")
    for png in ("welfare_revenue_vs_s.png", "welfare_revenue_vs_k.png"):
        assert (tmp_path / png).read_bytes()[:4] == b"\x89PNG"
    t1 = pd.read_csv(tmp_path / "table1_mnl.csv")
    assert set(t1["mechanism"]) == {"vcg", "myerson", "gsp_separable", "vcg_independent"}
    assert len(t1) == 9 * 4
    assert not list(tmp_path.glob("*.tmp"))


def test_simulate_scenario_file(tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text(GOOD)
    out = tmp_path / "out"
    assert main(["simulate", str(path), "--auctions", "500", "--seed", "3", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "vcg" in printed and "myerson" in printed
    first = pd.read_csv(out / "summary.csv", index_col=0)
    assert main(["simulate", str(path), "--auctions", "500", "--seed", "3", "--workers", "2"]) == 0
    assert first.loc["vcg", "welfare"] > 0


@pytest.mark.parametrize("text, needle", [
    (GOOD + "colour = 3\n", "colour"),
    ("n = 4\nm = 2\nk = [\n", "invalid TOML"),
    (GOOD.replace('dist = "uniform"', 'dist = "uniform"\nwobble = 1'), "wobble"),
    (GOOD.replace("k = 1", "k = 5"), "k must"),
])
def test_bad_scenario_files_exit_2(tmp_path, capsys, text, needle):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    assert main(["simulate", str(path), "--auctions", "10"]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("argv", [
    ["simulate", "missing.toml"],
    ["simulate", "x.toml", "--auctions", "zero"],
    ["simulate", "x.toml", "--workers", "-1"],
    ["simulate", "x.toml", "--seed", "-5"],
    ["reproduce", "--bogus"],
    ["frobnicate"],
    [],
])
def test_bad_flags_exit_2(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("aigc-auctions") and len(err.splitlines()) == 1
