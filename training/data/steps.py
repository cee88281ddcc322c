"""Ways people list the steps of a process: arrows, commas, "first ... then ...", numbers.

Step names go in verbatim, so the request says exactly which boxes the answer draws.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from training.data.wording import Words


def _arrows(steps: Sequence[str], w: Words) -> str:
    return w.pick((" -> ", " → ", " => ", " --> ", " ➔ ")).join(steps)


def _gt(steps: Sequence[str], w: Words) -> str:
    return " > ".join(steps)


def _commas(steps: Sequence[str], w: Words) -> str:
    return w.join(steps)


def _then(steps: Sequence[str], w: Words) -> str:
    out = steps[0]
    for i, step in enumerate(steps[1:], 1):
        last = i == len(steps) - 1
        out += w.pick((", then ", ", and finally ", ", finally ") if last else (", then ",))
        out += step
    return out


def _first_then(steps: Sequence[str], w: Words) -> str:
    head = w.pick(("first ", "start with ", "first we ", "begin with "))
    middle = [w.pick(("then ", "after that ", "next ", "then ")) + s for s in steps[1:-1]]
    last = w.pick(("finally ", "and finally ", "lastly ", "at the end ")) + steps[-1]
    return ", ".join([head + steps[0], *middle, last])


def _numbered(steps: Sequence[str], w: Words) -> str:
    mark = w.pick(("{}. ", "{}) ", "({}) "))
    return " ".join(mark.format(i) + s for i, s in enumerate(steps, 1))


def _step_n(steps: Sequence[str], w: Words) -> str:
    return ", ".join(f"step {i}: {s}" for i, s in enumerate(steps, 1))


def _semicolons(steps: Sequence[str], w: Words) -> str:
    return "; ".join(steps)


def _bullets(steps: Sequence[str], w: Words) -> str:
    return "\n" + "\n".join(f"{w.pick(('-', '*', '•'))} {s}" for s in steps)


FORMS: tuple[Callable[[Sequence[str], Words], str], ...] = (
    _arrows, _arrows, _arrows, _gt, _commas, _commas, _then, _first_then, _numbered, _step_n,
    _semicolons, _bullets,
)  # fmt: skip


SIMPLE = (_arrows, _commas, _then, _gt)  # forms that read well inside a longer sentence


def list_steps(steps: Sequence[str], w: Words, inline: bool = False, simple: bool = False) -> str:
    """The steps in order, written one of the ways people write them.

    inline: on one line (no bullets); simple: a plain run that a sentence can continue.
    """
    forms = SIMPLE if simple else FORMS[:-1] if inline else FORMS
    return w.rng.choice(forms)(steps, w)
