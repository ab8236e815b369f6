"""Keyboard input: chords from the left hand, phrases from the right, controls from knobs.

Notes below the split point are a chord: the held set is recognized on every new key and the
chord stays in force after release until the next one. Notes above it are the player's phrase,
kept with their beats so they can be encoded as tokens and fed to the LSTM. Control changes map
to actions through the configured numbers. Every method here runs in the MIDI input callback
thread: they only record, never block.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import mido

from jazzd.music.chords import Chord, recognize_chord
from jazzd.music.grammar import BEATS_PER_BAR, TICKS_PER_BEAT, Token, encode
from jazzd.music.solo import normalize_line
from jazzd.music.timeline import ChordTimeline

log = logging.getLogger(__name__)


class ChordTracker:
    """The chord the keyboard player holds (kept after release), else the fallback's. Times are
    ticks, as everywhere chords are looked up (the keyboard's beats are converted)."""

    def __init__(self, fallback: ChordTimeline):
        self.fallback = fallback
        self.held: set[int] = set()
        self.current: Chord | None = None
        self.changes: list[tuple[float, Chord]] = []  # (tick, chord): for encoding phrases
        self._lock = threading.Lock()  # the input thread writes, the main thread reads

    def key_down(self, note: int, beat: float) -> None:
        with self._lock:
            self.held.add(note)
            chord = recognize_chord(self.held)
            if chord is not None and chord != self.current:
                self.current = chord
                self.changes.append((beat * TICKS_PER_BEAT, chord))
                del self.changes[:-64]
                log.debug("chord %s", chord.symbol)

    def key_up(self, note: int) -> None:
        with self._lock:
            self.held.discard(note)

    def release_all(self) -> None:
        """The keyboard is gone: nothing is held any more (its chord stays in force)."""
        with self._lock:
            self.held.clear()

    def take_over(self, other: ChordTracker) -> None:
        """A reload: the chord in force, and what is held, carry on."""
        with other._lock:
            self.held, self.current, self.changes = set(other.held), other.current, list(other.changes)

    def chord_at(self, tick: float) -> Chord:
        """The chord in force now (the live realizer asks at send time)."""
        return self.current if self.current is not None else self.fallback.chord_at(tick)

    def chord_then(self, tick: float) -> Chord:
        """The chord that was in force at an earlier tick (for encoding the player's phrase)."""
        with self._lock:
            earlier = [c for t, c in self.changes if t <= tick]
        return earlier[-1] if earlier else self.fallback.chord_at(tick)


@dataclass
class Phrase:
    """The player's notes above the split, as (onset beat, duration beats, pitch)."""

    notes: list[tuple[float, float, int]] = field(default_factory=list)
    sounding: dict[int, float] = field(default_factory=dict)
    last_activity: float = float("-inf")  # beat of the last key down or up

    def clear(self) -> None:
        self.notes.clear()
        self.sounding.clear()

    def end(self, pitch: int, beat: float) -> None:
        """The key `pitch` went up at `beat`: a note of the phrase, if it was down."""
        start = self.sounding.pop(pitch, None)
        if start is not None:
            self.notes.append((start, max(beat - start, 1 / TICKS_PER_BEAT), pitch))
            del self.notes[:-256]
        self.last_activity = beat


@dataclass
class Controls:
    """For each action, the CC number (0-127) or "note N" (a pad sending note N) that moves it;
    None: unused. Program Changes call setlist entries (`call`) without being configured."""

    temperature: int | str | None = 71
    density: int | str | None = 72
    register: int | str | None = 73
    start_stop: int | str | None = 74
    panic: int | str | None = 75
    next: int | str | None = None  # the setlist's next tune
    previous: int | str | None = None
    tap: int | str | None = None  # tap tempo


WHAT_CONTROLS_DO = {
    "temperature": "knob: temperature 0.2-2.0",
    "density": "knob: share of notes played",
    "register": "knob: the register, low to high",
    "start_stop": "switch: >= 64 plays, < 64 stops",
    "panic": "button: ends every note at once",
    "next": "button: the setlist's next tune, at the next bar line",
    "previous": "button: the setlist's previous tune",
    "tap": "pad or button: tap tempo, at the next bar line (jazzd's own clock)",
}
MOMENTARY = {"panic", "next", "previous", "tap", "call"}  # acts, not settings: a reload replays none
SWITCHES = {"start_stop": 127, "panic": 0}  # where each rests (playing, not pressed); logged when flipped


def pad_note(value: str) -> int | None:
    """The note a pad control sends ("note N"), or None if `value` is not one."""
    parts = value.split()
    if len(parts) == 2 and parts[0] == "note" and parts[1].isdigit() and int(parts[1]) <= 127:
        return int(parts[1])
    return None


def valid_control(value: int | str) -> bool:
    """A control's setting: -1 (none), a CC number 0-127, or "note N"."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -1 <= value <= 127
    return pad_note(value) is not None


class Keyboard:
    """Routes incoming messages: chords, phrase notes, controls (CCs and pads), Program Changes."""

    def __init__(
        self,
        chords: ChordTracker,
        split: int,
        controls: Controls,
        actions: dict[str, Callable[[int], None]],
        beat_now: Callable[[], float],
    ):
        self.chords = chords
        self.split = split
        self.phrase = Phrase()
        self.lock = threading.Lock()
        self.by_number = {n: name for name, n in vars(controls).items() if isinstance(n, int)}
        self.by_note = {pad_note(n): name for name, n in vars(controls).items() if isinstance(n, str)}
        self.actions = actions
        self.beat_now = beat_now
        self.arrival = 0.0  # when the message being handled arrived (a tap's time)
        self.ignored = 0
        self.knobs: dict[str, int] = {}  # each setting's last value, kept across a reload

    def handle(self, message: mido.Message, t: float | None = None) -> None:
        """One incoming message, which arrived at `t` (perf_counter seconds; default now)."""
        self.arrival = time.perf_counter() if t is None else t
        kind = message.type
        if kind in ("note_on", "note_off") and message.note in self.by_note:
            if kind == "note_on" and message.velocity > 0:  # a pad: pressed is on, released nothing
                self.turn(self.by_note[message.note], 127)
        elif kind == "note_on" and message.velocity > 0:
            beat = self.beat_now()
            if message.note < self.split:
                self.chords.key_down(message.note, beat)
            else:
                with self.lock:
                    self.phrase.sounding[message.note] = beat
                    self.phrase.last_activity = beat
        elif kind in ("note_off", "note_on"):
            if message.note < self.split:
                self.chords.key_up(message.note)
            else:
                beat = self.beat_now()
                with self.lock:
                    self.phrase.end(message.note, beat)
        elif kind == "control_change" and message.control in self.by_number:
            self.turn(self.by_number[message.control], message.value)
        elif kind == "program_change":
            self.turn("call", message.program)
        else:
            self.ignored += 1

    def turn(self, action: str, value: int, source: str | None = "keyboard") -> None:
        """A knob or switch moved to `value` (0-127), from `source` (None: a reload replaying it).
        A switch is logged when it flips (a fader sending every value logs once per flip)."""
        before = self.knobs.get(action, SWITCHES.get(action, 0))
        if action not in MOMENTARY:
            self.knobs[action] = value
        if action in SWITCHES and source and (value >= 64) != (before >= 64):
            log.info("%s %d from the %s", action, value, source)
        self.actions[action](value)

    def release_all(self) -> None:
        """The input port is gone, and with it every note-off still to come: nothing is held,
        and the player's phrase ends here (or answer mode would wait for it forever)."""
        beat = self.beat_now()
        self.chords.release_all()
        with self.lock:
            for pitch in list(self.phrase.sounding):
                self.phrase.end(pitch, beat)

    def take_phrase(self, since: float) -> list[Token]:
        """The player's notes since `since` as tokens over the chords that were in force; the
        phrase is emptied."""
        with self.lock:
            raw = [
                (onset, duration, pitch, int(onset // BEATS_PER_BAR))
                for onset, duration, pitch in self.phrase.notes
                if onset >= since
            ]
            self.phrase.clear()
        if not raw:
            return []
        notes, _ = normalize_line(raw)
        return encode(notes, self.chords.chord_then)
