"""Clocks: one interface turning beats into times and back, with three implementations.

- `InternalClock` keeps its own tempo; a tempo change re-anchors so the beat never jumps.
- `MidiClockFollower` follows MIDI clock (24 ticks a beat, Start / Stop / Continue / Song
  Position). Tick times are taken on arrival; the beat ⇄ time line is a least-squares fit over
  the last beat of ticks, which averages out jitter and follows tempo changes within a beat.
- `ManualClock` is moved by hand, for exact tests.

All times are `time.perf_counter()` seconds (monotonic): never wall time, which NTP steps on a
Pi that booted without a real-time clock.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable

MIDI_TICKS_PER_BEAT = 24
FIT_TICKS = 24  # ticks in the tempo fit: one beat
RESYNC_FRACTION = 0.35  # ticks drifting this far (in periods) off the fit ...
JUMP_TICKS = 3  # ... and further each time for this many ticks: a new tempo, a new fit
BURST_FRACTION = 0.25  # ticks closer together than this (in periods) came in a burst
LOSS_PERIODS = 4  # no tick for this many periods (and at least LOSS_MIN_SECONDS): clock lost
LOSS_MIN_SECONDS = 0.08


class Clock:
    """Beat ⇄ time. Beats are quarter notes from the start of the performance."""

    now: Callable[[], float] = staticmethod(time.perf_counter)

    def beat_at(self, t: float) -> float:
        raise NotImplementedError

    def time_of(self, beat: float) -> float:
        raise NotImplementedError

    @property
    def tempo(self) -> float:
        """Beats per minute."""
        raise NotImplementedError

    @property
    def running(self) -> bool:
        raise NotImplementedError


class InternalClock(Clock):
    """A steady tempo from a start time; `set_tempo` keeps the beat position continuous."""

    def __init__(self, bpm: float, now: Callable[[], float] = time.perf_counter, start_beat: float = 0.0):
        self.now = now
        self._anchor = (now(), start_beat, bpm)  # replaced whole, so readers never see half an update
        self._running = True

    def beat_at(self, t: float) -> float:
        anchor_time, anchor_beat, bpm = self._anchor
        return anchor_beat + (t - anchor_time) * bpm / 60.0

    def time_of(self, beat: float) -> float:
        anchor_time, anchor_beat, bpm = self._anchor
        return anchor_time + (beat - anchor_beat) * 60.0 / bpm

    @property
    def tempo(self) -> float:
        return self._anchor[2]

    @property
    def running(self) -> bool:
        return self._running

    def set_tempo(self, bpm: float) -> None:
        t = self.now()
        self._anchor = (t, self.beat_at(t), bpm)

    def start(self, beat: float = 0.0) -> None:
        self._anchor = (self.now(), beat, self._anchor[2])
        self._running = True

    def stop(self) -> None:
        self._running = False


class ManualClock(InternalClock):
    """An internal clock whose time is set by the test: `advance(seconds)`."""

    def __init__(self, bpm: float = 120.0, start_time: float = 0.0):
        self.t = start_time
        super().__init__(bpm, now=lambda: self.t)

    def advance(self, seconds: float) -> None:
        self.t = round(self.t + seconds, 9)  # whole nanoseconds: exact beat arithmetic in tests


class MidiClockFollower(Clock):
    """Follows MIDI clock messages fed to `on_message` with their arrival times."""

    def __init__(
        self, now: Callable[[], float] = time.perf_counter, on_change: Callable[[str], None] | None = None
    ):
        self.now = now
        self.on_change = on_change or (lambda event: None)  # "start", "stop", "continue", "position"
        self._lock = threading.Lock()
        self._ticks: deque[tuple[int, float]] = deque(maxlen=FIT_TICKS)
        self._errors: deque[float] = deque(maxlen=JUMP_TICKS)  # last ticks' distance from the fit, in periods
        self._position = -1  # index of the last tick heard while running
        self._running = False
        self._fit: tuple[float, float] | None = None  # seconds per tick, time of tick 0
        self._last_time = 0.0

    def on_message(self, kind: str, t: float, song_position: int = 0) -> None:
        """kind: clock, start, stop, continue or songpos (song_position in 16th notes)."""
        event = None
        with self._lock:
            if kind == "clock":
                self._tick(t)
            elif kind == "start":
                self._position, self._running, event = -1, True, "start"
                self._ticks.clear()
                self._errors.clear()
            elif kind == "continue":
                self._running, event = True, "continue"
                self._ticks.clear()
                self._errors.clear()
            elif kind == "stop":
                self._running, event = False, "stop"
            elif kind == "songpos":
                self._position = song_position * (MIDI_TICKS_PER_BEAT // 4) - 1
                self._ticks.clear()
                self._errors.clear()
                event = "position"
        if event:
            self.on_change(event)

    def _tick(self, t: float) -> None:
        self._last_time = t
        if not self._running:
            return
        self._position += 1
        if self._fit is not None and self._ticks:
            period, origin = self._fit
            self._errors.append((t - (origin + period * self._position)) / period)
            if self._tempo_jumped(period):
                last_position, last_time = self._ticks[-1]
                self._ticks.clear()  # start the fit again from here
                self._errors.clear()
                self._ticks.append((last_position, last_time))
        self._ticks.append((self._position, t))
        self._fit = self._fitted()

    def _tempo_jumped(self, period: float) -> bool:
        """The last ticks are off the fit by more and more, on the same side, each a plausible
        interval after the one before: a new tempo. Ticks bunched together are a burst from a
        congested link: the fit averages them instead."""
        if len(self._errors) < JUMP_TICKS or len(self._ticks) < JUMP_TICKS:
            return False
        times = [t for _, t in list(self._ticks)[-JUMP_TICKS + 1 :]] + [self._last_time]
        if min(b - a for a, b in itertools.pairwise(times)) < BURST_FRACTION * period:
            return False
        errors = list(self._errors)
        same_side = all(e > 0 for e in errors) or all(e < 0 for e in errors)
        growing = all(abs(a) < abs(b) for a, b in itertools.pairwise(errors))
        return same_side and growing and abs(errors[-1]) > RESYNC_FRACTION

    def _fitted(self) -> tuple[float, float] | None:
        n = len(self._ticks)
        if n < 2:
            if n == 1 and self._fit is not None:  # keep the tempo, move the line to this tick
                position, t = self._ticks[0]
                return self._fit[0], t - self._fit[0] * position
            return None
        mean_x = sum(p for p, _ in self._ticks) / n
        mean_y = sum(t for _, t in self._ticks) / n
        sxx = sum((p - mean_x) ** 2 for p, _ in self._ticks)
        sxy = sum((p - mean_x) * (t - mean_y) for p, t in self._ticks)
        period = sxy / sxx
        if period <= 0:
            return self._fit
        return period, mean_y - period * mean_x

    def beat_at(self, t: float) -> float:
        fit = self._fit
        if fit is None:
            return max(0.0, self._position) / MIDI_TICKS_PER_BEAT
        period, origin = fit
        return (t - origin) / period / MIDI_TICKS_PER_BEAT

    def time_of(self, beat: float) -> float:
        fit = self._fit
        if fit is None:
            return float("inf")
        period, origin = fit
        return origin + period * beat * MIDI_TICKS_PER_BEAT

    @property
    def tempo(self) -> float:
        fit = self._fit
        return 0.0 if fit is None else 60.0 / (fit[0] * MIDI_TICKS_PER_BEAT)

    @property
    def running(self) -> bool:
        return self._running and self._fit is not None and not self.lost(self.now())

    @property
    def position(self) -> float:
        """Beat of the last tick heard (what Song Position and Continue resume from)."""
        return max(0, self._position) / MIDI_TICKS_PER_BEAT

    @property
    def last_tick_time(self) -> float:
        return self._last_time

    def lost(self, t: float) -> bool:
        """Running, but no tick for LOSS_PERIODS periods: the clock source went away."""
        fit = self._fit
        if not self._running or fit is None:
            return False
        return t - self._last_time > max(LOSS_PERIODS * fit[0], LOSS_MIN_SECONDS)
