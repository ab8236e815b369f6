"""The scheduler: the one thread that owns the output port and sends each event on time.

Events wait in a heap ordered by beat. Each beat becomes an absolute deadline through the clock
only when it is next, so tempo changes and an external clock are followed up to the last moment.
The thread sleeps until shortly before the deadline, then spins with `time.sleep(0)` (which lets
go of the GIL) for the last half millisecond. A note-on is realized — its pitch
chosen over the chord in force — at the moment it is sent, and its note-off is queued with it.

Late policy: an event up to LATE_LIMIT late is sent late (and counted); a note-on later than
that is skipped (and counted) rather than sounding out of time. Note-offs are never skipped.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import mido

from jazzd.live.clock import Clock
from jazzd.live.clockout import ClockOut
from jazzd.music.midi import SONG_POSITIONS, all_notes_off

log = logging.getLogger(__name__)

SPIN_SECONDS = 0.0005  # sleep until this close to a deadline, then spin (JACK's period is 1.3 ms+)
WAIT_SECONDS = 0.02  # longest sleep: a followed clock may speed up meanwhile; `stop` is seen
LATE_LIMIT = 0.020  # a note-on later than this is skipped


@dataclass(order=True)
class Event:
    beat: float
    seq: int
    kind: str = field(compare=False)  # "on", "off", "message"
    channel: int = field(compare=False, default=0)
    note: int = field(compare=False, default=0)
    velocity: int = field(compare=False, default=0)
    duration: float = field(compare=False, default=0.0)  # beats, for "on"
    realize: Callable[[float], int | None] | None = field(compare=False, default=None)
    generation: int = field(compare=False, default=0)  # for "off": which note-on it ends
    message: mido.Message | None = field(compare=False, default=None)
    shift: float = field(compare=False, default=0.0)  # beats renumbered since queued (a new tune)


@dataclass
class Stats:
    sent: int = 0
    late: int = 0
    skipped: int = 0
    failed: int = 0
    lateness: list[float] = field(default_factory=list)  # seconds, kept only when recording


class Scheduler:
    """Sends notes on time through `send`; tracks what sounds so it can always be silenced."""

    def __init__(
        self,
        clock: Clock,
        send: Callable[[mido.Message, float | None], None],
        record_lateness: bool = False,
        sleep: Callable[[float], None] = time.sleep,
        realtime_priority: int = 0,
    ):
        self.clock = clock
        self.realtime_priority = realtime_priority
        self.send = send
        self.sleep = sleep
        self.stats = Stats()
        self.record_lateness = record_lateness
        self._heap: list[Event] = []
        self._seq = itertools.count()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._sounding: dict[tuple[int, int], int] = {}  # (channel, note) → generation
        self._generation = itertools.count(1)
        self.channels: set[int] = set()
        self.alive_at = 0.0  # when the thread last went round its loop (for the watchdog)
        self.failure: BaseException | None = None  # what ended the thread, if not a stop
        self.on_sent: Callable[[mido.Message, float | None], None] | None = None  # (message, due)
        self._flush_requested = threading.Event()
        self._flush_before = 0  # a requested flush drops what was queued before it was asked for
        self._flushed = threading.Event()
        self._held: tuple[float, list[tuple]] | None = None  # a line's first notes, before its session
        self._released_from: float | None = None  # the beat whose held notes were released
        self.clock_out = ClockOut()  # MIDI clock out's ticks, sent from this loop
        self.lead = 0.0  # seconds ahead of its deadline a message is handed over (a timestamped output)
        self._handed_until = -math.inf  # the latest deadline handed over so far
        self.drop_pending: Callable[[], None] | None = None  # an output that can take back what it queued

    # -- queueing (any thread) -----------------------------------------------------------------

    def note(
        self,
        beat: float,
        duration: float,
        channel: int,
        velocity: int,
        realize: Callable[[float], int | None],
    ) -> None:
        """A note at `beat` lasting `duration` beats; `realize(beat)` picks its pitch when it is
        sent (None: play nothing)."""
        with self._lock:
            self._queue_note(beat, duration, channel, velocity, realize)
        self._wake.set()

    def _queue_note(self, beat, duration, channel, velocity, realize) -> None:  # under the lock
        event = Event(beat, next(self._seq), "on", channel, 0, velocity, duration, realize)
        heapq.heappush(self._heap, event)

    def message(self, beat: float, message: mido.Message) -> None:
        self._push(Event(beat, next(self._seq), "message", message=message))

    def hold(self, beat: float, notes: list[tuple]) -> None:
        """Keep the first notes (`note`'s arguments) of a line that begins at `beat`, prepared
        while a followed clock is stopped, until `release`."""
        with self._lock:
            self._held, self._released_from = (beat, notes), None

    def release(self, beat: float) -> bool:
        """A session begins at `beat` (any thread: the clock's first tick calls it, so the first
        beat waits on no other thread): queue the notes held for it. True if they are queued,
        now or by an earlier call; held notes for another beat are dropped."""
        with self._lock:
            held, self._held = self._held, None
            if held is not None and held[0] == beat:
                for note in held[1]:
                    self._queue_note(*note)
                self._released_from = beat
            released = self._released_from == beat
        self._wake.set()
        return released

    def start_clock_out(self, beat: float, resume: bool = False) -> None:
        """MIDI clock out from `beat`: Song Position Pointer (the top), Start — or, resuming,
        the position of `beat` (in 16ths, within what the pointer can say) and Continue — then
        24 ticks a beat, sent like notes and unlike notes kept through a flush: the drum machine
        following keeps time while jazzd pauses or is panicked."""
        position = round(beat * 4) % SONG_POSITIONS if resume else 0
        self.message(beat, mido.Message("songpos", pos=position))
        self.message(beat, mido.Message("continue" if resume else "start"))
        with self._lock:
            self.clock_out.start(beat)

    def stop_clock_out(self, beat: float) -> None:
        """Ticks up to `beat`, then Stop there (the tune's end)."""
        with self._lock:
            self.clock_out.stop_at(beat)

    def end_tune(self, end: float, shift: float, start: float) -> int:
        """The tune ends at the bar line `end` and the next is counted in from there: what would
        begin at or after it is dropped, notes held past it end on it, and what is left — with
        the clock and the clock out — is renumbered into the next tune's beats (b - `shift`),
        whose session begins at `start`. One step under the lock, so the timing thread never
        sees half of it; `end` must lie beyond what was handed over ahead. Returns how many
        notes end on the bar line sooner than they would have."""
        shortened = 0
        with self._lock:
            kept = []
            for event in self._heap:
                if event.kind == "off":
                    shortened += event.beat > end
                    event.beat = min(event.beat, end)
                elif event.beat >= end:
                    continue
                elif event.kind == "on":
                    shortened += event.beat + event.duration > end
                    event.duration = min(event.duration, end - event.beat)
                event.beat -= shift
                event.shift += shift
                kept.append(event)
            heapq.heapify(kept)
            self._heap = kept
            self.clock.rebase(shift, start)
            self.clock_out.renumber(shift)
        return shortened

    def restart_clock_out(self, beat: float) -> None:
        """The clock out starts a new tune at `beat`: if it is ticking, Stop, the top and Start
        there, the ticks going on unbroken; else as at the start."""
        if not self.clock_out.ticking:
            self.start_clock_out(beat)
            return
        for message in (mido.Message("stop"), mido.Message("songpos", pos=0), mido.Message("start")):
            self.message(beat, message)

    @property
    def ticking(self) -> bool:
        return self.clock_out.ticking

    def _push(self, event: Event) -> None:
        with self._lock:
            heapq.heappush(self._heap, event)
        self._wake.set()

    def pending(self) -> int:
        return len(self._heap)

    def _next_beat(self) -> tuple[float, bool] | None:
        """The beat of what is due next (under the lock), and whether it is a clock tick (on a tie
        the queued event goes first: Start before the first tick)."""
        top = self._heap[0].beat if self._heap else math.inf
        tick = self.clock_out.next_beat()
        if tick < top:
            return tick, True
        return (top, False) if self._heap else None

    # -- sending (the scheduler thread, or a test calling `process`) ----------------------------

    def next_deadline(self) -> float | None:
        with self._lock:
            due = self._next_beat()
            return None if due is None else self.clock.time_of(due[0])

    def request_flush(self) -> None:
        """Ask the scheduler thread to silence everything (safe from any thread); what is
        queued after the request is kept (the first notes of the session a Start begins)."""
        with self._lock:
            self._flush_before = next(self._seq)
        self._flushed.clear()
        self._flush_requested.set()
        self._wake.set()

    def wake(self) -> None:
        """End the thread's wait now (a stop set, a flush asked for)."""
        self._wake.set()

    def wait_flushed(self, timeout: float) -> bool:
        """After `request_flush`: until the thread has silenced everything (False: timed out)."""
        return self._flushed.wait(timeout)

    def process(self, now: float) -> int:
        """Send every event due by `now`; returns how many were handled."""
        if self._flush_requested.is_set():
            self._flush_requested.clear()
            self.flush(self._flush_before)
            self._flushed.set()
        handled = 0
        while True:
            with self._lock:
                due = self._next_beat()
                if due is None:
                    return handled
                deadline = self.clock.time_of(due[0])
                if deadline > now + self.lead:
                    return handled
                if due[1]:
                    message = self.clock_out.take()
                else:
                    event = heapq.heappop(self._heap)
            if due[1]:
                self._send(message, deadline)
            else:
                self._handle(event, deadline)
            handled += 1

    def service(self, now: float) -> None:
        """What the thread does when it wakes (a test's stepper does the same): a requested
        flush at once; what is due, while the clock runs."""
        if self._flush_requested.is_set() or self.clock.running:
            self.process(now)

    def _handle(self, event: Event, deadline: float) -> None:
        if event.kind == "off":
            key = (event.channel, event.note)
            if self._sounding.get(key) == event.generation:  # not retriggered since
                del self._sounding[key]
                self._send(mido.Message("note_off", channel=event.channel, note=event.note), deadline)
            return
        lateness = self.clock.now() - deadline
        if event.kind == "on" and lateness > LATE_LIMIT:
            self.stats.skipped += 1
            log.debug("skipped a note %.1f ms late", lateness * 1000)
            return
        if event.kind == "message":
            self._send(event.message, deadline)
            return
        pitch = event.realize(event.beat + event.shift) if event.realize else event.note
        if pitch is None or not 0 <= pitch <= 127:  # out of MIDI's range: never sent, never stuck
            return
        key = (event.channel, pitch)
        if key in self._sounding:  # retrigger: end the sounding one first
            self._send(mido.Message("note_off", channel=event.channel, note=pitch), deadline)
        generation = next(self._generation)
        self._sounding[key] = generation
        self.channels.add(event.channel)
        self._send(
            mido.Message("note_on", channel=event.channel, note=pitch, velocity=event.velocity), deadline
        )
        with self._lock:
            heapq.heappush(
                self._heap,
                Event(
                    event.beat + event.duration,
                    next(self._seq),
                    "off",
                    event.channel,
                    pitch,
                    generation=generation,
                ),
            )

    def _send(self, message: mido.Message, deadline: float) -> None:
        """Send (with its deadline, for a timestamped output), and count how late the message
        left (taken after the send returns; negative when handed over ahead)."""
        self._handed_until = max(self._handed_until, deadline)
        try:
            self.send(message, deadline)
        except Exception as exc:  # the port went away: the player reconnects, timing goes on
            self.stats.failed += 1
            log.debug("send failed: %s", exc)
            return
        self.stats.sent += 1
        lateness = self.clock.now() - deadline
        if lateness > 0.001:
            self.stats.late += 1
        if self.record_lateness:
            self.stats.lateness.append(lateness)
        if self.on_sent is not None:
            self.on_sent(message, deadline)

    def flush(self, before: float = math.inf) -> None:
        """Silence everything: drop what is pending (what was queued before the `before`
        sequence number), note-off for each sounding note, then All Notes Off (CC 123) on every
        channel used — after whatever was handed over ahead, or at once where the output took
        back the note-ons it had queued."""
        with self._lock:
            self._heap = [event for event in self._heap if event.seq > before]
            heapq.heapify(self._heap)
            sounding, self._sounding = self._sounding, {}
        if self.drop_pending is not None:  # what was handed over ahead is taken back: silence now
            self.drop_pending()
            self._handed_until = -math.inf
        for channel, note in sounding:
            self._safe_send(mido.Message("note_off", channel=channel, note=note))
        for channel in sorted(self.channels):
            self._safe_send(all_notes_off(channel))

    def _safe_send(self, message: mido.Message) -> None:
        """Send one silencing message now — or, when messages were handed over ahead, right
        after the last of them, so no note-on lands after its note-off. No failure may stop the
        ones after it."""
        due = self._handed_until if self._handed_until > self.clock.now() else None
        try:
            self.send(message, due)
        except Exception as exc:  # the port may be gone: nothing can sound there any more
            log.debug("could not send %s while silencing: %s", message, exc)
            return
        if self.on_sent is not None:
            self.on_sent(message, due)

    # -- the thread ----------------------------------------------------------------------------

    def _ask_realtime(self) -> None:
        """SCHED_FIFO for this thread, if asked for and allowed; says once which it got."""
        if not self.realtime_priority:
            return
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(self.realtime_priority))
            log.info("timing thread: real-time priority %d (SCHED_FIFO)", self.realtime_priority)
        except (OSError, AttributeError) as exc:  # not allowed (no LimitRTPRIO, no rtprio limit)
            log.info("timing thread: normal priority (real-time priority not allowed: %s)", exc)

    def run(self, stop: threading.Event) -> None:
        """The timing loop: until `stop` is set; always silences on the way out. A failure is
        logged with its traceback and kept in `failure`, for the main thread to act on."""
        now = time.perf_counter
        self._ask_realtime()
        try:
            while not stop.is_set():
                t = self.alive_at = now()
                if self._flush_requested.is_set():
                    self.service(t)
                    continue
                deadline = self.next_deadline()
                if deadline is None or not self.clock.running:
                    self._wake.wait(WAIT_SECONDS)
                    self._wake.clear()
                    continue
                deadline -= self.lead
                if deadline - t > SPIN_SECONDS:
                    self._wake.wait(min(deadline - t - SPIN_SECONDS, WAIT_SECONDS))
                    self._wake.clear()
                    continue
                while now() < deadline and not stop.is_set():
                    self.sleep(0)  # yields the GIL: never spin holding it
                self.service(now())
        except Exception as exc:
            log.exception("the timing thread failed")
            self.failure = exc
        finally:
            self.flush()
            with self._lock:
                owed = self.clock_out.end()
            if owed:  # whatever follows jazzd's clock stops with it
                self._safe_send(mido.Message("stop"))
