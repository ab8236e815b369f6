"""An iReal Pro chart's form as the app plays it: the written bars (with their cells, marks and
signs) unrolled into an intro, a chorus and a coda — repeats, first to third endings (`N0` and an
unlabelled bar after the first ending counting on), D.C./D.S. al Coda, al Fine or al Nth ending
(the return plays no repeats and the last endings, or the one named), the coda after a D.C./D.S.
part of every chorus, a coda without one an outro taken once from the last chorus's "to coda"
sign, and an intro (`*i`) played once."""

from __future__ import annotations

from dataclasses import dataclass, field

from jazzd.music.charts import ChartError
from jazzd.music.chords import Chord
from jazzd.music.grammar import BEATS_PER_BAR


@dataclass
class WrittenBar:
    number: int  # as written, from 1
    beats: int = BEATS_PER_BAR  # its length in quarter notes
    cells: list[Chord | None] = field(default_factory=list)  # a chord, or None: an empty cell
    short: set[int] = field(default_factory=set)  # cells holding small chords (one beat each)
    mark: str | None = None  # a rehearsal mark begins here
    repeat_start: bool = False
    repeat_end: bool = False
    ending: int | None = None  # the first bar of an ending (0: unnumbered, N0)
    segno: bool = False
    coda: bool = False
    fine: bool = False
    closes: bool = False  # a section's last bar (`]` or `Z` after it)
    jump: str | None = None  # "D.C." or "D.S." at the end of this bar's section ...
    jump_to: str | None = None  # ... "coda", "fine", or an ending's number ("2")

    @property
    def chords(self) -> list[Chord]:
        return [c for c in self.cells if c is not None]


@dataclass
class Form:
    intro: list[WrittenBar]
    chorus: list[WrittenBar]
    coda: list[WrittenBar]
    coda_after: int | None  # the last chorus leaves for the coda after this many of its bars


def play_form(bars: list[WrittenBar], where: str) -> Form:
    """Intro, chorus and coda as bars played, from the written bars' repeats, endings, signs."""
    start = 0
    if bars[0].mark == "i":  # an intro: to the next rehearsal mark, played once ...
        start = next((i for i, b in enumerate(bars[1:], 1) if b.mark and b.mark != "i"), 0)
        opened = sum(b.repeat_start for b in bars[:start]) > sum(b.repeat_end for b in bars[:start])
        start = 0 if opened else start  # ... unless a repeat begun there goes on past it
    intro = [bars[i] for i in _play(bars, 0, start, where)] if start else []
    codas = [i for i, b in enumerate(bars) if b.coda]
    sign = next((i for i, b in enumerate(bars) if b.jump and i >= start), None)
    jump = (
        None if sign is None else next((i for i in range(sign, len(bars)) if bars[i].closes), len(bars) - 1)
    )
    coda_start = codas[-1] if codas and (len(codas) > 1 or (jump is not None and codas[0] > jump)) else None
    to_coda = codas[0] if codas and codas[0] != coda_start else None
    body_end = coda_start if coda_start is not None else len(bars)
    coda = [b for b in bars[coda_start:] if b.chords] if coda_start is not None else []
    if jump is not None and jump < body_end:
        played = _play(bars, start, jump + 1, where)
        how, to = bars[sign].jump, bars[sign].jump_to
        back = next((i for i, b in enumerate(bars) if b.segno), start) if how == "D.S." else start
        until = body_end
        if to == "coda" and to_coda is not None and to_coda >= back:
            until = to_coda + 1
        elif to != "coda":  # al Fine, al 2nd ending: to the Fine, if there is one
            until = next((i + 1 for i, b in enumerate(bars) if b.fine and i >= back), body_end)
        ending = int(to) if to.isdigit() else None
        if ending is None:  # never past the sign that sent it back
            until = min(until, jump + 1)
        played += _play(bars, back, until, where, last_time=True, ending=ending)
        chorus = [bars[i] for i in played]
        if to == "coda" and coda:  # the coda is part of the form
            return Form(intro, chorus + coda, [], None)
        return Form(intro, chorus, coda, None)
    played = _play(bars, start, body_end, where)
    chorus = [bars[i] for i in played]
    after = None
    if coda and to_coda is not None and to_coda in played:
        after = len(played) - played[::-1].index(to_coda)
    return Form(intro, chorus, coda, after)


def _play(
    bars: list[WrittenBar],
    start: int,
    end: int,
    where: str,
    last_time: bool = False,
    ending: int | None = None,
) -> list[int]:
    """The bars from `start` to before `end` in the order played: each repeat as many times as
    it has endings (twice without), ending n on pass n. `last_time` (after a D.C. or D.S.):
    no repeats, the last endings (or ending number `ending`)."""
    numbers = _ending_numbers(bars)
    order: list[int] = []
    passes: dict[int, int] = {}  # a repeat's first bar → the pass being played
    repeat, i = start, start
    while i < end:
        bar = bars[i]
        if bar.repeat_start:
            repeat = i
        passing = passes.get(repeat, 1)
        if i in numbers:
            group = _endings(bars, numbers, i)
            wanted = (ending or max(group)) if last_time else passing
            target = group.get(wanted, group[max(group)])
            if numbers[i] < wanted and target > i:  # on to this pass's ending (or the last one)
                i = target
                continue
        if bar.chords:
            order.append(i)
        if len(order) > 10_000:
            raise ChartError(f"{where}, bar {bar.number}: the repeats never end")
        if bar.repeat_end and not last_time:
            first = next((k for k in range(repeat, i + 1) if k in numbers), None)
            total = 2 if first is None else max(2, len(_endings(bars, numbers, first)))
            if passing < total:
                passes[repeat] = passing + 1
                i = repeat
                continue
            passes.pop(repeat, None)
            repeat = i + 1  # a later closing sign without an opening one repeats from here
        i += 1
    return order


def _ending_numbers(bars: list[WrittenBar]) -> dict[int, int]:
    """The number of each ending's first bar: N1, N2, N3 as written; N0 counts on from the
    N0 before it (a run of them: "for repeats", "to end")."""
    numbers, run = {}, 0
    for i, bar in enumerate(bars):
        if bar.ending is not None:
            run = run + 1 if bar.ending == 0 else 0
            numbers[i] = bar.ending or run
    return numbers


def _endings(bars: list[WrittenBar], numbers: dict[int, int], at: int) -> dict[int, int]:
    """The endings (number → first bar) of the group the ending at `at` belongs to. A first
    ending alone has an unlabelled second: the bar after its closing repeat sign."""
    first = max((k for k in numbers if k <= at and numbers[k] == 1), default=at)
    group = {numbers[first]: first}
    for k in sorted(k for k in numbers if k > first):
        if numbers[k] != max(group) + 1 or any(b.repeat_start for b in bars[first + 1 : k + 1]):
            break
        group[numbers[k]] = k
    if list(group) == [1]:
        close = next((k for k in range(first, len(bars)) if bars[k].repeat_end), None)
        if close is not None and close + 1 < len(bars):
            group[2] = close + 1
    return group
