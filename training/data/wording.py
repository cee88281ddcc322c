"""How people write requests: numbers as digits or words, lists, openers, casual noise, typos.

`Words` binds these to one random generator so a template can say `w.num(3)` or
`w.pick(...)`; everything is deterministic given the generator's seed.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

NUMBER_WORDS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve",
)  # fmt: skip
ORDINALS = (
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
)  # fmt: skip
OPENERS = (
    "draw",
    "make",
    "create",
    "show me",
    "can you draw",
    "could you make",
    "please draw",
    "pls draw",
    "I need",
    "i need",
    "I'd like",
    "I want",
    "generate",
    "sketch",
    "give me",
    "visualize",
    "visualise",
    "plot",
    "render",
    "help me draw",
    "can i get",
    "could you sketch",
    "draw me",
    "make me",
    "I would like to see",
    "diagram of",
    "picture of",
    "illustrate",
    "",
    "",
    "",
)
CLOSERS = ("", "", "", "", " please", " pls", " thanks", " thx", " :)", "!", ".", ".", "?")
AN_ACRONYMS = set("AEFHILMNORSX")  # acronyms read letter by letter that start with a vowel sound


def article(noun: str) -> str:
    """'a' or 'an' for a noun phrase (letter-by-letter acronyms count by their sound)."""
    word = noun.split()[0] if noun.split() else noun
    if word.isupper() and len(word) > 1:
        return "an" if word[0] in AN_ACRONYMS else "a"
    return "an" if word[:1].lower() in "aeiou" else "a"


class Words:
    """Word choices bound to one random generator."""

    def __init__(self, rng: random.Random, word_share: float = 0.35) -> None:
        self.rng = rng
        self.word_share = word_share

    def pick(self, options: Sequence[str]) -> str:
        return self.rng.choice(options)

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def num(self, n: int) -> str:
        """A count as digits or, often, as a word ("4" or "four")."""
        if 0 <= n < len(NUMBER_WORDS) and self.chance(self.word_share):
            return NUMBER_WORDS[n]
        return str(n)

    def ordinal(self, i: int) -> str:
        """1 -> 'first' (or '1st')."""
        if self.chance(0.8) or i > 3:
            return ORDINALS[i - 1]
        return f"{i}{'st' if i == 1 else 'nd' if i == 2 else 'rd'}"

    def join(self, items: Sequence[str]) -> str:
        """'a, b and c' (or with an Oxford comma, or '&')."""
        items = list(items)
        if len(items) == 1:
            return items[0]
        last = self.pick((" and ", " and ", ", and ", " & "))
        if len(items) == 2:
            return items[0] + (" & " if last == " & " else " and ") + items[1]
        return ", ".join(items[:-1]) + last + items[-1]

    def opener(self) -> str:
        return self.pick(OPENERS)

    def with_article(self, noun: str) -> str:
        return f"{article(noun)} {noun}"


def finish(text: str, w: Words, protected: Sequence[str] = ()) -> str:
    """Make a request look typed by a person: case, closing words, now and then a typo.

    Words in `protected` (step names, number words) are never misspelt: the request must
    still say exactly what the answer draws.
    """
    text = " ".join(text.split())
    text = re.sub(r"\s+([,.;:!?)])", r"\1", text).strip(" ,")
    if w.chance(0.1):
        text = typo(text, w.rng, protected)
    roll = w.rng.random()
    if roll < 0.3:
        text = text.lower()
    elif roll < 0.8:
        text = text[:1].upper() + text[1:]
    if text[-1:] not in ".!?":
        text += w.pick(CLOSERS)
    return text


def typo(text: str, rng: random.Random, protected: Sequence[str] = ()) -> str:
    """One plausible slip (swapped, dropped or doubled letter) in an unprotected long word."""
    keep = {p.lower() for phrase in protected for p in phrase.split()} | set(NUMBER_WORDS)
    spans = [
        m.span()
        for m in re.finditer(r"[A-Za-z]{5,}", text)
        if m.group(0).lower() not in keep and not m.group(0).isupper()
    ]
    if not spans:
        return text
    start, end = rng.choice(spans)
    word = text[start:end]
    i = rng.randrange(1, len(word) - 2)
    kind = rng.randrange(3)
    if kind == 0:
        word = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    elif kind == 1:
        word = word[:i] + word[i + 1 :]
    else:
        word = word[:i] + word[i] + word[i:]
    return text[:start] + word + text[end:]
