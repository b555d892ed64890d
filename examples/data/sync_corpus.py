"""Copy the example corpus into the package, where the simulator reads it.

``examples/data/answers/*.md`` and ``examples/data/ads.csv`` are the editable sources;
``models/data/answers.json`` and ``models/data/ads.csv`` are what ships with the package
(flat files, loaded with importlib.resources). ``tests/test_context.py`` fails when the two
drift apart. Run after editing the corpus:

    python examples/data/sync_corpus.py
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGE_DATA = HERE.parents[1] / "models" / "data"


def corpus_answers() -> dict[str, str]:
    """Answer name (file stem) to its Markdown text, sorted by name."""
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted((HERE / "answers").glob("*.md"))}


def main() -> None:
    PACKAGE_DATA.mkdir(exist_ok=True)
    text = json.dumps(corpus_answers(), indent=1, ensure_ascii=False) + "\n"
    (PACKAGE_DATA / "answers.json").write_text(text, encoding="utf-8")
    shutil.copyfile(HERE / "ads.csv", PACKAGE_DATA / "ads.csv")
    print(f"wrote {PACKAGE_DATA / 'answers.json'} and {PACKAGE_DATA / 'ads.csv'}")


if __name__ == "__main__":
    main()
