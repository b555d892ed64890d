"""Insertion points in an AI answer, and sponsored blocks written into it (SPEC §8).

An answer (plain text or Markdown) is read as a sequence of *units*: the sentences of its
paragraphs, and whole blocks that must not be cut (fenced or indented code, lists, headings,
block quotes, tables, HTML). A candidate position lies after a unit, so a creative is never
put inside a code block, a list item or a heading. :func:`insert_creatives` writes each
winning creative at its position as a Markdown block quote marked **Sponsored**, wrapped in
a pair of HTML comments; :func:`remove_creatives` deletes exactly those blocks, which gives
back the original answer character for character.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlparse

__all__ = [
    "BEGIN_MARKER", "END_MARKER", "Creative", "Position", "insert_creatives", "remove_creatives",
    "split_positions",
]

#: First and last line of every inserted block. HTML comments are invisible once rendered,
#: and a fixed pair makes the block unambiguous to find and strip.
BEGIN_MARKER = "<!-- sponsored -->"
END_MARKER = "<!-- /sponsored -->"


@dataclass(frozen=True)
class Position:
    """A place in an answer where a creative may be inserted.

    Attributes
    ----------
    index : int
        ``j``, the position's rank in text order (``0..m-1``).
    offset : int
        Character offset in the answer where a creative is inserted: the end of the block
        before the position, or, between two sentences of a paragraph, the start of the
        next sentence (so that it starts its own line after the inserted block).
    before : str
        Plain text of the sentence (or block) before the position.
    after : str
        Plain text of the sentence (or block) after it; ``""`` at the end of the answer.
    depth : int
        How many sentences and blocks a reader has met on reaching the position (``>= 1``).
        The CTR prior falls with it (:func:`models.context.depth_prior`).
    kind : str
        ``"sentence"`` (between two sentences of one paragraph), ``"block"`` (between
        paragraphs or blocks) or ``"end"`` (after the last unit).
    """

    index: int
    offset: int
    before: str
    after: str
    depth: int
    kind: str


@dataclass(frozen=True)
class Creative:
    """An advertiser's creative: a short ad text, with an optional landing page.

    Attributes
    ----------
    id : str
        The advertiser's identifier.
    text : str
        The ad text shown to the user.
    url : str or None
        Landing page, rendered as a link under the text.
    """

    id: str
    text: str
    url: str | None = None


@dataclass(frozen=True)
class _Unit:
    start: int
    end: int  # offset just past the unit's last visible character
    text: str  # plain text, for embedding
    kind: str  # "sentence" or the block type: "heading", "list", "code", ...
    paragraph: int  # which block the unit came from


# --- block structure ----------------------------------------------------------------------

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_HEADING = re.compile(r"^ {0,3}#{1,6}(?:[ \t]|$)")
_SETEXT = re.compile(r"^ {0,3}(?:=+|-+)[ \t]*$")
_BREAK = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_ITEM = re.compile(r"^ {0,3}(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)")
_QUOTE = re.compile(r"^ {0,3}>")
_TABLE = re.compile(r"^ {0,3}\|")
_HTML = re.compile(r"^ {0,3}<[A-Za-z!/?]")
_INDENTED = re.compile(r"^(?: {4}|\t)")


def _lines(answer: str) -> list[tuple[int, str]]:
    """(offset, line without its line break) for every line."""
    out, offset = [], 0
    for raw in answer.splitlines(keepends=True):
        out.append((offset, raw.rstrip("\r\n")))
        offset += len(raw)
    return out


def _blank(line: str) -> bool:
    return not line.strip()


def _starts_block(line: str) -> bool:
    """Whether ``line`` opens a block that interrupts a paragraph (CommonMark)."""
    return any(rx.match(line) for rx in (_FENCE, _HEADING, _BREAK, _ITEM, _QUOTE, _HTML))


def _blocks(answer: str) -> list[tuple[str, int, int]]:
    """Split into (kind, first line, last line + 1) blocks, in text order."""
    lines = _lines(answer)
    text = [line for _, line in lines]
    blocks, i, n = [], 0, len(lines)
    while i < n:
        line = text[i]
        if _blank(line):
            i += 1
            continue
        start = i
        if fence := _FENCE.match(line):
            mark = fence.group(1)
            close = re.compile(rf"^ {{0,3}}{re.escape(mark[0])}{{{len(mark)},}}[ \t]*$")
            i += 1
            while i < n and not close.match(text[i]):
                i += 1
            blocks.append(("code", start, min(i + 1, n)))  # an unclosed fence runs to the end
            i += 1
        elif _HEADING.match(line) or _BREAK.match(line):
            blocks.append(("heading" if _HEADING.match(line) else "break", start, i + 1))
            i += 1
        elif _INDENTED.match(line) and (start == 0 or _blank(text[start - 1])):
            i = _extend(text, i + 1, lambda s: _INDENTED.match(s) is not None)
            blocks.append(("code", start, i))
        elif _ITEM.match(line):
            i = _extend_list(text, i + 1)
            blocks.append(("list", start, i))
        elif _QUOTE.match(line) or _TABLE.match(line) or _HTML.match(line):
            kind = "quote" if _QUOTE.match(line) else "table" if _TABLE.match(line) else "html"
            i += 1
            while i < n and not _blank(text[i]):
                i += 1
            blocks.append((kind, start, i))
        else:
            i += 1
            while i < n and not _blank(text[i]):
                if _SETEXT.match(text[i]):  # before _starts_block: "---" here underlines
                    i += 1
                    break
                if _starts_block(text[i]):
                    break
                i += 1
            setext = i - start > 1 and _SETEXT.match(text[i - 1])
            blocks.append(("heading" if setext else "paragraph", start, i))
    return [(kind, lines[a][0], lines[b - 1][0] + len(text[b - 1])) for kind, a, b in blocks]


def _extend(text: list[str], i: int, belongs) -> int:
    """Past the last line that ``belongs``, crossing blank lines followed by such a line."""
    n = len(text)
    while i < n:
        if belongs(text[i]):
            i += 1
            continue
        j = i
        while j < n and _blank(text[j]):
            j += 1
        if j == i or j == n or not belongs(text[j]):
            break
        i = j
    return i


def _extend_list(text: list[str], i: int) -> int:
    """Past the end of a list that started on line ``i - 1``.

    A list goes on through item lines, indented continuation lines (and blank lines before
    them), and lazy continuation lines that directly follow a non-blank line.
    """
    n = len(text)
    while i < n:
        line = text[i]
        if _ITEM.match(line) or (line[:1] in (" ", "\t") and not _blank(line)):
            i += 1
        elif _blank(line):
            j = i
            while j < n and _blank(text[j]):
                j += 1
            if j < n and (_ITEM.match(text[j]) or text[j][:1] in (" ", "\t")):
                i = j
            else:
                break
        elif not _starts_block(line):
            i += 1  # lazy continuation of the item's paragraph
        else:
            break
    return i


# --- sentences ----------------------------------------------------------------------------

# Spans whose dots and capitals are not sentence structure: inline code, links, URLs.
_OPAQUE = re.compile(r"`+[^`]*`+|!?\[[^\]]*\]\([^)]*\)|<[^>\s]+>|https?://\S+")
_BOUNDARY = re.compile(r"[.!?]+[\"'”’)\]*_]*(\s+)(?=[\"'“‘(\[*_¿¡]*[A-Z0-9À-ÖØ-Þ])")
_ABBREVIATIONS = frozenset(
    "e.g. i.e. mr. mrs. ms. dr. prof. st. vs. approx. no. fig. inc. ltd. jr. sr. cf. u.s. "
    "u.k. a.m. p.m.".split()
)


def _sentences(paragraph: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of a paragraph, relative to it."""
    masked = _OPAQUE.sub(lambda m: "x" * len(m.group()), paragraph)
    spans, start = [], 0
    for m in _BOUNDARY.finditer(masked):
        word = masked[:m.start(1)].rsplit(None, 1)[-1].lstrip("(\"'*_")
        if word.lower().rstrip("\"'”’)]*_") in _ABBREVIATIONS or re.fullmatch(r"[A-Z]\.", word):
            continue
        spans.append((start, m.start(1)))
        start = m.end(1)
    spans.append((start, len(paragraph.rstrip())))
    return spans


# --- plain text for the embedder ---------------------------------------------------------

_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_EMPHASIS = re.compile(r"[*`]+|(?<!\w)_+|_+(?!\w)")
_CLOSING_HASHES = re.compile(r"[ \t]+#+[ \t]*$")
_LINE_MARK = re.compile(r"^ {0,3}(?:#{1,6}[ \t]+|>[ \t]?|(?:[-*+]|\d{1,9}[.)])[ \t]+)")


def _plain(kind: str, raw: str) -> str:
    """What a reader sees of a unit, without Markdown syntax."""
    lines = raw.splitlines()
    if kind == "code":
        lines = [line for line in lines if not _FENCE.match(line)]
    else:
        lines = [_LINE_MARK.sub("", line) for line in lines if not _SETEXT.match(line)]
        if kind == "heading":
            lines = [_CLOSING_HASHES.sub("", line) for line in lines]
        lines = [_EMPHASIS.sub("", _LINK.sub(r"\1", line)) for line in lines]
    return " ".join(" ".join(lines).split())


def _units(answer: str) -> list[_Unit]:
    units = []
    for b, (kind, start, end) in enumerate(_blocks(answer)):
        if kind == "break":
            continue  # a thematic break has no words: no context, no position of its own
        if kind != "paragraph":
            units.append(_Unit(start, end, _plain(kind, answer[start:end]), kind, b))
            continue
        for s, e in _sentences(answer[start:end]):
            s, e = start + s, start + e
            units.append(_Unit(s, e, _plain("sentence", answer[s:e]), "sentence", b))
    return units


def split_positions(answer: str) -> tuple[Position, ...]:
    """Candidate insertion points of an answer, in text order.

    A position lies after each sentence and after each block (paragraph, list, code block,
    table, ...), including the end of the answer, except:

    - right after a heading, which would cut the heading from its section;
    - right after a sentence ending with ``:``, which introduces what follows it.

    Positions never fall inside a code block, a list or a heading.

    Parameters
    ----------
    answer : str
        The answer, as plain text or Markdown.

    Returns
    -------
    tuple of Position
        ``positions[j].index == j``. Empty only when the answer has nowhere to put a
        creative (e.g. it is a single heading).

    Raises
    ------
    TypeError
        If ``answer`` is not a string.
    ValueError
        If ``answer`` is empty or only whitespace.

    Examples
    --------
    >>> from models.text import split_positions
    >>> answer = "Boil the pasta. Drain it.\\n\\n```python\\ncook(pasta)\\n```\\n"
    >>> for pos in split_positions(answer):
    ...     print(pos.index, pos.kind, pos.depth, repr(pos.before), repr(pos.after))
    0 sentence 1 'Boil the pasta.' 'Drain it.'
    1 block 2 'Drain it.' 'cook(pasta)'
    2 end 3 'cook(pasta)' ''
    """
    if not isinstance(answer, str):
        raise TypeError(f"answer must be a string, got {type(answer).__name__}")
    if not answer.strip():
        raise ValueError("answer is empty: it needs at least one sentence")
    units = _units(answer)
    positions = []
    for u, unit in enumerate(units):
        if unit.kind == "heading" or (unit.kind == "sentence" and unit.text.endswith(":")):
            continue
        nxt = units[u + 1] if u + 1 < len(units) else None
        if nxt is None:
            kind = "end"
        elif nxt.paragraph == unit.paragraph:
            kind = "sentence"
        else:
            kind = "block"
        positions.append(Position(
            index=len(positions), offset=nxt.start if kind == "sentence" else unit.end,
            before=unit.text,
            after=nxt.text if nxt is not None else "", depth=u + 1, kind=kind,
        ))
    return tuple(positions)


# --- insertion and removal ----------------------------------------------------------------

_BLOCK = re.compile(
    rf"\n\n{re.escape(BEGIN_MARKER)}\n.*?\n{re.escape(END_MARKER)}\n\n", flags=re.DOTALL
)


def _render(creative: Creative | str) -> str:
    """One sponsored block, with the blank lines that keep it a block wherever it lands."""
    if isinstance(creative, str):
        creative = Creative(id="", text=creative)
    if not isinstance(creative, Creative):
        raise TypeError(
            f"placements must map positions to Creative objects or strings, "
            f"got {type(creative).__name__}"
        )
    text = creative.text.strip()
    if not text:
        raise ValueError(f"placements: creative {creative.id!r} has an empty text")
    lines = text.splitlines()
    body = [f"> **Sponsored** · {lines[0]}"] + [f"> {line}".rstrip() for line in lines[1:]]
    if creative.url:
        label = urlparse(creative.url).netloc or creative.url
        body.append(f"> [{label}]({creative.url})")
    block = "\n".join(body)
    if BEGIN_MARKER in block or END_MARKER in block:
        raise ValueError(f"placements: creative {creative.id!r} contains a sponsored marker")
    return f"\n\n{BEGIN_MARKER}\n\n{block}\n\n{END_MARKER}\n\n"


def insert_creatives(answer: str, positions, placements) -> str:
    """Write creatives into an answer, each at its position, as a block marked Sponsored.

    Each block is a Markdown block quote that starts with **Sponsored**, between the HTML
    comments :data:`BEGIN_MARKER` and :data:`END_MARKER` and a blank line on either side, so
    that it renders as its own block even between two sentences of one paragraph, and
    :func:`remove_creatives` gives back ``answer`` exactly.

    Parameters
    ----------
    answer : str
        The answer the positions were computed from.
    positions : sequence of Position
        ``split_positions(answer)``.
    placements : mapping of int to Creative or str, or iterable of (int, creative) pairs
        Position index ``j`` to the creative shown there. A plain string is a creative text.

    Returns
    -------
    str
        The answer with the sponsored blocks inserted.

    Raises
    ------
    ValueError
        If a position index is out of range or used twice, a position lies outside the
        answer, or the answer already contains a sponsored marker (then the blocks could not
        be told apart from the answer on removal).

    Examples
    --------
    >>> from models.text import Creative, insert_creatives, remove_creatives, split_positions
    >>> answer = "Rome has great food. Try carbonara."
    >>> positions = split_positions(answer)
    >>> ad = Creative("a1", "Book a pasta class in Rome.", "https://pasta.example/rome")
    >>> page = insert_creatives(answer, positions, {0: ad})
    >>> print(page)  # doctest: +NORMALIZE_WHITESPACE
    Rome has great food.
    <BLANKLINE>
    <!-- sponsored -->
    <BLANKLINE>
    > **Sponsored** · Book a pasta class in Rome.
    > [pasta.example](https://pasta.example/rome)
    <BLANKLINE>
    <!-- /sponsored -->
    <BLANKLINE>
    Try carbonara.
    >>> remove_creatives(page) == answer
    True
    """
    if not isinstance(answer, str):
        raise TypeError(f"answer must be a string, got {type(answer).__name__}")
    if BEGIN_MARKER in answer or END_MARKER in answer:
        raise ValueError("answer already contains a sponsored marker; remove_creatives it first")
    positions = tuple(positions)
    items = list(placements.items() if isinstance(placements, Mapping) else placements)
    chosen: dict[int, str] = {}
    for j, creative in items:
        if isinstance(j, bool) or not isinstance(j, int) or not 0 <= j < len(positions):
            raise ValueError(f"placements: position {j!r} is not an index into positions "
                             f"(0..{len(positions) - 1})")
        if j in chosen:
            raise ValueError(f"placements: position {j} is given two creatives")
        chosen[j] = _render(creative)
    parts, last = [], 0
    for j in sorted(chosen, key=lambda j: positions[j].offset):
        offset = positions[j].offset
        if not last <= offset <= len(answer):
            raise ValueError(f"positions: position {j} (offset {offset}) does not fit this answer")
        parts += [answer[last:offset], chosen[j]]
        last = offset
    parts.append(answer[last:])
    return "".join(parts)


def remove_creatives(text: str) -> str:
    """Delete every block written by :func:`insert_creatives`: the exact inverse.

    Parameters
    ----------
    text : str
        An answer with sponsored blocks.

    Returns
    -------
    str
        The answer as it was before insertion.

    Examples
    --------
    >>> from models.text import insert_creatives, remove_creatives, split_positions
    >>> answer = "# Tips\\n\\nDrink water.\\n\\nSleep well.\\n"
    >>> page = insert_creatives(answer, split_positions(answer), {0: "Try our water bottle."})
    >>> "Sponsored" in page, remove_creatives(page) == answer
    (True, True)
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    return _BLOCK.sub("", text)
