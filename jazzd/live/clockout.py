"""MIDI clock out: where jazzd's own clock's ticks fall (24 a beat from a start beat) and where
they stop. The scheduler sends them from the same loop as the notes, under its lock, so a tick
and a note due together keep their order; unlike notes, ticks go on through a flush, so a drum
machine following keeps time while jazzd pauses or is panicked."""

from __future__ import annotations

import math

import mido

from jazzd.music.midi import CLOCKS_PER_BEAT

CLOCK_TICK = mido.Message("clock")


class ClockOut:
    """The ticks to send: none until `start`; Stop at the beat `stop_at` names."""

    def __init__(self) -> None:
        self._ticks: tuple[float, int] | None = None  # (from beat, next tick number)
        self._until = math.inf  # the beat where Stop is sent

    def start(self, beat: float) -> None:
        self._ticks, self._until = (beat, 0), math.inf

    def stop_at(self, beat: float) -> None:
        self._until = beat

    def renumber(self, shift: float) -> None:
        """Beats renumbered (a new tune's): the same ticks, and no Stop set yet."""
        if self._ticks is not None:
            self._ticks = (self._ticks[0] - shift, self._ticks[1])
        self._until = math.inf

    @property
    def ticking(self) -> bool:
        return self._ticks is not None

    def next_beat(self) -> float:
        """The beat of the next tick (inf when not ticking)."""
        if self._ticks is None:
            return math.inf
        start, number = self._ticks
        return start + number / CLOCKS_PER_BEAT

    def take(self) -> mido.Message:
        """The clock message due now: a tick, or Stop at the end (then no more)."""
        start, number = self._ticks
        if self.next_beat() >= self._until:
            self._ticks = None
            return mido.Message("stop")
        self._ticks = (start, number + 1)
        return CLOCK_TICK

    def end(self) -> bool:
        """The clock jazzd sends stops with jazzd: True if a Stop is owed."""
        ticking, self._ticks = self._ticks is not None, None
        return ticking
