"""Standard MIDI files, read and written in one place. Reading → a `Solo`: which track is the
melody and which the chords (by name, index or program, or guessed), the top line of a
polyphonic melody, bars from the time signatures. Writing: a solo and its chords (what `jazzd
render` makes)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import mido

from jazzd.errors import CorpusError
from jazzd.music.chords import recognize_chord
from jazzd.music.grammar import BEATS_PER_BAR, TICKS_PER_BEAT
from jazzd.music.solo import Solo, chord_changes, normalize_line


@dataclass(frozen=True)
class MidiSelection:
    """Which tracks of a MIDI file hold the melody and the chords, and which beats to read."""

    melody: str | None = None
    chords: tuple[str, ...] = ()
    start_beat: float | None = None
    end_beat: float | None = None


SEED_PRESET = MidiSelection(melody="Guitar", chords=("Piano",), start_beat=476, end_beat=548)
SEED_FILE = "original_metheny.mid"


@dataclass
class _Track:
    index: int
    name: str
    program: int | None
    drums: bool
    notes: list[tuple[int, int, int]]  # start tick, end tick, pitch

    def label(self) -> str:
        prog = "" if self.program is None else f", program {self.program}"
        return f"{self.index} {self.name!r} ({len(self.notes)} notes{prog})"

    def polyphony(self, tpb: int) -> float:
        """Share of notes struck together (within 1/16 beat) with the one before: chords."""
        starts = [start for start, _, _ in self.notes]
        together = sum(b - a <= tpb // 16 for a, b in itertools.pairwise(starts))
        return together / max(1, len(starts))


def _midi_tracks(mid: mido.MidiFile) -> list[_Track]:
    tracks = []
    for index, track in enumerate(mid.tracks):
        tick, name, program, drums = 0, track.name.strip(), None, True
        sounding: dict[tuple[int, int], int] = {}
        notes = []
        for msg in track:
            tick += msg.time
            if msg.type == "program_change" and program is None:
                program = msg.program
            elif msg.type == "note_on" and msg.velocity > 0:
                drums = drums and msg.channel == 9
                if (msg.channel, msg.note) in sounding:
                    notes.append((sounding.pop((msg.channel, msg.note)), tick, msg.note))
                sounding[(msg.channel, msg.note)] = tick
            elif msg.type in ("note_off", "note_on"):
                start = sounding.pop((msg.channel, msg.note), None)
                if start is not None:
                    notes.append((start, tick, msg.note))
        notes.extend((start, tick, note) for (_, note), start in sounding.items())
        notes.sort()
        if notes:
            tracks.append(_Track(index, name, program, drums, notes))
    return tracks


def _pick(tracks: list[_Track], spec: str, path: Path, role: str) -> _Track:
    """A track by index, exact name, `program:N`, or case-insensitive name substring."""
    if spec.isdigit():
        found = [t for t in tracks if t.index == int(spec)]
    elif spec.lower().startswith("program:") and spec[8:].isdigit():
        found = [t for t in tracks if t.program == int(spec[8:])]
    else:
        found = [t for t in tracks if t.name == spec] or [t for t in tracks if spec.lower() in t.name.lower()]
    if len(found) != 1:
        listing = "; ".join(t.label() for t in (found or tracks))
        what = "matches several tracks" if found else "matches no track with notes"
        raise CorpusError(f"{path}: {role} track {spec!r} {what} ({listing})")
    return found[0]


def _auto_tracks(tracks: list[_Track], tpb: int, path: Path) -> tuple[_Track, list[_Track]]:
    """Melody: the most monophonic pitched track with a melody-like name or the highest pitch;
    chords: the most polyphonic other pitched track. Fails with the options to pass."""
    pitched = [t for t in tracks if not t.drums]
    bass = [
        t
        for t in pitched
        if "bass" in t.name.lower()
        or (t.program or 0) in range(32, 40)
        or sum(p for *_, p in t.notes) / len(t.notes) < 48
    ]
    hints = ("solo", "melody", "lead", "guit", "sax", "trumpet", "tpt", "horn", "vocal", "flute")
    melodic = [t for t in pitched if t.polyphony(tpb) < 0.1 and t not in bass]
    comping = [t for t in pitched if t.polyphony(tpb) >= 0.3]
    listing = "; ".join(t.label() for t in tracks)
    if not melodic or not comping:
        raise CorpusError(
            f"{path}: cannot choose melody and chord tracks automatically (tracks: {listing}); "
            "pass --melody-track and --chord-track (the same track for both splits off its top line)"
        )
    named = [t for t in melodic if any(h in t.name.lower() for h in hints)]
    melody = max(named or melodic, key=lambda t: len(t.notes))
    chords = max((t for t in comping if t is not melody), key=lambda t: len(t.notes))
    return melody, [chords]


def _skyline(notes: list[tuple[int, int, int]]) -> tuple[list, list]:
    """Split one polyphonic track: the highest note of each onset is melody, the rest chords."""
    top: dict[int, tuple[int, int, int]] = {}
    for note in notes:
        if note[0] not in top or note[2] > top[note[0]][2]:
            top[note[0]] = note
    melody = sorted(top.values())
    keep = set(melody)
    return melody, [n for n in notes if n not in keep]


def _bars(mid: mido.MidiFile) -> list[tuple[int, float]]:
    """(tick, quarter notes per bar) at each time-signature change; 4/4 when none."""
    changes = []
    for track in mid.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "time_signature":
                changes.append((tick, msg.numerator * 4 / msg.denominator))
    changes.sort()
    if not changes or changes[0][0] > 0:
        changes.insert(0, (0, 4.0))
    return changes


def _bar_starts(signature: list[tuple[float, float]], end: float) -> list[int]:
    """Ticks where bars begin, up to beat `end`, from (beat, beats per bar) changes."""
    starts, beat = [], 0.0
    for i, (at, length) in enumerate(signature):
        until = signature[i + 1][0] if i + 1 < len(signature) else end
        beat = max(beat, at)
        while beat < until:
            starts.append(round(beat * TICKS_PER_BEAT))
            beat += length
    return starts


def _bar_of(beat: float, signature: list[tuple[float, float]]) -> int:
    """Bar number (from 0) of a position in beats, given (beat, beats per bar) changes."""
    bar, prev_beat, prev_len = 0, 0.0, 4.0
    for at, length in signature:
        if at > beat:
            break
        bar += int((at - prev_beat) // prev_len)
        prev_beat, prev_len = at, length
    return bar + int((beat - prev_beat) // prev_len)


def read_midi(path: Path, selection: MidiSelection = MidiSelection()) -> Solo:
    """A solo from a Standard MIDI file: melody and chord tracks as chosen, optional beat window.

    Chords are recognized beat by beat from the notes sounding in the chord tracks; a beat
    where they hold fewer than two pitch classes keeps the previous chord.
    """
    try:
        mid = mido.MidiFile(str(path))
    except (OSError, EOFError, ValueError, KeyError, IndexError, TypeError) as exc:
        reason = "empty file" if path.stat().st_size == 0 else str(exc) or type(exc).__name__
        raise CorpusError(f"{path}: not a readable MIDI file ({reason})") from exc
    tpb = mid.ticks_per_beat
    tracks = _midi_tracks(mid)
    if not tracks:
        raise CorpusError(f"{path}: no notes in any track")
    end_of_file = max(end for t in tracks for _, end, _ in t.notes) / tpb
    start = 0.0 if selection.start_beat is None else selection.start_beat
    end = end_of_file if selection.end_beat is None else selection.end_beat
    if not 0 <= start < end or start >= end_of_file:
        raise CorpusError(
            f"{path}: impossible beat window {start:g}-{end:g} (the file has {end_of_file:.0f} beats)"
        )
    for track in tracks:  # choose and read tracks by what they play inside the window
        track.notes = [n for n in track.notes if start * tpb <= n[0] < end * tpb]
    tracks = [t for t in tracks if t.notes]
    if selection.melody is not None:
        melody = _pick(tracks, selection.melody, path, "melody")
        chord_tracks = [_pick(tracks, c, path, "chord") for c in selection.chords]
        if not chord_tracks:
            chord_tracks = _auto_tracks(tracks, tpb, path)[1]
    elif selection.chords:
        raise CorpusError(f"{path}: --chord-track needs --melody-track too")
    else:
        melody, chord_tracks = _auto_tracks(tracks, tpb, path)
    melody_notes = melody.notes
    chord_notes = [n for t in chord_tracks for n in t.notes if t is not melody]
    if melody in chord_tracks:
        melody_notes, rest = _skyline(melody.notes)
        chord_notes += rest
    signature = [(tick / tpb, length) for tick, length in _bars(mid)]
    raw = [(s / tpb, (e - s) / tpb, p, _bar_of(s / tpb, signature)) for s, e, p in melody_notes]
    notes, dropped = normalize_line(raw)
    per_beat = []
    for beat in range(int(start), int(end) + 1):
        lo, hi = beat * tpb, (beat + 1) * tpb
        held = [p for s, e, p in chord_notes if s < hi and e > lo and min(e, hi) - max(s, lo) >= tpb // 4]
        per_beat.append((beat * TICKS_PER_BEAT, recognize_chord(held)))
    changes = chord_changes(per_beat, f"{path} (chord tracks {', '.join(t.label() for t in chord_tracks)})")
    return Solo(path.stem, str(path), notes, changes, dropped, bar_starts=_bar_starts(signature, end))


# -- writing ------------------------------------------------------------------------------------

MIDI_TICKS_PER_BEAT = 480
TICK = MIDI_TICKS_PER_BEAT // TICKS_PER_BEAT
SOLO_CHANNEL, CHORD_CHANNEL = 0, 1
TimedNote = tuple[int, int, int, int]  # (onset, end, pitch, velocity), in grammar ticks


def write_midi(path: Path, solo: list[TimedNote], chords: list[TimedNote], bpm: float) -> None:
    """A Standard MIDI File: solo on track 1 (channel 1), chords on track 2 (channel 2), tempo
    and metre on track 0. The same notes give the same bytes."""
    mid = mido.MidiFile(type=1, ticks_per_beat=MIDI_TICKS_PER_BEAT)
    meta = mido.MidiTrack(
        [
            mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm)),
            mido.MetaMessage("time_signature", numerator=BEATS_PER_BAR, denominator=4),
        ]
    )
    mid.tracks.extend(
        [meta, _track("jazzd solo", solo, SOLO_CHANNEL), _track("chords", chords, CHORD_CHANNEL)]
    )
    mid.save(str(path))


def _track(name: str, notes: list[TimedNote], channel: int) -> mido.MidiTrack:
    events = []
    for start, end, pitch, vel in notes:
        events.append(
            (end * TICK, 0, pitch, mido.Message("note_off", channel=channel, note=pitch, velocity=0))
        )
        events.append(
            (start * TICK, 1, pitch, mido.Message("note_on", channel=channel, note=pitch, velocity=vel))
        )
    track = mido.MidiTrack([mido.MetaMessage("track_name", name=name)])
    now = 0
    for tick, _, _, msg in sorted(events, key=lambda e: e[:3]):  # note-offs first at equal times
        track.append(msg.copy(time=tick - now))
        now = tick
    return track
