"""The live player: wires engine, clock, keyboard, performer, scheduler and ports, and keeps
them going — waiting for ports, reconnecting, following or losing the clock — until stopped.

Threads (docs/ARCHITECTURE.md): the timing thread owns the output port; the input thread hands
what the reader process read to the keyboard and the clock; the main thread generates ahead,
watches the ports and the clock, feeds the watchdog and acts on signals (service.py).
"""

from __future__ import annotations

import logging
import math
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import replace

import mido

from jazzd.errors import JazzdError
from jazzd.live.clock import InternalClock, MidiClockFollower
from jazzd.live.config import PlayOptions, tune_options
from jazzd.live.inport import Input
from jazzd.live.keeper import PortKeeper
from jazzd.live.midilog import MidiLog
from jazzd.live.outputs import BACKENDS
from jazzd.live.perform import count_in
from jazzd.live.ports import PortLost
from jazzd.live.service import Signals, notify
from jazzd.live.stage import Request, Stage
from jazzd.live.turns import STRATEGIES
from jazzd.live.wiring import wire
from jazzd.music.grammar import BEATS_PER_BAR, TICKS_PER_BEAT
from jazzd.music.midi import all_notes_off

log = logging.getLogger(__name__)

STEP_SECONDS = 0.01  # the main thread's wait while the clock does not run (a Start may come)
LONGEST_WAIT = 0.03  # its longest wait while playing (a followed clock may speed up meanwhile)
START_LEAD = 0.1  # seconds from ports open to the first beat of the internal clock
WATCH_SECONDS = 1.0  # how often the port list is checked for a vanished port
CLOCK_MESSAGES = {"clock", "start", "stop", "continue", "songpos"}
PING_SECONDS = 0.5  # watchdog pings, from the main thread (more often if WatchdogSec is short) ...
CHANGE_MARGIN = 0.02  # seconds past what was handed to the output where a tune or tempo may change
STALL_SECONDS = 2.0  # ... only while the timing thread went round its loop this recently
FLUSH_SECONDS = 0.2  # how long a reconnect waits for the timing thread to silence the old port
EX_SOFTWARE = 70  # a thread died: exit so that systemd restarts jazzd


class Player:
    """One performance: `run` until a signal comes; returns the exit code.

    Built from `previous` (a reload), it keeps what the musician set live: the chord held, the
    knobs' last values, a pause, and the MIDI clock it was following."""

    def __init__(self, options: PlayOptions, previous: Player | None = None, next_tune: bool = False):
        self.options = options
        self.now = time.perf_counter
        self.stage = previous.stage if previous is not None else Stage()
        self.stage.setlist = options.setlist
        self.stage.current = next(
            (i for i, e in enumerate(options.setlist) if e.chart is options.chart), None
        )
        if next_tune:  # the band goes on: the same clock, ports, log and timing thread
            self.clock = previous.clock
            self.clock.on_change = self._clock_changed
        elif previous is not None and _same_clock_input(previous.options, options):
            self.clock = previous.clock  # the master runs on: no waiting for its next Start
            self.clock.on_change = self._clock_changed
        elif options.clock == "midi":
            self.clock = MidiClockFollower(now=self.now, on_change=self._clock_changed)
        else:
            self.clock = InternalClock(options.bpm, now=self.now)
        if next_tune or (
            previous is not None and _same_port(previous.options, options, "port") and previous.output.is_open
        ):
            self.output = previous.output  # a reload keeps an unchanged port open: no gap, no reconnect
        else:
            self.output = BACKENDS[options.midi_api].make_output(
                options.port, virtual=options.virtual, realtime_priority=options.realtime_priority
            )
        if previous is not None:  # one log for the whole run of jazzd
            self.midi_log = previous.midi_log
        else:
            self.midi_log = MidiLog(options.midi_log) if options.midi_log else None
        self.live = wire(
            options, self.clock, self._send, stage=self.stage, carried=previous.live if next_tune else None
        )
        self.live.scheduler.drop_pending = self.output.drop_pending
        if self.midi_log is not None:  # otherwise the timing path makes no call for it
            self.live.scheduler.on_sent = self._record
            self.output.on_own_messages = self._record_all  # what it sends by itself as it ends
        self.input: Input | None = None
        if (
            previous is not None
            and (next_tune or _same_port(previous.options, options, "input"))
            and previous.input
        ):
            self.input = previous.input
            self.input.handler = self._receive
        elif options.input:
            self.input = Input(options.input, options.midi_api, self._receive, virtual=options.virtual)
        self.ports: PortKeeper | None = None  # while running
        self.signals: Signals | None = None  # ... and what the main thread waits on
        self.ended = False  # the tune's last chorus was played
        self._clock_was_lost = False
        self._timing: threading.Thread | None = None
        self._ping_every = min(PING_SECONDS, int(os.environ.get("WATCHDOG_USEC") or 10**9) / 2e6)
        self._pinged = -PING_SECONDS
        self.resume_from = None  # a reload during the same tune: the clock the band went on with
        self.change_to: int | None = None  # a setlist entry called: this performance hands over
        self._called: int | None = None  # ... once the followed master stops
        self._stop_timing = threading.Event()
        self._before: Player | None = None  # the tune this one follows at a bar line
        self._shown: dict | None = None  # what the page was last shown (bar, chord, ...)
        self._bars: list[list[str]] | None = None
        if next_tune:
            self.ports, self._timing, self._stop_timing = (
                previous.ports,
                previous._timing,
                previous._stop_timing,
            )
            self._before = previous
            self.live.chords.held = set(previous.live.chords.held)  # keys held go on; the chart's chords rule
            self._take_knobs(previous)
        elif previous is not None:
            self._take_over(previous)

    def _take_knobs(self, previous: Player) -> None:
        for action, value in previous.live.keyboard.knobs.items():
            if action in self.live.keyboard.actions:
                self.live.keyboard.turn(action, value, source=None)

    def _take_over(self, previous: Player) -> None:
        internal = isinstance(previous.clock, InternalClock) and isinstance(self.clock, InternalClock)
        tune = (self.options.chart, self.options.choruses)
        if (
            previous._timing is not None
            and internal
            and tune == (previous.options.chart, previous.options.choruses)
        ):
            self.resume_from = previous.clock  # it played: the band goes on, in the same tune
        self.live.chords.take_over(previous.live.chords)
        self._take_knobs(previous)

    # -- callbacks -----------------------------------------------------------------------------

    def _receive(self, message: mido.Message, t: float) -> None:
        """The input callback: clock messages to the clock, the rest to the keyboard."""
        if self.midi_log is not None:
            self.midi_log.received(message, t, self.input.name)
        if message.type in CLOCK_MESSAGES:
            if isinstance(self.clock, MidiClockFollower):
                self.clock.on_message(message.type, t, getattr(message, "pos", 0))
        else:
            self.live.keyboard.handle(message, t)

    def _clock_changed(self, event: str) -> None:
        if event in ("stop", "start", "position"):
            self.live.scheduler.request_flush()
        if event == "running":  # the session's first tick: its first beat is now, play it now
            self.live.scheduler.release(self.clock.start_beat)
            if self.signals is not None:
                self.signals.wake()
            return
        log.info("MIDI clock: %s", event)

    def _send(self, message: mido.Message, due: float | None = None) -> None:
        try:
            self.output.send(message, due)
        except PortLost as exc:
            if not self.ports.output_lost.is_set():
                log.warning("%s; reconnecting", exc)
                self.ports.output_lost.set()
            raise

    def _record_all(self, messages: list[mido.Message]) -> None:
        for message in messages:
            self._record(message, None)

    def _record(self, message: mido.Message, due: float | None) -> None:
        if self.midi_log is not None:
            self.midi_log.sent(message, due, self.now(), self.output.name)

    # -- ports ---------------------------------------------------------------------------------

    def _wait(self, signals: Signals, seconds: float) -> bool:
        """The main thread's only way to wait: pings the watchdog while the timing path lives;
        True once a signal asks the performance to end."""
        signals.wait(seconds)
        self._watchdog()
        return signals.pending()

    def _watchdog(self) -> None:
        t = self.now()
        if t - self._pinged < self._ping_every:
            return
        if self._timing is not None and t - self.live.scheduler.alive_at > STALL_SECONDS:
            return  # the timing thread hangs: no ping, so that systemd's watchdog fires
        self._pinged = t
        notify("WATCHDOG=1")

    def _silence_lost_output(self) -> None:
        self.live.scheduler.request_flush()  # forget what sounded there, sending what can be sent
        self.live.scheduler.wait_flushed(FLUSH_SECONDS)

    def _output_opened(self) -> None:
        """On opening the output: hand messages over as far ahead as it wants them, and silence
        whatever an earlier run (or a crash) left sounding, on every channel jazzd may have used:
        the solo's, the count-in's, and any this run played on."""
        self.live.scheduler.lead = self.output.lead
        channels = {self.options.channel - 1, *self.live.scheduler.channels}
        if self.options.count_in_channel:
            channels.add(self.options.count_in_channel - 1)
        for channel in sorted(channels):
            message = all_notes_off(channel)
            self._send(message)
            self._record(message, None)
        self._status()  # no longer "waiting for output port"

    # -- the performance -----------------------------------------------------------------------

    def run(self, signals: Signals) -> int:
        """Play until a signal comes (0), until the timing thread dies (EX_SOFTWARE), or until a
        setlist entry is called (0, with `change_to`: the timing thread plays on into it)."""
        self.signals = signals
        self.stage.wake = signals.wake
        handing_over = False
        try:
            if self._before is not None:
                self._enter_tune(self._before)
                self._before = None  # the tune before is let go
            elif not self._start(signals):
                return 0
            try:
                self._loop(signals)
            except Exception:
                log.exception("the main thread failed")
                return EX_SOFTWARE
            failed = self._failed()
            if failed:
                log.error("%s; exiting so that the service restarts", failed)
                return EX_SOFTWARE
            handing_over = self.change_to is not None and not signals.pending()
            return 0
        finally:
            if not handing_over:
                self._end_timing()

    def _start(self, signals: Signals) -> bool:
        """Open the ports (False: a signal came first), start the clock and the timing thread."""
        self.ports = PortKeeper(
            self.output, self.input, self.options.midi_api, lambda seconds: self._wait(signals, seconds)
        )
        notify("READY=1")
        if not self.ports.open_all(self._output_opened):
            return False
        self._status()
        if isinstance(self.clock, InternalClock):  # the line starts on the bar, from here
            self._start_internal_clock()
        self._timing = threading.Thread(
            target=self.live.scheduler.run, args=(self._stop_timing,), name="jazzd-timing"
        )
        self.live.scheduler.alive_at = self.now()
        self._timing.start()
        return True

    def _end_timing(self) -> None:
        """Stop the timing thread (it silences everything on its way out) and say what it did."""
        if self._timing is not None:
            self._stop_timing.set()
            self.live.scheduler.wake()  # the stop is seen now, not when the wait ends
            self._timing.join(timeout=2.0)
        stats = self.live.scheduler.stats
        log.info(
            "sent %d messages (%d late by over 1 ms, %d notes skipped as too late, %d failed); "
            "input: %d messages received, %d ignored, %d unreadable",
            stats.sent,
            stats.late,
            stats.skipped,
            stats.failed,
            self.input.received if self.input else 0,
            self.live.keyboard.ignored,
            self.input.garbage if self.input else 0,
        )
        if self.midi_log is not None:
            self.midi_log.write()

    def close_ports(self, keep: tuple = ()) -> None:
        """Close the ports, but those a reloaded performance took over (`keep`)."""
        if self.ports is None:
            return
        for port in (self.input, self.output):
            if port is not None and port not in keep:
                port.close()
        self.ports.lister.close()

    def _start_internal_clock(self) -> None:
        """Bar 1 a moment from now, after the count-in; the clock out starts with the count-in
        and stops at the tune's last bar line. After a reload during the same tune, the next
        bar line where the band is — by the clock it went on with — with no count-in."""
        options = self.options
        if self.resume_from is not None:
            playhead = self.resume_from.beat_at(self.now() + START_LEAD)
            first = math.ceil(playhead / BEATS_PER_BAR) * BEATS_PER_BAR
            self.clock.start(float(first), at=self.resume_from.time_of(first))
            log.info("going on at bar %d", first // BEATS_PER_BAR + 1)
        else:
            first = -options.count_in * BEATS_PER_BAR
            self.clock.start(float(first), at=self.now() + START_LEAD)
        self._count_in(float(first), resume=self.resume_from is not None)

    def _count_in(self, first: float, resume: bool = False, next_tune: bool = False) -> None:
        """From `first`: the clock out (Start before anything else on the first beat; for the
        next tune Stop, the top and Start) to the tune's last bar line, and the count-in's
        clicks (none when resuming)."""
        options, scheduler = self.options, self.live.scheduler
        if options.clock_out:
            if next_tune:
                scheduler.restart_clock_out(first)
            else:
                scheduler.start_clock_out(first, resume=resume)
            if math.isfinite(self.live.performer.end):
                scheduler.stop_clock_out(self.live.performer.end)
        if not resume and options.count_in and options.count_in_channel:
            count_in(scheduler, options.count_in, options.count_in_channel - 1, options.count_in_note)

    def _next_bar_line(self) -> float:
        """The tune's first bar line that nothing handed to the output has reached (a beat)."""
        soon = self.clock.beat_at(self.now() + self.output.lead + CHANGE_MARGIN)
        timeline = self.live.chords.fallback
        return timeline.next_bar_line(math.ceil(soon * TICKS_PER_BEAT)) / TICKS_PER_BEAT

    def _enter_tune(self, before: Player) -> None:
        """This tune follows `before`'s: on jazzd's own clock, at its next bar line — what
        would sound past it is dropped, notes held over it end on it, and this tune's count-in
        (or its first downbeat) begins there at its tempo. On a followed clock, with the
        master's next Start."""
        self._status()
        if not isinstance(self.clock, InternalClock):
            log.info("%s begins with the master's next Start", self.options.chart.title)
            return
        count = float(self.options.count_in * BEATS_PER_BAR)
        end = before._next_bar_line()
        held_over = self.live.scheduler.end_tune(end, end + count, -count)
        self.clock.set_tempo(self.options.bpm, at_beat=-count)
        self._count_in(-count, next_tune=True)
        log.info(
            "%s at %g bpm from the next bar line (in %.0f ms; %d notes held over it end on it)",
            self.options.chart.title,
            self.options.bpm,
            1000 * (self.clock.time_of(-count) - self.now()),
            held_over,
        )

    def _take_requests(self) -> None:
        """Act on what the keyboard and the page asked for; a tune called while a followed
        master plays is taken once it stops."""
        for request in self.stage.take():
            self._act(request)
        if self._called is not None and not self.clock.running:
            self.change_to = self._called

    def _act(self, request: Request) -> None:
        """The main thread acts on a request from the keyboard or the page (logged alike)."""
        kind, value, source = request.kind, request.value, request.source
        if kind in ("call", "step"):
            index = self.stage.entry_called(request)
            if index is None:
                return
            log.info(
                "tune %d of the setlist (%s) called from the %s",
                index + 1,
                self.stage.setlist[index].name,
                source,
            )
            if isinstance(self.clock, MidiClockFollower) and self.clock.running:
                self._called = index  # the master plays on: the tune waits for its Stop
            else:
                self.change_to = index
        elif kind == "tempo":
            if not isinstance(self.clock, InternalClock):
                log.warning("tempo %g bpm from the %s: the MIDI clock followed sets the tempo", value, source)
                return
            at = self._next_bar_line()
            self.clock.set_tempo(value, at_beat=at)
            log.info("tempo %g bpm from the %s, from the bar line at beat %g", value, source, at)
            self._status()
        elif kind == "show":  # a page opened: show it everything now
            self._shown = None
        elif kind == "mode":
            performer = self.live.performer
            performer.turns = STRATEGIES[value](
                self.options.trade_bars, performer.form, self.options.answer_after
            )
            self.options = replace(self.options, mode=value)
            log.info("mode %s from the %s", value, source)
        else:  # start_stop, panic: as the keyboard's own switch does
            self.live.keyboard.turn(kind, value, source)

    def _failed(self) -> str | None:
        """Why the performance cannot go on (a thread died; its traceback is logged), or None."""
        if self.live.scheduler.failure is not None:
            return f"the timing thread failed ({self.live.scheduler.failure})"
        if self.input is not None and self.input.failure is not None:
            return f"the input thread failed ({self.input.failure})"
        return None

    def _status(self) -> None:
        if isinstance(self.clock, MidiClockFollower):
            notify(f"STATUS=following MIDI clock on {self.options.input}")
        else:
            tune = f": {self.options.chart.title}" if self.options.tune else ""
            notify(f"STATUS=playing at {self.clock.tempo_at(math.inf):g} bpm on {self.output.name}{tune}")

    def _loop(self, signals: Signals) -> None:
        next_watch = self.now() + WATCH_SECONDS
        while not signals.pending() and not self._failed():
            t = self.now()
            self._take_requests()
            if self.change_to is not None:
                return
            if self._tune_over(t) and not self.stage.setlist:
                self.ended = True  # with a setlist, jazzd waits for the next tune called
                return
            if self.ports.output_lost.is_set():
                self.ports.reconnect_output(self._silence_lost_output, self._output_opened)
                continue
            self.live.performer.step(t)
            if isinstance(self.clock, MidiClockFollower):
                lost = self.clock.lost(t)
                if lost and not self._clock_was_lost:
                    log.warning(
                        "MIDI clock lost: no tick for %.0f ms; silenced",
                        1000 * (t - self.clock.last_tick_time),
                    )
                    self.live.scheduler.request_flush()
                    notify("STATUS=waiting for MIDI clock")
                elif self._clock_was_lost and not lost:
                    self._status()
                self._clock_was_lost = lost
            if t >= next_watch and not self.options.virtual:  # a virtual port cannot vanish
                next_watch = t + WATCH_SECONDS
                self.ports.watch(on_input_lost=self.live.keyboard.release_all)
            if self.midi_log is not None:
                self.midi_log.write()
            if self.stage.watched:
                self._show(t)
            self._wait(signals, self._idle_seconds(self.now()))

    def _show(self, t: float) -> None:
        """Publish what the page shows, when any of it changed (only while a page watches)."""
        live, clock = self.live, self.clock
        tick = math.floor(clock.beat_at(t) * TICKS_PER_BEAT) if clock.running else -1
        bars = self._written_bars()
        bar = live.chords.fallback.bar_index(tick) if tick >= 0 else None
        ports = self.ports
        shown = {
            "tune": self.options.chart.title,
            "setlist": [entry.chart.title for entry in self.stage.setlist],
            "current": self.stage.current,
            "bars": bars,
            "bar": bar if bar is not None and bar < len(bars) else None,
            "chord": live.chords.current.symbol if live.chords.current else None,
            "tempo": round(clock.tempo, 2),
            "mode": self.options.mode,
            "clock": self.options.clock,
            "playing": clock.running and not live.performer.paused,
            "knobs": dict(live.keyboard.knobs),
            "output": {"name": self.output.name, "ok": not (ports and ports.output_lost.is_set())},
            "input": self.input.name if self.input else None,
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

    def _tune_over(self, t: float) -> bool:
        """The last chorus has ended: its last bar line passed, every note and the clock's Stop sent."""
        scheduler = self.live.scheduler
        return (
            self.clock.running
            and self.live.performer.finished(self.clock.beat_at(t))
            and not scheduler.pending()
            and not scheduler.ticking
        )

    def _idle_seconds(self, t: float) -> float:
        """How long the main thread may wait: until the lookahead reaches the next token to
        generate (new chords need no waking: pitches are chosen at send time)."""
        next_beat = self.live.performer.next_beat
        if next_beat is None or not self.clock.running:
            return STEP_SECONDS
        due = self.clock.time_of(next_beat - self.live.performer.lookahead)
        return min(max(due - t, 0.001), LONGEST_WAIT)


def play(load_options: Callable[[], PlayOptions]) -> int:
    """Run the player until SIGTERM or SIGINT (exit 0, everything silenced). SIGHUP re-reads the
    configuration: the running performance ends cleanly (every note ended) and a new one starts
    with the new settings and what the musician set live; a bad new configuration (or a model
    that does not load) is logged and the old one kept."""
    options = load_options()
    signals = Signals()
    signals.install()
    player = Player(options)
    page = _open_page(options, player.stage) if options.web else None
    try:
        return _perform(player, signals, load_options)
    finally:
        if page is not None:
            page.stop()
        if player.midi_log is not None:
            player.midi_log.close()


def _open_page(options: PlayOptions, stage: Stage):
    """The phone page's server, listening (jazzd's [web]; changing it needs a restart)."""
    from jazzd.live.web import Page, is_local, read_token

    token = None if is_local(options.web_address) else read_token(options.web_token_file)
    page = Page(stage, options.web_address, options.web_port, token)
    page.start()
    return page


def _perform(player: Player, signals: Signals, load_options: Callable[[], PlayOptions]) -> int:
    """Performances, one after another across reloads; returns the exit code."""
    while True:
        if player.change_to is None and player._before is None:  # not the next tune of a setlist
            log.info(
                "model %s loaded (vocabulary %d, n_a %d)",
                player.live.engine.files.name,
                len(player.live.engine.vocab),
                player.live.engine.files.n_a,
            )
        try:
            code = player.run(signals)
        except BaseException:
            player.close_ports()
            raise
        if code == 0 and player.change_to is not None and not signals.pending():
            entry = player.stage.setlist[player.change_to]
            try:
                player = Player(tune_options(player.options, entry), previous=player, next_tune=True)
            except BaseException:
                player._end_timing()  # its timing thread would keep the process alive
                player.close_ports()
                raise
            continue
        stops = [s for s in signals.take() if s in Signals.STOP]
        if player.ended and not stops:
            log.info("the tune is over: %d choruses played", player.options.choruses)
        if code != 0 or stops or player.ended:
            if stops:
                log.info("stopping on %s", signal.Signals(stops[0]).name)
            notify("STOPPING=1")
            player.close_ports()
            return code
        notify("RELOADING=1")
        previous = player
        try:
            player = Player(same_place_in_the_set(load_options(), previous.stage), previous=previous)
            log.info("configuration reloaded")
        except JazzdError as exc:
            log.error("configuration not reloaded, playing on with the old one: %s", exc)
            player = Player(previous.options, previous=previous)
        previous.close_ports(keep=(player.output, player.input))


def same_place_in_the_set(options: PlayOptions, stage: Stage) -> PlayOptions:
    """After a reload, the setlist's tune that was playing plays on (found by its name in the
    new setlist), rather than the set starting again from its first tune."""
    if stage.current is None or not options.setlist or options.chart is not options.setlist[0].chart:
        return options
    playing = stage.setlist[stage.current].name
    entry = next((e for e in options.setlist if e.name == playing), None)
    return options if entry is None else tune_options(options, entry)


def _same_port(old: PlayOptions, new: PlayOptions, which: str) -> bool:
    """The output ("port") or input ("input") a reload may keep open: named and opened alike."""
    keys = (which, "midi_api", "virtual", *(["realtime_priority"] if which == "port" else []))
    return all(getattr(old, key) == getattr(new, key) for key in keys)


def _same_clock_input(old: PlayOptions, new: PlayOptions) -> bool:
    return old.clock == new.clock == "midi" and (old.input, old.midi_api) == (new.input, new.midi_api)
