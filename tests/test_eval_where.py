"""`python -m assistant.eval --where FIELD=VALUE`: only the questions whose meta field has that value."""

from __future__ import annotations

import argparse

import pytest

from assistant.eval import _where, matches
from assistant.scoring import Question


def test_questions_are_selected_by_a_meta_field() -> None:
    table = Question("q1", "?", ["x"], ["a.pdf"], None, None, meta={"source_chunk_type": "Table"})
    text = Question("q2", "?", ["x"], ["a.pdf"], None, None, meta={"source_chunk_type": "Text"})
    where = dict([_where("source_chunk_type=Table")])
    assert [q.id for q in (table, text) if matches(q, where)] == ["q1"]
    assert matches(text, {}) and not matches(Question("q3", "?", [], [], None, None), where)
    with pytest.raises(argparse.ArgumentTypeError):
        _where("source_chunk_type")
