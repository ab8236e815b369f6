"""Chords over time, in ticks: which chord is in force at a tick. One lookup for a corpus solo's
annotated changes, a rendered progression, and the progression the live player falls back on."""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence

from jazzd.music.chords import Chord, parse_progression
from jazzd.music.grammar import BAR_TICKS


class ChordTimeline:
    """Changes as (tick, chord) in time order; with `length`, they repeat every `length` ticks.
    Before the first change the first chord is in force."""

    def __init__(self, changes: Sequence[tuple[int, Chord]], length: int | None = None):
        self.changes = list(changes)
        self.length = length
        self._starts = [t for t, _ in self.changes]

    @classmethod
    def looped(cls, progression: str | list[list[Chord]]) -> ChordTimeline:
        """A written progression, repeating: each 4/4 bar shared evenly by its chords."""
        bars = parse_progression(progression) if isinstance(progression, str) else progression
        return cls(cls.of_bars(bars).changes, len(bars) * BAR_TICKS)

    @classmethod
    def of_bars(cls, bars: list[list[Chord]]) -> ChordTimeline:
        """Bars played once (a tune's choruses): after the last, its last chord stays."""
        changes = [
            (number * BAR_TICKS + round(i * BAR_TICKS / len(chords)), chord)
            for number, chords in enumerate(bars)
            for i, chord in enumerate(chords)
        ]
        return cls(changes)

    def chord_at(self, tick: float) -> Chord:
        if self.length:
            tick %= self.length
        return self.changes[max(0, bisect.bisect_right(self._starts, tick) - 1)][1]

    def spans(self, end: int) -> Iterator[tuple[int, int, Chord]]:
        """(start, end, chord) for each chord from tick 0 to `end`, repeats unrolled."""
        loop = self.length or end
        starts = [
            (lap + t, chord) for lap in range(0, end, loop) for t, chord in self.changes if lap + t < end
        ]
        for i, (start, chord) in enumerate(starts):
            yield start, starts[i + 1][0] if i + 1 < len(starts) else end, chord
