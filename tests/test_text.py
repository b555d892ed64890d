"""Insertion points in Markdown answers, and the sponsored-block round trip (SPEC §8)."""
from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.context import load_corpus
from models.text import (
    BEGIN_MARKER, END_MARKER, Creative, Position, insert_creatives, remove_creatives,
    split_positions,
)


def contexts(answer):
    return [(p.before, p.after) for p in split_positions(answer)]


def assert_well_formed(answer, positions):
    """Indices run 0..m-1, offsets and depths increase, every offset is inside the answer."""
    assert [p.index for p in positions] == list(range(len(positions)))
    offsets = [p.offset for p in positions]
    assert offsets == sorted(set(offsets))
    assert all(0 < o <= len(answer) for o in offsets)
    depths = [p.depth for p in positions]
    assert depths == sorted(set(depths)) and depths[0] >= 1
    assert all((p.kind == "end") == (p.after == "") for p in positions)
    assert all(p.kind != "end" for p in positions[:-1])


def inside(answer, pattern):
    """Character spans of the regex matches, e.g. the code blocks of an answer."""
    return [m.span() for m in re.finditer(pattern, answer, flags=re.MULTILINE | re.DOTALL)]


# --- splitting -----------------------------------------------------------------------------

def test_sentences_and_paragraphs():
    answer = "First sentence. Second one!\n\nNew paragraph? Yes.\n"
    positions = split_positions(answer)
    assert contexts(answer) == [
        ("First sentence.", "Second one!"),
        ("Second one!", "New paragraph?"),
        ("New paragraph?", "Yes."),
        ("Yes.", ""),
    ]
    assert [p.kind for p in positions] == ["sentence", "block", "sentence", "end"]
    assert [p.depth for p in positions] == [1, 2, 3, 4]
    assert_well_formed(answer, positions)


def test_one_sentence_answer_has_one_position_at_the_end():
    answer = "Paris is the capital of France."
    (pos,) = split_positions(answer)
    assert pos == Position(index=0, offset=len(answer), before=answer, after="", depth=1,
                           kind="end")


def test_trailing_whitespace_does_not_move_the_end_position():
    (pos,) = split_positions("Paris is the capital of France.  \n\n\n")
    assert pos.offset == len("Paris is the capital of France.")


@pytest.mark.parametrize("answer", ["", "   ", "\n\n\t \n"])
def test_empty_answer_is_a_clear_error(answer):
    with pytest.raises(ValueError, match="answer"):
        split_positions(answer)


def test_non_string_answer_is_a_type_error():
    with pytest.raises(TypeError, match="answer"):
        split_positions(b"bytes are not text")


def test_never_inside_a_code_fence():
    answer = (
        "Run this code. It prints twice.\n\n"
        "```python\nprint('a. B')  # Looks like. Two sentences.\n\n"
        "# Not a heading\nprint('b')\n```\n\n"
        "~~~\nAnother fence. With dots.\n~~~\n\n"
        "Done."
    )
    positions = split_positions(answer)
    fences = inside(answer, r"^```.*?^```$") + inside(answer, r"^~~~.*?^~~~$")
    assert len(fences) == 2
    for pos in positions:
        assert not any(a < pos.offset < b for a, b in fences), pos
    assert [p.kind for p in positions] == ["sentence", "block", "block", "block", "end"]
    assert positions[1].after.startswith("print('a. B')")  # the fence lines are not context
    assert_well_formed(answer, positions)


def test_unclosed_fence_runs_to_the_end():
    answer = "Intro here.\n\n```\ncode. More code.\n\nStill code. Yes."
    assert [p.kind for p in split_positions(answer)] == ["block", "end"]


def test_indented_code_is_one_block():
    answer = "See below. Then run it.\n\n    x = 1. Y = 2.\n\n    z = 3\n\nAfter."
    assert contexts(answer) == [
        ("See below.", "Then run it."),
        ("Then run it.", "x = 1. Y = 2. z = 3"),
        ("x = 1. Y = 2. z = 3", "After."),
        ("After.", ""),
    ]


def test_never_inside_a_list_or_its_items():
    answer = (
        "Pack light. Here is what to bring:\n\n"
        "- A rain jacket. It rains often.\n"
        "- Good shoes.\n"
        "  They must have grip. Really.\n\n"
        "  A second paragraph of the item.\n"
        "* Another bullet style.\n\n"
        "1. Numbered. Item.\n"
        "2) Other numbering.\n"
        "lazy continuation. Still item.\n\n"
        "Enjoy the trip."
    )
    positions = split_positions(answer)
    start, end = answer.index("- A rain"), answer.index("Still item.") + len("Still item.")
    assert not any(start <= p.offset < end for p in positions)
    # "Here is what to bring:" introduces the list: no position between the two
    assert [p.before for p in positions] == ["Pack light.", positions[1].before, "Enjoy the trip."]
    assert positions[1].before.startswith("A rain jacket.")
    assert positions[1].offset == end
    assert_well_formed(answer, positions)


def test_never_inside_or_right_after_a_heading():
    answer = ("# Title. With a dot\n\nBody one. Body two.\n\n## Section\nText.\n\n"
              "Setext title. Dot\n=====\n\nLast.")
    positions = split_positions(answer)
    headings = inside(answer, r"^#.*?$") + inside(answer, r"^Setext.*?=$")
    assert len(headings) == 3
    for pos in positions:
        assert not any(a <= pos.offset <= b for a, b in headings), pos
    assert contexts(answer) == [
        ("Body one.", "Body two."),
        ("Body two.", "Section"),
        ("Text.", "Setext title. Dot"),
        ("Last.", ""),
    ]
    # headings count towards depth: the reader has met them
    assert [p.depth for p in positions] == [2, 3, 5, 7]


def test_only_a_heading_has_no_position():
    assert split_positions("# Just a title\n") == ()


def test_thematic_break_is_not_a_unit():
    assert contexts("One.\n\n---\n\nTwo.") == [("One.", "Two."), ("Two.", "")]


def test_quotes_and_tables_are_atomic():
    answer = "Intro. More.\n> Quoted. Still quoted.\n\n| a | b |\n|---|---|\n| 1. | X. |\n\nEnd."
    assert [p.after for p in split_positions(answer)] == [
        "More.", "Quoted. Still quoted.", "| a | b | |---|---| | 1. | X. |", "End.", ""
    ]


@pytest.mark.parametrize("text, sentences", [
    ("Dr. Smith came. He left.", ["Dr. Smith came.", "He left."]),
    ("Use e.g. flour. Then bake.", ["Use e.g. flour.", "Then bake."]),
    ("It costs 3.50 euros. Cheap.", ["It costs 3.50 euros.", "Cheap."]),
    ("Call `obj.run. Now` here. Done.", ["Call obj.run. Now here.", "Done."]),
    ("See [the docs. Here](https://x.example/A. B) now. Ok.", ["See the docs. Here now.", "Ok."]),
    ("Visit https://x.example/a.B today. Ok.", ["Visit https://x.example/a.B today.", "Ok."]),
    ('He said "stop." Then he left.', ['He said "stop."', "Then he left."]),
    ("J. R. R. Tolkien wrote it. Yes.", ["J. R. R. Tolkien wrote it.", "Yes."]),
    ("Really?! Yes. 42 is the answer.", ["Really?!", "Yes.", "42 is the answer."]),
    ("lower case. does not split", ["lower case. does not split"]),
    ("Soft\nline break. Next\nline.", ["Soft line break.", "Next line."]),
    ("Un café. Él dijo. ¿Vienes? Ölpreis.", ["Un café.", "Él dijo.", "¿Vienes?", "Ölpreis."]),
])
def test_sentence_boundaries(text, sentences):
    assert [p.before for p in split_positions(text)] == sentences


def test_markup_is_stripped_from_the_context():
    (pos, _) = split_positions("**Bold** and _italic_ with snake_case. Next.")
    assert pos.before == "Bold and italic with snake_case."


def test_crlf_line_endings():
    answer = "One. Two.\r\n\r\n- item\r\n- item\r\n\r\nThree."
    assert contexts(answer) == [("One.", "Two."), ("Two.", "item item"), ("item item", "Three."),
                                ("Three.", "")]


def test_every_corpus_answer_has_at_least_twelve_positions():
    answers, _, _ = load_corpus()
    for name, answer in answers.items():
        positions = split_positions(answer)
        assert len(positions) >= 12, name
        assert_well_formed(answer, positions)
        assert positions[-1].kind == "end"


# --- insertion and removal -----------------------------------------------------------------

def test_insert_renders_a_sponsored_block_at_each_position():
    answer = "# Bread\n\nMix the dough. Let it rest.\n\nBake it.\n"
    positions = split_positions(answer)
    ads = {0: Creative("flour", "Stone-milled flour.", "https://mill.example/flour"),
           2: "A plain-text creative."}
    page = insert_creatives(answer, positions, ads)
    assert page.count(BEGIN_MARKER) == 2 and page.count(END_MARKER) == 2
    assert ("> **Sponsored** · Stone-milled flour.\n"
            "> [mill.example](https://mill.example/flour)") in page
    assert "> **Sponsored** · A plain-text creative." in page
    # in text order: after "Mix the dough." and after the last sentence
    assert page.index("Mix the dough.") < page.index("Stone-milled") < page.index("Let it rest.")
    assert page.rstrip().endswith(END_MARKER)
    assert remove_creatives(page) == answer


def test_a_block_is_separated_by_blank_lines():
    answer = "One sentence. Another sentence."
    page = insert_creatives(answer, split_positions(answer), {0: "Ad."})
    block = page[page.index(BEGIN_MARKER):page.index(END_MARKER) + len(END_MARKER)]
    assert f"\n\n{block}\n\nAnother sentence." in page


def test_insert_nothing_is_the_identity():
    answer = "A. B."
    assert insert_creatives(answer, split_positions(answer), {}) == answer


def test_multiline_creative_stays_in_the_quote():
    answer = "A sentence. Another."
    page = insert_creatives(answer, split_positions(answer), {1: "Line one\nline two"})
    assert "> **Sponsored** · Line one\n> line two" in page
    assert remove_creatives(page) == answer


@pytest.mark.parametrize("placements, match", [
    ({5: "ad"}, "position 5"),
    ({-1: "ad"}, "position -1"),
    ({True: "ad"}, "position True"),
    ([(0, "ad"), (0, "other")], "position 0 is given two"),
    ({0: "   "}, "empty text"),
    ({0: f"sneaky {END_MARKER}"}, "marker"),
    ({0: 3.5}, "Creative"),
])
def test_bad_placements(placements, match):
    answer = "One. Two."
    with pytest.raises((ValueError, TypeError), match=match):
        insert_creatives(answer, split_positions(answer), placements)


def test_answer_with_a_marker_is_refused():
    answer = f"Text. {BEGIN_MARKER} More."
    with pytest.raises(ValueError, match="answer"):
        insert_creatives(answer, split_positions(answer), {0: "ad"})


def test_positions_of_another_answer_are_refused():
    long = "One. Two. Three. Four. Five."
    with pytest.raises(ValueError, match="positions"):
        insert_creatives("One.", split_positions(long), {3: "ad"})


def test_round_trip_on_every_corpus_answer_with_every_position_filled():
    answers, creatives, _ = load_corpus()
    for name, answer in answers.items():
        positions = split_positions(answer)
        page = insert_creatives(answer, positions,
                                {j: creatives[j % len(creatives)] for j in range(len(positions))})
        assert page.count(BEGIN_MARKER) == len(positions), name
        assert remove_creatives(page) == answer, name


# A Markdown answer built from tricky pieces, with varied separators.
_words = st.text("abcdefghij .,:!?", min_size=1, max_size=25)
_heads = st.sampled_from(["The", "A", "Dr.", "e.g.", "3.5", '"Quote', "`x.y`", "**B**"])
_sentence = st.builds(lambda head, body, end: head + body + end,
                      _heads, _words, st.sampled_from([".", "!", "?", ":", ".)", ""]))
_paragraph = st.lists(_sentence, min_size=1, max_size=4).map(" ".join)
_block = st.one_of(
    _paragraph,
    st.lists(_sentence, min_size=1, max_size=3).map(lambda s: "\n".join(f"- {x}" for x in s)),
    _paragraph.map(lambda p: f"```\n{p}\n\n{p}\n```"),
    _sentence.map(lambda s: f"## {s}"),
    _paragraph.map(lambda p: f"> {p}"),
    st.just("---"),
)
_answers = st.builds(
    lambda blocks, seps, tail: "".join(b + s for b, s in zip(blocks, seps)) + tail,
    st.lists(_block, min_size=1, max_size=6),
    st.lists(st.sampled_from(["\n\n", "\n\n\n", "\r\n\r\n", "\n \n"]), min_size=6, max_size=6),
    st.sampled_from(["", "\n", "  \n\n"]),
)


_creatives = st.builds(
    Creative,
    st.just("ad"),
    st.text(min_size=1).filter(lambda t: t.strip() and "<!--" not in t),
    st.one_of(st.none(), st.just("https://ad.example/landing")),
)


@settings(max_examples=300, deadline=None)
@given(answer=_answers, data=st.data())
def test_round_trip_on_random_markdown(answer, data):
    positions = split_positions(answer)
    if positions:
        assert_well_formed(answer, positions)
    chosen = data.draw(st.sets(st.sampled_from(range(len(positions))))) if positions else set()
    placements = {j: data.draw(_creatives) for j in chosen}
    page = insert_creatives(answer, positions, placements)
    assert page.count(BEGIN_MARKER) == len(placements)
    assert remove_creatives(page) == answer


@settings(max_examples=300, deadline=None)
@given(answer=st.text(min_size=1).filter(lambda t: t.strip()))
def test_round_trip_on_arbitrary_text(answer):
    if BEGIN_MARKER in answer or END_MARKER in answer:
        return
    positions = split_positions(answer)
    page = insert_creatives(answer, positions, {p.index: f"ad {p.index}" for p in positions})
    assert remove_creatives(page) == answer
