"""On stage, on the main thread: acting on what the keyboard and the page asked for (queued by
`stage.Stage`) — a tune called and handed over at a bar line, a tempo from the next bar line, a
mode, the switches — and publishing what the page shows. One per performance (per tune); the
daemon's Player owns it and reads `change_to` to hand over to the next tune.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

from jazzd.live.clock import Clock, InternalClock, MidiClockFollower
from jazzd.live.config import PlayOptions
from jazzd.live.outputs import MidiOutput
from jazzd.live.perform import begin_counting
from jazzd.live.stage import Request, Stage
from jazzd.live.turns import STRATEGIES
from jazzd.live.wiring import Live
from jazzd.music.grammar import BEATS_PER_BAR, TICKS_PER_BEAT

log = logging.getLogger(__name__)

# Seconds past what was handed to the output where a tune or tempo may change: room for the
# main thread itself, so that the count-in it queues there is never too late to be played.
CHANGE_MARGIN = 0.05


class OnStage:
    """The requests of one performance, and what its page shows."""

    def __init__(
        self,
        stage: Stage,
        options: PlayOptions,
        clock: Clock,
        live: Live,
        output: MidiOutput,
        status: Callable[[], None],
    ):
        self.stage, self.options, self.clock, self.live, self.output = stage, options, clock, live, output
        self.status = status  # tells systemd what jazzd plays now
        self.change_to: int | None = None  # a setlist entry called: the performance hands over
        self._called: int | None = None  # ... once the followed master stops
        self._shown: dict | None = None  # what the page was last shown
        self._bars: list[list[str]] | None = None

    def next_bar_line(self) -> float:
        """The tune's first bar line that nothing handed to the output has reached (a beat)."""
        soon = self.clock.beat_at(self.clock.now() + self.output.lead + CHANGE_MARGIN)
        timeline = self.live.chords.fallback
        return timeline.next_bar_line(math.ceil(soon * TICKS_PER_BEAT)) / TICKS_PER_BEAT

    def enter(self, before: OnStage) -> None:
        """This tune follows `before`'s: on jazzd's own clock, at its next bar line — what
        would sound past it is dropped, notes held over it end on it, and this tune's count-in
        (or its first downbeat) begins there at its tempo. On a followed clock, with the
        master's next Start."""
        self.status()
        if not isinstance(self.clock, InternalClock):
            log.info("%s begins with the master's next Start", self.options.chart.title)
            return
        count = float(self.options.count_in * BEATS_PER_BAR)
        end = before.next_bar_line()
        held_over = self.live.scheduler.end_tune(end, end + count, -count)
        self.clock.set_tempo(self.options.bpm, at_beat=-count)
        begin_counting(self.live.scheduler, self.options, self.live.performer.end, -count, next_tune=True)
        log.info(
            "%s at %g bpm from the next bar line (in %.0f ms; %d notes held over it end on it)",
            self.options.chart.title,
            self.options.bpm,
            1000 * (self.clock.time_of(-count) - self.clock.now()),
            held_over,
        )

    def take_requests(self) -> None:
        """Act on what the keyboard and the page asked for; a tune called while a followed
        master plays is taken once it stops."""
        for request in self.stage.take():
            self.act(request)
        if self._called is not None and not self.clock.running:
            self.change_to = self._called

    def act(self, request: Request) -> None:
        """One request, from the keyboard or the page (logged alike)."""
        kind, value, source = request.kind, request.value, request.source
        if kind in ("call", "step"):
            self._call(request)
        elif kind == "tempo":
            if not isinstance(self.clock, InternalClock):
                log.warning("tempo %g bpm from the %s: the MIDI clock followed sets the tempo", value, source)
                return
            at = self.next_bar_line()
            self.clock.set_tempo(value, at_beat=at)
            log.info("tempo %g bpm from the %s, from the bar line at beat %g", value, source, at)
            self.status()
        elif kind == "show":  # a page opened: show it everything now
            self._shown = None
        elif kind == "mode":
            performer = self.live.performer
            performer.turns = STRATEGIES[value](
                self.options.trade_bars, performer.form, self.options.answer_after
            )
            self.options.mode = value  # the next tune keeps it, unless its entry says otherwise
            log.info("mode %s from the %s", value, source)
        else:  # start_stop, panic: as the keyboard's own switch does
            self.live.keyboard.turn(kind, value, source)

    def _call(self, request: Request) -> None:
        index = self.stage.entry_called(request)
        if index is None:
            return
        name = self.stage.setlist[index].name
        log.info("tune %d of the setlist (%s) called from the %s", index + 1, name, request.source)
        if isinstance(self.clock, MidiClockFollower) and self.clock.running:
            self._called = index  # the master plays on: the tune waits for its Stop
        else:
            self.change_to = index

    def show(self, t: float, output_ok: bool, input_name: str | None) -> None:
        """Publish what the page shows, when any of it changed (only while a page watches)."""
        live, clock = self.live, self.clock
        bars = self._written_bars()
        tick = math.floor(clock.beat_at(t) * TICKS_PER_BEAT) if clock.running else -1
        bar = live.chords.fallback.bar_index(tick) if tick >= 0 else -1  # none lit in a count-in
        shown = {
            "tune": self.options.chart.title,
            "setlist": [entry.chart.title for entry in self.stage.setlist],
            "current": self.stage.current,
            "bars": bars,
            "bar": bar if 0 <= bar < len(bars) else None,
            "chord": live.chords.current.symbol if live.chords.current else None,
            "tempo": round(clock.tempo, 2),
            "mode": self.options.mode,
            "clock": self.options.clock,
            "playing": clock.running and not live.performer.paused,
            "knobs": dict(live.keyboard.knobs),
            "output": {"name": self.output.name, "ok": output_ok},
            "input": input_name,
        }
        if shown != self._shown:
            self._shown = shown
            self.stage.publish(shown)

    def _written_bars(self) -> list[list[str]]:
        """The tune's bars as the page draws them (every chorus, when their number is set)."""
        if self._bars is None:
            chart, choruses = self.options.chart, self.options.choruses
            bars = chart.bars(choruses) if choruses else chart.intro + chart.chorus()
            self._bars = [[chord.symbol for chord in bar] for bar in bars]
        return self._bars
