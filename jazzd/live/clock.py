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

from jazzd.music.midi import CLOCKS_PER_BEAT

FIT_TICKS = 24  # ticks in the tempo fit: one beat
RESYNC_FRACTION = 0.35  # ticks drifting this far (in periods) off the fit ...
JUMP_TICKS = 3  # ... and further each time for this many ticks: a new tempo, a new fit
BURST_FRACTION = 0.25  # ticks closer together than this (in periods) came in a burst
SETTLED_TICKS = 6  # ticks in the fit before ticks are placed by their time, not only counted
EARLY_LOSS = 1.6  # ... until then an interval this many times the ones before is ticks lost
CHANGE_TICKS = 4  # this many steady intervals off the fit are a new tempo ...
CHANGE_SPREAD = 0.2  # ... steady: each within this fraction of their mean ...
CHANGE_FRACTION = 0.25  # ... off: their mean this far (as a fraction) from the fitted period
OUTLIER_PERIODS = 0.5  # a tick this far off the settled line is not fitted
LOSS_PERIODS = 4  # no tick for this many periods (and at least LOSS_MIN_SECONDS): clock lost
LOSS_MIN_SECONDS = 0.08
FIRST_PERIOD = 60 / 120 / CLOCKS_PER_BEAT  # the period guessed from a session's first tick alone


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

    @property
    def start_beat(self) -> float:
        """Where the current session began (a Start, a Continue, a Song Position)."""
        raise NotImplementedError

    @property
    def next_start(self) -> float | None:
        """Where a session that has not begun will most likely begin (None: none awaited)."""
        return None


class InternalClock(Clock):
    """A steady tempo from a start time. A tempo change keeps the beat position continuous; it
    may take effect at a beat still to come (a bar line), so the notes before it keep their
    times. The line is one or two straight segments, each (time, beat, bpm), replaced whole so
    readers never see half an update."""

    def __init__(self, bpm: float, now: Callable[[], float] = time.perf_counter, start_beat: float = 0.0):
        self.now = now
        self._line: tuple[tuple[float, float, float], ...] = ((now(), start_beat, bpm),)
        self._start_beat = start_beat
        self._running = True

    def beat_at(self, t: float) -> float:
        anchor_time, anchor_beat, bpm = self._segment(0, t)
        return anchor_beat + (t - anchor_time) * bpm / 60.0

    def time_of(self, beat: float) -> float:
        anchor_time, anchor_beat, bpm = self._segment(1, beat)
        return anchor_time + (beat - anchor_beat) * 60.0 / bpm

    @property
    def tempo(self) -> float:
        """The tempo now (a change at a later bar line is `tempo_at` that bar)."""
        return self.tempo_at(self.beat_at(self.now()))

    def tempo_at(self, beat: float) -> float:
        return self._segment(1, beat)[2]

    def _segment(self, field: int, value: float) -> tuple[float, float, float]:
        """The segment holding `value`, a time (field 0) or a beat (field 1)."""
        line = self._line
        return line[-1] if len(line) > 1 and value >= line[-1][field] else line[0]

    @property
    def running(self) -> bool:
        return self._running

    def set_tempo(self, bpm: float, at_beat: float | None = None) -> None:
        """`bpm` from `at_beat` on (default: now); what comes before it keeps its times."""
        if at_beat is None:
            at_beat = self.beat_at(self.now())
        self._line = (self._segment(1, at_beat), (self.time_of(at_beat), at_beat, bpm))

    def rebase(self, shift: float, start_beat: float) -> None:
        """Beat b becomes b - `shift` at the same time (a new tune's beat 0 falls at old beat
        `shift`); its session begins at `start_beat` (its count-in)."""
        self._line = tuple((t, b - shift, bpm) for t, b, bpm in self._line)
        self._start_beat = start_beat

    @property
    def start_beat(self) -> float:
        return self._start_beat

    def start(self, beat: float = 0.0, at: float | None = None) -> None:
        """A session from `beat`, which falls at time `at` (default: now)."""
        self._line = ((self.now() if at is None else at, beat, self._line[-1][2]),)
        self._start_beat = beat
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
    """Follows MIDI clock messages fed to `on_message` with their arrival times.

    Each tick is placed on the beat line by its time, not only counted: once the fit has
    settled, a tick about two periods after the last is the one after a lost tick, and a tick
    far too early for the next is a doubled one (ignored), so a link that loses or doubles ticks
    cannot shift the solo for good. Inter-arrival intervals that agree with each other but not
    with the fit are a new tempo: the fit starts again from the ticks at that tempo.
    """

    def __init__(
        self, now: Callable[[], float] = time.perf_counter, on_change: Callable[[str], None] | None = None
    ):
        self.now = now
        # "start", "stop", "continue", "position", "running" (a session's first tick)
        self.on_change = on_change or (lambda event: None)
        self._lock = threading.Lock()
        self._ticks: deque[tuple[int, float]] = deque(maxlen=FIT_TICKS)
        self._errors: deque[float] = deque(maxlen=JUMP_TICKS)  # last ticks' distance from the fit, in periods
        self._intervals: deque[float] = deque(maxlen=CHANGE_TICKS)  # seconds between arrivals
        self._placed: deque[int] = deque(maxlen=CHANGE_TICKS)  # positions of the last ticks
        self._position = -1  # index of the last tick heard while running
        self._start_position = 0
        self._running = False
        self._fit: tuple[float, float] | None = None  # seconds per tick, time of tick 0
        self._hint: float | None = None  # seconds per tick from before a Start or Continue
        self._last_time: float | None = None
        self._deficit = 0  # ticks that may have been lost before the last one (decided on the next)
        self._just_started = False  # a Start, and no tick or other message since
        self.doubled_starts = 0  # Starts taken for the first tick they replaced
        self.dropped = 0  # ticks found missing
        self.doubled = 0  # ticks ignored as doubles

    def on_message(self, kind: str, t: float, song_position: int = 0) -> None:
        """kind: clock, start, stop, continue or songpos (song_position in 16th notes)."""
        event = None
        with self._lock:
            if kind == "clock":
                event = "running" if self._tick(t) else None
            elif kind == "start" and self._just_started:
                # a Start right after a Start, no tick between: a link that turned the first tick
                # into a copy of the Start (seen over JACK); it stands where tick 0 was
                self.doubled_starts += 1
                self._tick(t)
            elif kind == "start":
                self._relocate(-1)
                self._running, self._just_started, event = True, True, "start"
            elif kind == "continue":
                self._relocate(self._position)
                self._running, event = True, "continue"
            elif kind == "stop":
                self._running, self._just_started, event = False, False, "stop"
            elif kind == "songpos":
                self._relocate(song_position * (CLOCKS_PER_BEAT // 4) - 1)
                event = "position"
        if event:
            self.on_change(event)

    def _relocate(self, position: int) -> None:
        """A new session from `position`: the old fit is forgotten (its period kept as a hint),
        so nothing is placed on the old session's line; running again from the next tick."""
        self._just_started = False
        if self._fit is not None:
            self._hint = self._fit[0]
        self._fit = None
        self._position = position
        self._start_position = max(0, position + 1)
        self._ticks.clear()
        self._errors.clear()
        self._intervals.clear()
        self._placed.clear()
        self._deficit = 0

    def _tick(self, t: float) -> bool:
        """Take a tick; True if it is the one that set a session running (its first)."""
        previous, self._last_time = self._last_time, t
        interval = None if previous is None else t - previous
        if interval is not None:
            self._intervals.append(interval)
        if not self._running:
            if len(self._intervals) >= 2:  # a master clocking while stopped: its period, as a hint
                self._hint = sorted(self._intervals)[len(self._intervals) // 2]
            return False
        self._just_started = False
        began = self._fit is None
        position = self._place(t, interval)
        if position is None:
            return False
        self._position = position
        self._placed.append(position)
        if self._deficit:
            return False  # placed for now; its place on the line is decided by the next tick
        if self._fit is not None and self._ticks:
            period, origin = self._fit
            error = (t - (origin + period * position)) / period
            self._errors.append(error)
            if self._tempo_jumped(period):
                self._restart_fit()
            elif abs(error) > OUTLIER_PERIODS and len(self._ticks) >= SETTLED_TICKS:
                return False  # a late tick (a burst, or one after a loss): not on the line
        self._ticks.append((position, t))
        self._fit = self._fitted()
        return began and self._fit is not None

    def _place(self, t: float, interval: float | None) -> int | None:
        """The position of a tick arriving at `t`; None for a doubled tick.

        A tick later than the next one's time is counted as the next one until the tick after
        it tells: if that one comes at a normal interval and sits on the line only with the
        missing ticks counted, they were lost; if it comes in a burst, the first was only late."""
        expected = self._position + 1
        if self._fit is None or len(self._ticks) < SETTLED_TICKS:
            return expected + self._lost_early(interval)
        period, origin = self._fit
        if self._tempo_changed(period):
            # the last ticks were at a new tempo: count them one by one from before the change
            base = self._placed[-CHANGE_TICKS] if len(self._placed) >= CHANGE_TICKS else self._position
            self._hint = sum(self._intervals) / len(self._intervals)
            self._fit, self._deficit = None, 0
            self._ticks.clear()
            self._errors.clear()
            return base + len(self._intervals)
        burst = interval is not None and interval < BURST_FRACTION * period
        if self._deficit and not burst:
            if abs((t - origin) / period - (expected + self._deficit)) < 0.5:
                self.dropped += self._deficit
                expected += self._deficit
            self._deficit = 0
        nearest = round((t - origin) / period)
        if nearest > expected and not burst:
            self._deficit = nearest - expected
        elif nearest < expected and burst and not self._deficit:
            self.doubled += 1
            return None
        elif burst and self._deficit:
            self._deficit -= 1
        return expected

    def _lost_early(self, interval: float | None) -> int:
        """Before the fit has settled, ticks are counted — but an interval of twice the ones
        before it or more (three of them, agreeing) is ticks lost, not a slower master."""
        earlier = list(self._intervals)[:-1]
        if interval is None or len(earlier) < 3:
            return 0
        typical = sorted(earlier)[len(earlier) // 2]
        if max(earlier) - min(earlier) > CHANGE_SPREAD * typical or interval < EARLY_LOSS * typical:
            return 0
        lost = round(interval / typical) - 1
        self.dropped += lost
        return lost

    def _restart_fit(self) -> None:
        """Start the fit again from the last tick (its period kept until two ticks give a new one)."""
        last = self._ticks[-1] if self._ticks else None
        self._ticks.clear()
        self._errors.clear()
        if last is not None:
            self._ticks.append(last)

    def _tempo_changed(self, period: float) -> bool:
        """The last intervals agree with each other but not with the fit: a new tempo. (A lost
        tick is one long interval, a burst one long and several short ones: neither agrees.)"""
        if len(self._intervals) < CHANGE_TICKS:
            return False
        mean = sum(self._intervals) / len(self._intervals)
        steady = all(abs(i - mean) < CHANGE_SPREAD * mean for i in self._intervals)
        return steady and abs(mean - period) > CHANGE_FRACTION * period

    def _tempo_jumped(self, period: float) -> bool:
        """The last ticks are off the fit by more and more, on the same side, each a plausible
        interval after the one before: a new tempo. Ticks bunched together are a burst from a
        congested link: the fit averages them instead."""
        if len(self._errors) < JUMP_TICKS or len(self._intervals) < JUMP_TICKS - 1:
            return False
        if min(list(self._intervals)[-(JUMP_TICKS - 1) :]) < BURST_FRACTION * period:
            return False
        errors = list(self._errors)
        same_side = all(e > 0 for e in errors) or all(e < 0 for e in errors)
        growing = all(abs(a) < abs(b) for a, b in itertools.pairwise(errors))
        return same_side and growing and abs(errors[-1]) > RESYNC_FRACTION

    def _fitted(self) -> tuple[float, float] | None:
        n = len(self._ticks)
        if n < 2:
            period = self._fit[0] if self._fit is not None else self._hint
            if n == 1:  # keep the tempo (or guess one: the first beat is now), move the line to this tick
                period = period or FIRST_PERIOD
                position, t = self._ticks[0]
                return period, t - period * position
            return None
        mean_x = sum(p for p, _ in self._ticks) / n
        mean_y = sum(t for _, t in self._ticks) / n
        sxx = sum((p - mean_x) ** 2 for p, _ in self._ticks)
        sxy = sum((p - mean_x) * (t - mean_y) for p, t in self._ticks)
        period = sxy / sxx if sxx else 0.0
        if period <= 0:
            return self._fit
        return period, mean_y - period * mean_x

    def beat_at(self, t: float) -> float:
        fit = self._fit
        if fit is None:
            return max(0.0, self._position) / CLOCKS_PER_BEAT
        period, origin = fit
        return (t - origin) / period / CLOCKS_PER_BEAT

    def time_of(self, beat: float) -> float:
        fit = self._fit
        if fit is None:
            return float("inf")
        period, origin = fit
        return origin + period * beat * CLOCKS_PER_BEAT

    @property
    def tempo(self) -> float:
        fit = self._fit
        return 0.0 if fit is None else 60.0 / (fit[0] * CLOCKS_PER_BEAT)

    @property
    def running(self) -> bool:
        return self._running and self._fit is not None and not self.lost(self.now())

    @property
    def start_beat(self) -> float:
        return self._start_position / CLOCKS_PER_BEAT

    @property
    def next_start(self) -> float | None:
        """Not running: the next session most likely begins where a Start or Song Position put
        it (beat 0 after a Stop: a drum machine's Start is the common case)."""
        if self.running:
            return None
        return self.start_beat if self._running and self._fit is None else 0.0

    @property
    def position(self) -> float:
        """Beat of the last tick heard (what Song Position and Continue resume from)."""
        return max(0, self._position) / CLOCKS_PER_BEAT

    @property
    def last_tick_time(self) -> float:
        return self._last_time or 0.0

    def lost(self, t: float) -> bool:
        """Running, but no tick for LOSS_PERIODS periods: the clock source went away."""
        fit = self._fit
        if not self._running or fit is None or self._last_time is None:
            return False
        return t - self._last_time > max(LOSS_PERIODS * fit[0], LOSS_MIN_SECONDS)
