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

import mido

from jazzd.errors import JazzdError
from jazzd.live.clock import InternalClock, MidiClockFollower
from jazzd.live.config import PlayOptions, tune_options
from jazzd.live.inport import Input
from jazzd.live.keeper import PortKeeper
from jazzd.live.midilog import MidiLog
from jazzd.live.onstage import OnStage
from jazzd.live.outputs import BACKENDS, MidiOutput
from jazzd.live.perform import begin_counting
from jazzd.live.ports import PortLost
from jazzd.live.service import Signals, notify
from jazzd.live.stage import Stage
from jazzd.live.wiring import wire
from jazzd.music.grammar import BEATS_PER_BAR
from jazzd.music.midi import all_notes_off

log = logging.getLogger(__name__)

STEP_SECONDS = 0.01  # the main thread's wait while the clock does not run (a Start may come)
LONGEST_WAIT = 0.03  # its longest wait while playing (a followed clock may speed up meanwhile)
START_LEAD = 0.1  # seconds from ports open to the first beat of the internal clock
WATCH_SECONDS = 1.0  # how often the port list is checked for a vanished port
CLOCK_MESSAGES = {"clock", "start", "stop", "continue", "songpos"}
PING_SECONDS = 0.5  # watchdog pings, from the main thread (more often if WatchdogSec is short) ...
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
        self.clock = self._clock(previous, next_tune)
        self.output = self._output(previous, next_tune)
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
        self.input = self._input(previous, next_tune)
        self.ports: PortKeeper | None = None  # while running
        self.signals: Signals | None = None  # ... and what the main thread waits on
        self.ended = False  # the tune's last chorus was played
        self._clock_was_lost = False
        self._timing: threading.Thread | None = None
        self._ping_every = min(PING_SECONDS, int(os.environ.get("WATCHDOG_USEC") or 10**9) / 2e6)
        self._pinged = -PING_SECONDS
        self.resume_from = None  # a reload during the same tune: the clock the band went on with
        self.onstage = OnStage(self.stage, options, self.clock, self.live, self.output, self._status)
        self._stop_timing = threading.Event()
        self._before: Player | None = None  # the tune this one follows at a bar line
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

    def _clock(self, previous: Player | None, next_tune: bool) -> InternalClock | MidiClockFollower:
        """The next tune's band goes on with the same clock; a reload with a followed master
        running does too (no waiting for its next Start); else a new clock."""
        if previous is not None and (next_tune or _same_clock_input(previous.options, self.options)):
            previous.clock.on_change = self._clock_changed
            return previous.clock
        if self.options.clock == "midi":
            return MidiClockFollower(now=self.now, on_change=self._clock_changed)
        return InternalClock(self.options.bpm, now=self.now)

    def _output(self, previous: Player | None, next_tune: bool) -> MidiOutput:
        """A reload keeps an unchanged port open (no gap, no reconnect); the next tune always."""
        options = self.options
        if previous is not None and (
            next_tune or (_same_port(previous.options, options, "port") and previous.output.is_open)
        ):
            return previous.output
        return BACKENDS[options.midi_api].make_output(
            options.port, virtual=options.virtual, realtime_priority=options.realtime_priority
        )

    def _input(self, previous: Player | None, next_tune: bool) -> Input | None:
        options = self.options
        if (
            previous is not None
            and previous.input
            and (next_tune or _same_port(previous.options, options, "input"))
        ):
            previous.input.handler = self._receive
            return previous.input
        return (
            Input(options.input, options.midi_api, self._receive, virtual=options.virtual)
            if options.input
            else None
        )

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
                self.onstage.enter(self._before.onstage)
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
            handing_over = self.onstage.change_to is not None and not signals.pending()
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
        begin_counting(
            self.live.scheduler,
            options,
            self.live.performer.end,
            float(first),
            resume=self.resume_from is not None,
        )

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
            self.onstage.take_requests()
            if self.onstage.change_to is not None:
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
                lost = self.ports.output_lost.is_set()
                self.onstage.show(t, not lost, self.input.name if self.input else None)
            self._wait(signals, self._idle_seconds(self.now()))

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
        if player._before is None:  # not the next tune of a setlist
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
        if code == 0 and player.onstage.change_to is not None and not signals.pending():
            entry = player.stage.setlist[player.onstage.change_to]
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
            if _web(player.options) != _web(previous.options):
                log.warning("[web] changed: the page keeps its old settings until jazzd restarts")
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


def _web(options: PlayOptions) -> tuple:
    return options.web, options.web_address, options.web_port, options.web_token_file


def _same_clock_input(old: PlayOptions, new: PlayOptions) -> bool:
    return old.clock == new.clock == "midi" and (old.input, old.midi_api) == (new.input, new.midi_api)
