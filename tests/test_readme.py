"""The README's auction example runs and prints what the README says it prints."""
import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_ten_line_example_output_matches_readme():
    text = README.read_text()
    match = re.search(r"## Auctions in ten lines\n\n```python\n(.*?)```\n\n```text\n(.*?)```", text, re.S)
    assert match, "the README lost its ten-line example"
    code, expected = match.groups()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    assert out.getvalue() == expected
