"""Chords over time, in ticks: which chord is in force at a tick. One lookup for a corpus solo's
annotated changes, a rendered progression, and the progression the live player falls back on."""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence

from jazzd.music.chords import Chord, parse_progression
from jazzd.music.grammar import BAR_TICKS, BEATS_PER_BAR, TICKS_PER_BEAT


class ChordTimeline:
    """Changes as (tick, chord) in time order; with `length`, those from tick `loop_start` on
    repeat every `length` ticks. Before the first change the first chord is in force."""

    def __init__(
        self,
        changes: Sequence[tuple[int, Chord]],
        length: int | None = None,
        loop_start: int = 0,
        bar_starts: list[int] | None = None,
    ):
        self.changes = list(changes)
        self.length = length
        self.loop_start = loop_start
        self.bar_starts = bar_starts  # where each bar begins, when not every bar is 4/4
        self._starts = [t for t, _ in self.changes]

    def _folded(self, tick: float) -> float:
        if self.length and tick >= self.loop_start:
            return self.loop_start + (tick - self.loop_start) % self.length
        return tick

    def bar_position(self, tick: int) -> int:
        """Ticks since the bar line before `tick` (what the model's bar-position input reads):
        the real bar's, where a chart has bars of other lengths; past the last, 4/4 bars."""
        if self.bar_starts is None:
            return tick % BAR_TICKS
        folded = int(self._folded(tick))
        start = self.bar_starts[max(0, bisect.bisect_right(self.bar_starts, folded) - 1)]
        return (folded - start) % BAR_TICKS

    def bar_index(self, tick: int) -> int:
        """Which bar `tick` falls in, counted from 0 in the written bars (a loop folded back)."""
        folded = int(self._folded(tick))
        if self.bar_starts is None:
            return folded // BAR_TICKS
        return max(0, bisect.bisect_right(self.bar_starts, folded) - 1)

    def next_bar_line(self, tick: int) -> int:
        """The first bar line at or after `tick` (before the tune and past its last bar: 4/4)."""
        if self.bar_starts is None or tick < 0:
            return -(-tick // BAR_TICKS) * BAR_TICKS
        folded = int(self._folded(tick))
        base = tick - folded
        i = bisect.bisect_left(self.bar_starts, folded)
        if i < len(self.bar_starts):
            return base + self.bar_starts[i]
        if self.length:
            return base + self.loop_start + self.length
        last = self.bar_starts[-1]
        return base + last + -(-(folded - last) // BAR_TICKS) * BAR_TICKS

    @classmethod
    def looped(cls, progression: str | list[list[Chord]], intro: list[list[Chord]] = ()) -> ChordTimeline:
        """A written progression, repeating (after the `intro` bars, played once): each bar
        shared evenly by its chords."""
        bars = parse_progression(progression) if isinstance(progression, str) else progression
        whole = cls.of_bars([*intro, *bars])
        start = bar_ticks(intro)
        return cls(whole.changes, bar_ticks(bars), start, whole.bar_starts)

    @classmethod
    def of_bars(cls, bars: list[list[Chord]]) -> ChordTimeline:
        """Bars played once (a tune's choruses): after the last, its last chord stays."""
        changes, starts, tick = [], [], 0
        for chords in bars:
            length = bar_ticks([chords])
            starts.append(tick)
            changes += [(tick + round(i * length / len(chords)), chord) for i, chord in enumerate(chords)]
            tick += length
        return cls(changes, bar_starts=starts if tick != len(bars) * BAR_TICKS else None)

    def chord_at(self, tick: float) -> Chord:
        tick = self._folded(tick)
        return self.changes[max(0, bisect.bisect_right(self._starts, tick) - 1)][1]

    def spans(self, end: int) -> Iterator[tuple[int, int, Chord]]:
        """(start, end, chord) for each chord from tick 0 to `end`, repeats unrolled."""
        loop = self.length or end
        head = [(t, chord) for t, chord in self.changes if t < min(self.loop_start, end)]
        body = [(t - self.loop_start, chord) for t, chord in self.changes if t >= self.loop_start]
        starts = head + [
            (self.loop_start + lap + t, chord)
            for lap in range(0, max(end - self.loop_start, 0), loop)
            for t, chord in body
            if self.loop_start + lap + t < end
        ]
        for i, (start, chord) in enumerate(starts):
            yield start, starts[i + 1][0] if i + 1 < len(starts) else end, chord


def bar_ticks(bars: Sequence[list[Chord]]) -> int:
    """How long these bars last, in ticks (4/4, or each bar's own length)."""
    return sum(getattr(bar, "beats", BEATS_PER_BAR) * TICKS_PER_BEAT for bar in bars)
