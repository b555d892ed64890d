"""``aigc-auctions place``: parsed by argparse, run with a small deterministic embedder."""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np
import pytest

import models
from embedders import BagOfWords
from models.context import ContextScorer
from models.text import BEGIN_MARKER, remove_creatives, split_positions
from sim import place

ROOT = Path(__file__).resolve().parents[1]
ANSWER = ROOT / "examples/data/answers/recipe-carbonara.md"
ADS = ROOT / "examples/data/ads.csv"


def parse(*argv):
    parser = argparse.ArgumentParser(prog="aigc-auctions")
    place.add_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["place", *map(str, argv)])


def run(*argv, capsys):
    """Exit status, stdout and stderr of ``aigc-auctions place ARGV``."""
    args = parse(*argv)
    assert args.func is place.run
    status = place.run(args, scorer=ContextScorer(BagOfWords()))
    out, err = capsys.readouterr()
    return status, out, err


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_markdown_output(capsys):
    status, out, err = run(ANSWER, ADS, capsys=capsys)
    assert status == 0, err
    page, table = out.split("\n\n| ad | position |")
    assert page.count(BEGIN_MARKER) == page.count("> **Sponsored** · ") == 2  # default k
    rows = [line for line in table.splitlines() if re.match(r"\| [\w-]+ \| \d+ \|", line)]
    assert len(rows) == 2
    for row in rows:
        ad_id = row.split("|")[1].strip()
        text = next(line for line in ADS.read_text().splitlines() if line.startswith(ad_id + ","))
        assert text.split('"')[1] in page
    assert "welfare" in out and "revenue" in out
    assert remove_creatives(page + "\n").rstrip("\n") == ANSWER.read_text().rstrip("\n")


def test_json_output(capsys):
    status, out, err = run(ANSWER, ADS, "--json", "--k", "3", capsys=capsys)
    assert status == 0, err
    result = json.loads(out)
    assert result["mechanism"] == "vcg" and result["model"] == "mnl" and result["k"] == 3
    original = ANSWER.read_text(encoding="utf-8")
    assert result["positions"] == len(split_positions(original))
    assert remove_creatives(result["answer"]) == original
    winners = result["winners"]
    assert 1 <= len(winners) <= 3
    assert [w["position"] for w in winners] == sorted({w["position"] for w in winners})
    assert result["answer"].count(BEGIN_MARKER) == len(winners)
    for w in winners:
        assert 0 < w["p"] < 1 and 0 < w["ctr"] <= w["p"]  # MNL: others take clicks away
        assert 0 <= w["price_per_click"] <= w["bid"] + 1e-12  # individually rational
        assert w["payment"] == pytest.approx(w["price_per_click"] * w["ctr"])
        assert result["answer"].index(w["text"]) > 0
    assert result["revenue"] == pytest.approx(sum(w["payment"] for w in winners))


def test_k_one_and_other_mechanisms_and_models(capsys):
    for extra in (["--k", "1"], ["--mechanism", "myerson"], ["--model", "independent"],
                  ["--mechanism", "myerson", "--prior-mean", "0.5", "--k", "4"]):
        status, out, err = run(ANSWER, ADS, "--json", *extra, capsys=capsys)
        assert status == 0, (extra, err)
        result = json.loads(out)
        assert len(result["winners"]) <= result["k"]
        assert remove_creatives(result["answer"]) == ANSWER.read_text(encoding="utf-8")
    status, out, _ = run(ANSWER, ADS, "--json", "--k", "1", capsys=capsys)
    assert len(json.loads(out)["winners"]) == 1


def test_myerson_reserve_excludes_low_bids(tmp_path, capsys):
    ads = write(tmp_path, "ads.csv", "id,text,bid\nlow,Fresh pasta and guanciale,0.4\n"
                                     "high,Pecorino cheese and eggs,3.0\n")
    status, out, err = run(ANSWER, ads, "--json", "--mechanism", "myerson", "--prior-mean", "1",
                           capsys=capsys)
    assert status == 0, err
    assert [w["id"] for w in json.loads(out)["winners"]] == ["high"]


def test_cascade_model(capsys):
    if not hasattr(models, "Cascade"):
        pytest.skip("models.Cascade is not in this version")
    status, out, err = run(ANSWER, ADS, "--model", "cascade", "--json", capsys=capsys)
    assert status == 0, err
    result = json.loads(out)
    assert result["model"] == "cascade" and 1 <= len(result["winners"]) <= 2
    assert remove_creatives(result["answer"]) == ANSWER.read_text(encoding="utf-8")


def test_missing_cascade_model_is_a_clear_error(monkeypatch, capsys):
    monkeypatch.delattr(models, "Cascade", raising=False)
    status, out, err = run(ANSWER, ADS, "--model", "cascade", capsys=capsys)
    assert status == 2 and out == ""
    assert "cascade" in err and "models.Cascade" in err


def test_theta_option_reaches_the_default_scorer(monkeypatch, capsys):
    import models.context

    thetas = []

    def scorer(*, theta):
        thetas.append(theta)
        return ContextScorer(BagOfWords(), theta=theta)

    monkeypatch.setattr(models.context, "ContextScorer", scorer)
    args = parse(ANSWER, ADS, "--theta", "-3", "2", "0.5")
    assert place.run(args) == 0
    args = parse(ANSWER, ADS)
    assert place.run(args) == 0
    assert thetas == [[-3.0, 2.0, 0.5], models.context.DEFAULT_THETA]


def test_malformed_rows_are_reported_with_line_numbers(tmp_path, capsys):
    ads = write(tmp_path, "ads.csv", "\n".join([
        "id,text,bid,url",                             # 1
        "good,Fresh pasta,1.0,https://a.example/",     # 2
        "short,Missing the bid",                       # 3
        "nan-bid,Some text,abc,",                      # 4
        "neg,Some text,-0.5,",                         # 5
        "empty-text,   ,1.0,",                         # 6
        '"multi","A quoted text',                      # 7
        'over two lines",2.0,',                        # 8
        "good,Duplicate id,1.0,",                      # 9
        "inf,Text,inf,",                               # 10
        ",No id,1.0,",                                 # 11
        "",                                            # 12 (blank: skipped)
        "fine,Another good row,0,",                    # 13
        "extra,Too,1.0,u,more",                        # 14
    ]) + "\n")
    status, out, err = run(ANSWER, ads, capsys=capsys)
    assert status == 2 and out == ""
    lines = err.strip().splitlines()
    assert [int(line.split(":")[1]) for line in lines] == [3, 4, 5, 6, 9, 10, 11, 14]
    assert all(line.startswith(f"{ads}:") for line in lines)
    problems = [line.split(": ", 1)[1] for line in lines]
    assert "missing column" in problems[0]
    assert "'abc' is not a number" in problems[1]
    assert "negative bid" in problems[2]
    assert "empty text" in problems[3]
    assert "duplicate id 'good' (first on line 2)" in problems[4]
    assert "not finite" in problems[5]
    assert "empty id" in problems[6]
    assert "too many fields" in problems[7]


def test_quoted_multiline_text_and_bom_are_fine(tmp_path, capsys):
    ads = write(tmp_path, "ads.csv", '\ufeffid,text,bid\na,"Pasta,\nfresh",1.0\nb,Cheese,0.5\n')
    status, out, err = run(ANSWER, ads, "--json", capsys=capsys)
    assert status == 0, err
    assert {w["id"] for w in json.loads(out)["winners"]} <= {"a", "b"}


@pytest.mark.parametrize("content, message", [
    ("id,text\na,Pasta\n", ":1: header lacks column(s) bid"),
    ("", ":1: empty file"),
    ("id,text,bid\n", "no creatives"),
])
def test_bad_header_or_no_rows(tmp_path, capsys, content, message):
    status, out, err = run(ANSWER, write(tmp_path, "ads.csv", content), capsys=capsys)
    assert status == 2 and message in err and out == ""


@pytest.mark.parametrize("answer_text, argv, message", [
    (None, [], "cannot read ANSWER"),
    ("  \n\n", [], "is empty"),
    ("# Only a heading\n", [], "no insertion position"),
    ("One sentence. Two sentences.", ["--k", "3"], "--k 3 exceeds the 2 insertion positions"),
])
def test_bad_answer(tmp_path, capsys, answer_text, argv, message):
    answer = tmp_path / "missing.md"
    if answer_text is not None:
        answer = write(tmp_path, "answer.md", answer_text)
    status, out, err = run(answer, ADS, *argv, capsys=capsys)
    assert status == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1


def test_missing_ads_file(tmp_path, capsys):
    status, out, err = run(ANSWER, tmp_path / "nope.csv", capsys=capsys)
    assert status == 2 and "cannot read ADS.csv" in err and len(err.strip().splitlines()) == 1


def test_one_sentence_answer_gets_its_creative_at_the_end(tmp_path, capsys):
    answer = write(tmp_path, "a.txt", "Spaghetti carbonara uses eggs and Pecorino cheese.\n")
    status, out, err = run(answer, ADS, "--json", capsys=capsys)
    assert status == 0, err
    result = json.loads(out)
    assert result["k"] == 1 and [w["position"] for w in result["winners"]] == [0]
    assert remove_creatives(result["answer"]) == answer.read_text()


@pytest.mark.parametrize("argv", [["--k", "0"], ["--k", "two"], ["--model", "logit"],
                                  ["--mechanism", "gsp"], ["--prior-mean", "-1"]])
def test_argparse_rejects_bad_options(argv):
    with pytest.raises(SystemExit) as exc:
        parse(ANSWER, ADS, *argv)
    assert exc.value.code == 2


def test_read_ads_returns_creatives_and_bids():
    creatives, bids = place.read_ads(ADS)
    assert len(creatives) == len(bids) >= 30
    assert bids.dtype == float and np.all(bids > 0)
    assert creatives[0].url.startswith("https://")
