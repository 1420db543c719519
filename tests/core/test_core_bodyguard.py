"""The body scanner reads JSON as a parser would up to its first error, without recursion: text
never counts as nesting, escapes are followed, and whatever it lets through a parser reads with
no deeper recursion than the limit."""

from __future__ import annotations

import json

import pytest

from attestpay.bodyguard import json_problem

DEPTH = "the JSON nests deeper than 4 levels"
NAN = "NaN and Infinity are not JSON numbers"
NUL = "text holds a NUL character (\\u0000)"
LONE = "text holds an unpaired UTF-16 surrogate"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"a": [[[1]]]}', None),
        (b'{"a": [[[[1]]]]}', DEPTH),
        (b'["[[[[[[", "{{{{{{"]', None),  # brackets in text
        (b'["\\"[[[[[["]', None),  # an escaped quote does not end the text
        (b'["\\\\", [[[[1]]]]]', DEPTH),  # an escaped backslash does
        (b"[1, 2], [3]" * 10, None),  # many shallow values: depth goes back down
        (b'{"n": NaN}', NAN),
        (b'{"n": -Infinity}', NAN),
        (b'{"NaN": "Infinity"}', None),
        (b'"\\u0000"', NUL),
        (b'"\\\\u0000"', None),  # a backslash, then the text "u0000"
        (b'"\\ud83d\\ude00"', None),  # a surrogate pair: one character
        (b'"\\ud83d"', LONE),
        (b'"\\ud83dx"', LONE),
        (b'"\\ude00\\ud83d"', LONE),
        (b'"\xff"', "the body is not UTF-8"),
        (b'[[["unterminated [[[[[[[[', None),  # a parser stops at the open text, three deep
    ],
)
def test_what_the_scanner_refuses(body, problem):
    assert json_problem(body, 4) == problem


@pytest.mark.parametrize("body", [b"[" * 5 + b"]" * 5, b'{"a":' * 5 + b"1" + b"}" * 5, b'[[[["x", {"a": 1}]]]]'])
def test_a_parser_would_nest_deeper_exactly_when_the_scanner_refuses(body):
    def depth(value) -> int:
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
        return 1 + max(map(depth, children), default=0) if isinstance(value, dict | list) else 0

    assert (json_problem(body, 4) is None) == (depth(json.loads(body)) <= 4)
