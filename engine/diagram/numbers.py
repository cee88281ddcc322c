"""Number words in requests: "two" -> 2, "twenty-four" -> 24, "a single" -> 1, "a dozen" -> 12.

Only what people write when they size a network: 0-99, hundreds, thousands. A run of
number words that cannot be one number ("four six") becomes several numbers ("4 6").
"""

from __future__ import annotations

import re

_UNIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_UNIT_WORDS += ("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen")
_UNIT_WORDS += ("seventeen", "eighteen", "nineteen")
_TEN_WORDS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
UNITS = {w: i for i, w in enumerate(_UNIT_WORDS)}
TENS = {w: 10 * i for i, w in enumerate(_TEN_WORDS, 2)}
SCALES = {"hundred": 100, "thousand": 1000}
_WORD = "|".join([*UNITS, *TENS, *SCALES])
_RUN = re.compile(rf"\b(?:{_WORD})(?:(?:\s+|-)(?:{_WORD}))*\b")
_IDIOMS = [
    (re.compile(r"\b(?:a\s+)?single\b"), "1"),
    (re.compile(r"\ba\s+dozen\b|\bdozen\b"), "12"),
    (re.compile(r"\ba\s+(hundred|thousand)\b"), r"one \1"),
]


def _values(words: list[str]) -> list[int]:
    """Read number words left to right; start a new number when a word cannot extend the last."""
    out: list[int] = []
    total, cur, last = 0, 0, ""  # last: kind of the previous word ("unit", "ten", "scale", "")
    for w in words:
        if w in SCALES:
            if last == "scale" and SCALES[w] == 100:  # "thousand hundred": not one number
                out.append(total + cur)
                total, cur = 0, 0
            scale = SCALES[w]
            if scale == 1000:
                total, cur = total + max(cur, 1) * 1000, 0
            else:
                cur = max(cur, 1) * 100
            last = "scale"
            continue
        kind = "ten" if w in TENS else "unit"
        value = TENS.get(w, UNITS.get(w, 0))
        extends = last in ("", "scale") or (last == "ten" and kind == "unit" and value < 10)
        if not extends:
            out.append(total + cur)
            total, cur = 0, 0
        cur += value
        last = kind
    out.append(total + cur)
    return out


def words_to_digits(text: str) -> str:
    """Replace number words in lowercase `text` by digits; everything else is left alone."""
    for pattern, repl in _IDIOMS:
        text = pattern.sub(repl, text)

    def repl(m: re.Match[str]) -> str:
        return " ".join(str(v) for v in _values(re.split(r"[\s-]+", m.group(0))))

    return _RUN.sub(repl, text)
