"""A small seeded mutation fuzzer for the collection adapters' inputs.

Two kinds of mutants, both from valid messages: *havoc* (AFL-style: delete, duplicate, insert
or overwrite spans of the text with characters and tokens that break parsers) and
*structural* (a value inside a message replaced by one of :data:`VALUES`: numbers at and past
every integer width, floats that are not numbers, lone surrogates, markup, very deep
nesting). Every mutant follows from the seed, so a failure names its seed and index and
reproduces exactly.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from typing import Any

NUMBERS = ["0", "-1", "1", "255", "256", "32767", "2147483647", "2147483648", "4294967296",
           "9223372036854775807", "9223372036854775808", "-9223372036854775809",
           "18446744073709551616", "99999999999999999999", "9" * 25, "9" * 400, "1e308",
           "1e309", "-1e309", "NaN", "Infinity", "-0", "0x10", "1.5", "1_000", "00000001"]
TEXTS = ["", " ", "\ud800", "\udfff", "a\udc80b", "\x00", "\n", "\r\n", '"', "\\", "[/]",
         "[bold]", "]", "[", "{", "}", "=", " = ", ": ", "\u202e", "é", "\U0001f4e1",
         "x" * 5000]
DEEP = ["[" * 5_000, "{\"a\":" * 3_000, "[" * 500 + "]" * 500]  # within a message's size
VALUES: list[Any] = [
    0, -1, 1, 2**31, 2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**30, 10**400, 1.5, -0.0, 1e308,
    float("inf"), float("-inf"), float("nan"), True, False, None, "", "\ud800", "[/]",
    "9" * 30, [], {}, [1, 2], {"a": {"b": {}}}, "x" * 5000,
]


def havoc(text: str, rng: random.Random) -> str:
    """One to four random edits of ``text``."""
    for _ in range(rng.randint(1, 4)):
        i = rng.randint(0, len(text))
        j = min(len(text), i + rng.randint(0, 16))
        op = rng.randrange(6)
        if op == 0:
            text = text[:i] + text[j:]
        elif op == 1:
            text = text[:i] + text[i:j] * rng.randint(2, 8) + text[j:]
        elif op == 2:
            text = text[:i] + rng.choice(NUMBERS + TEXTS) + text[i:]
        elif op == 3:
            text = text[:i] + rng.choice(NUMBERS + TEXTS) + text[j:]
        elif op == 4:
            text = text[:i] + chr(rng.choice([rng.randrange(0x20, 0x7f), rng.randrange(0x110000)]))\
                + text[i + 1:]
        else:
            text = text[:i] + rng.choice(DEEP) + text[j:]
    return text


def replace_in_json(doc: Any, rng: random.Random) -> Any:
    """A copy of a JSON document with one value somewhere replaced."""
    if isinstance(doc, dict) and doc and rng.random() < 0.8:
        key = rng.choice(sorted(doc))
        return {**doc, key: replace_in_json(doc[key], rng)}
    if isinstance(doc, list) and doc and rng.random() < 0.8:
        i = rng.randrange(len(doc))
        return [*doc[:i], replace_in_json(doc[i], rng), *doc[i + 1:]]
    return rng.choice(VALUES)


def dumps(doc: Any, rng: random.Random) -> str:
    """JSON text; a lone surrogate either raw in the text or as its ``\\ud800`` escape."""
    return json.dumps(doc, ensure_ascii=rng.random() < 0.5)


def replace_value(text: str, rng: random.Random, separators: tuple[str, ...]) -> str:
    """Replace the text after one ``separator`` on one line with a number or a string."""
    lines = text.split("\n")
    i = rng.randrange(len(lines))
    for sep in separators:
        if sep in lines[i]:
            head, _, _ = lines[i].partition(sep)
            lines[i] = head + sep + rng.choice(NUMBERS + TEXTS + [f'"{t}"' for t in TEXTS])
            break
    else:
        lines.insert(i, lines[rng.randrange(len(lines))])  # a line given twice
    return "\n".join(lines)


def mutants(valid: Callable[[random.Random], str], structural: Callable[[str, random.Random], str],
            n: int, seed: int) -> Iterator[tuple[int, str]]:
    """``n`` mutants (index, text): a third havoc, the rest structural, some both."""
    rng = random.Random(seed)
    for k in range(n):
        text = valid(rng)
        roll = rng.random()
        if roll < 0.34:
            text = havoc(text, rng)
        elif roll < 0.9:
            text = structural(text, rng)
        else:
            text = havoc(structural(text, rng), rng)
        yield k, text
