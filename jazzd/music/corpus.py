"""Corpus readers: WJazzD per-solo CSV and Standard MIDI files → one in-memory `Solo`.

Both readers quantize to the 1/4 + 1/3 beat grid and normalize the melody to one monophonic
line (`normalize_line`), so the grammar encodes it without loss and the round trip is exact.
"""

from __future__ import annotations

import bisect
import csv
import glob
import itertools
import logging
import math
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import mido

from jazzd.errors import ChordError, CorpusError
from jazzd.music.chords import Chord, parse_chord, recognize_chord
from jazzd.music.grammar import (
    BAR_TICKS,
    MAX_TOKEN_TICKS,
    MIN_REST_TICKS,
    TICKS_PER_BEAT,
    TOKEN_TYPES,
    Note,
    encode,
    next_grid_point,
    quantize,
    realize,
)

log = logging.getLogger(__name__)

MELODY_COLUMNS = ("onset", "duration", "bar", "beat", "tatum", "division", "beat_duration", "pitch")
BEAT_COLUMNS = ("bar", "beat", "chord")
MIDI_SUFFIXES = (".mid", ".midi", ".smf")
MAX_NUDGE_TICKS = 3  # a colliding onset may move at most a quarter beat


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
class Solo:
    """A monophonic melody over chord changes, times in grid ticks."""

    name: str
    source: str
    notes: list[Note]
    changes: list[tuple[int, Chord]]
    dropped: int = 0  # notes lost to grid collisions while quantizing
    chords_inferred: bool = False  # no chords were annotated: they come from the melody per bar
    bar_starts: list[int] = field(default_factory=list)  # ticks where bars begin (empty: 4/4 from 0)
    _starts: list[int] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if not self.changes:
            raise CorpusError(f"{self.source}: no chords found")
        self._starts = [t for t, _ in self.changes]

    def bar_position(self, tick: int) -> int:
        """Ticks since the start of the bar `tick` lies in."""
        if not self.bar_starts or tick < self.bar_starts[0]:
            return tick % BAR_TICKS
        return tick - self.bar_starts[bisect.bisect_right(self.bar_starts, tick) - 1]

    def chord_at(self, tick: int) -> Chord:
        """The chord in force at `tick` (the first chord before the first change)."""
        return self.changes[max(0, bisect.bisect_right(self._starts, tick) - 1)][1]


def normalize_line(raw: Iterable[tuple[float, float, int, int]]) -> tuple[list[Note], int]:
    """Quantize (onset beats, duration beats, pitch, bar) notes to one grid-aligned line.

    Simultaneous notes keep the highest; an onset that collides with the previous one moves to
    the next free grid point if that is within a quarter beat, else the note is dropped. Each
    note is cut at the next onset, stretched over a gap shorter than a quarter beat, and kept
    within MAX_TOKEN_TICKS. Returns the notes and how many were dropped.
    """
    ordered = sorted(raw, key=lambda n: (n[0], -n[2]))
    placed: list[tuple[int, int, int, int]] = []  # onset, end, pitch, bar
    dropped, prev_raw = 0, None
    for onset_beats, dur_beats, pitch, bar in ordered:
        onset = quantize(onset_beats)
        if placed and onset <= placed[-1][0]:
            if onset_beats - prev_raw < 1e-6:
                dropped += 1  # a chord inside the melody: the highest note stays
                continue
            onset = next_grid_point(placed[-1][0])
            if onset - onset_beats * TICKS_PER_BEAT > MAX_NUDGE_TICKS:
                dropped += 1
                continue
        prev_raw = onset_beats
        end = max(quantize(onset_beats + dur_beats), next_grid_point(onset))
        placed.append((onset, end, pitch, bar))
    notes = []
    for i, (onset, end, pitch, bar) in enumerate(placed):
        if i + 1 < len(placed):
            following = placed[i + 1][0]
            if end > following or following - end < MIN_REST_TICKS:
                end = following
        notes.append(Note(onset, min(end - onset, MAX_TOKEN_TICKS), pitch, bar))
    return notes, dropped


def _changes(per_beat: Sequence[tuple[int, Chord | None]], source: str) -> list[tuple[int, Chord]]:
    """Chord changes from (tick, chord or None) steps: None (NC) keeps the previous chord,
    leading NCs take the first chord."""
    out: list[tuple[int, Chord]] = []
    for tick, chord in per_beat:
        if chord is None:
            continue
        if not out:
            out.append((min(tick, per_beat[0][0]), chord))
        elif chord != out[-1][1]:
            out.append((tick, chord))
    if not out:
        raise CorpusError(f"{source}: no chords found (every chord is NC or absent)")
    return out


# --- WJazzD CSV -----------------------------------------------------------------------------


def _read_csv(path: Path, needed: Sequence[str]) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in needed if c not in (reader.fieldnames or [])]
            if missing:
                raise CorpusError(f"{path}: missing column(s) {', '.join(missing)}")
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CorpusError(f"{path}: cannot read CSV ({exc})") from exc
    if not rows:
        raise CorpusError(f"{path}: no rows")
    return rows


def _parse_row_chord(symbol: str, path: Path, line: int) -> Chord | None:
    try:
        return parse_chord(symbol)
    except ChordError as exc:
        raise CorpusError(f"{path}, line {line}: {exc}") from exc


def beat_track_for(melody_csv: Path) -> Path:
    """`.../mcsv_melody/X_FINAL.csv` → `.../mcsv_beat/X_FINAL_beattrack.csv`."""
    return melody_csv.parent.parent / "mcsv_beat" / f"{melody_csv.stem}_beattrack.csv"


def read_wjazzd(path: Path) -> Solo:
    """One WJazzD solo: melody rows from `path`, chord changes from its beat track.

    A note's onset is its beat's index in the beat track plus (tatum - 1) / division; its
    duration is seconds / beat_duration. Without a beat track the melody's chord column is used.
    """
    rows = _read_csv(path, MELODY_COLUMNS)
    beat_path = beat_track_for(path)
    beat_index: dict[tuple[int, int], int] = {}
    per_beat: list[tuple[int, Chord | None]] = []
    bar_starts: list[int] = []
    if beat_path.exists():
        for i, row in enumerate(_read_csv(beat_path, BEAT_COLUMNS)):
            try:
                beat_index.setdefault((int(row["bar"]), int(row["beat"])), i)
            except (ValueError, TypeError):
                raise CorpusError(f"{beat_path}, line {i + 2}: bar/beat are not integers") from None
            per_beat.append((i * TICKS_PER_BEAT, _parse_row_chord(row["chord"], beat_path, i + 2)))
            if row["beat"] == "1":
                bar_starts.append(i * TICKS_PER_BEAT)
    raw = []
    note_chords: list[tuple[int, Chord | None]] = []
    for line, row in enumerate(rows, start=2):
        try:
            bar, beat = int(row["bar"]), int(row["beat"])
            tatum, division = int(row["tatum"]), int(row["division"])
            seconds, beat_seconds = float(row["duration"]), float(row["beat_duration"])
            pitch = round(float(row["pitch"]))
        except (ValueError, TypeError, OverflowError) as exc:  # TypeError: a short row
            raise CorpusError(
                f"{path}, line {line}: {exc if row.get('pitch') is not None else 'too few cells'}"
            ) from exc
        if (
            division <= 0
            or tatum < 1
            or not 0 < beat_seconds < math.inf
            or not 0 <= seconds < math.inf
            or not 0 <= pitch <= 127
        ):
            raise CorpusError(
                f"{path}, line {line}: tatum, division, duration, beat_duration or pitch out of range"
            )
        if beat_index:
            if (bar, beat) not in beat_index:
                raise CorpusError(f"{path}, line {line}: bar {bar} beat {beat} is not in {beat_path.name}")
            index = beat_index[(bar, beat)]
        else:
            index = (bar - 1) * 4 + beat - 1  # no beat track: assume 4/4 from bar 1
        onset = index + (tatum - 1) / division
        raw.append((onset, seconds / beat_seconds, pitch, bar))
        if not beat_index and "chord" in row:
            note_chords.append((quantize(onset), _parse_row_chord(row["chord"], path, line)))
    notes, dropped = normalize_line(raw)
    name = path.stem.removesuffix("_FINAL")
    steps = per_beat or sorted(note_chords, key=lambda c: c[0])
    if all(chord is None for _, chord in steps):  # free playing: no changes were annotated
        steps = [
            (bar_notes[0].onset, recognize_chord(n.pitch for n in bar_notes)) for bar_notes in _by_bar(notes)
        ]
        return Solo(
            name,
            str(path),
            notes,
            _changes(steps, str(path)),
            dropped,
            chords_inferred=True,
            bar_starts=bar_starts,
        )
    return Solo(name, str(path), notes, _changes(steps, str(path)), dropped, bar_starts=bar_starts)


def _by_bar(notes: Sequence[Note]) -> list[list[Note]]:
    groups: dict[int, list[Note]] = {}
    for note in notes:
        groups.setdefault(note.bar, []).append(note)
    return list(groups.values())


# --- Standard MIDI files --------------------------------------------------------------------


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
    changes = _changes(per_beat, f"{path} (chord tracks {', '.join(t.label() for t in chord_tracks)})")
    return Solo(path.stem, str(path), notes, changes, dropped, bar_starts=_bar_starts(signature, end))


# --- Whole corpora --------------------------------------------------------------------------


def corpus_files(specs: Iterable[str]) -> list[Path]:
    """Files named by paths, folders (WJazzD folders read their mcsv_melody) or glob patterns."""
    files: list[Path] = []
    for spec in specs:
        path = Path(spec)
        if path.is_dir():
            melody_dir = path / "mcsv_melody"
            base = melody_dir if melody_dir.is_dir() else path
            found = sorted(
                p
                for p in base.rglob("*")
                if p.suffix.lower() in MIDI_SUFFIXES
                or (p.suffix.lower() == ".csv" and not p.stem.endswith("_beattrack"))
            )
        elif any(c in spec for c in "*?["):
            found = sorted(Path(p) for p in glob.glob(spec, recursive=True) if Path(p).is_file())
        else:
            found = [path]
        if not found:
            raise CorpusError(f"{spec}: no corpus files found")
        files.extend(found)
    return files


def read_solo(path: Path, selection: MidiSelection = MidiSelection()) -> Solo:
    """Read one file by its kind (`.csv` WJazzD, else MIDI)."""
    if not path.is_file():
        raise CorpusError(f"{path}: no such file")
    if path.suffix.lower() == ".csv":
        return read_wjazzd(path)
    return read_midi(path, selection)


def read_corpus(
    specs: Iterable[str], selection: MidiSelection = MidiSelection(), strict: bool = False
) -> tuple[list[Solo], list[dict[str, str]]]:
    """Every readable solo, and {path, reason} for each file skipped (fatal with `strict`)."""
    solos, skipped = [], []
    files = corpus_files(specs)
    for path in files:
        try:
            solos.append(read_solo(path, selection))
        except CorpusError as exc:
            if strict:
                raise
            if len(files) > 1:
                log.warning("skipped %s", exc)
            skipped.append({"path": str(path), "reason": str(exc)})
    if not solos:
        raise CorpusError(
            skipped[0]["reason"]
            if len(skipped) == 1
            else f"none of the {len(skipped)} corpus files could be read (first: {skipped[0]['reason']})"
        )
    return solos, skipped


# --- Summary and round trip -----------------------------------------------------------------

ROUNDTRIP_REGISTER = (21, 108)  # the piano's range: wide enough that no window is clipped


def summarize(solos: Sequence[Solo], skipped: Sequence[dict[str, str]], seed: int = 0) -> dict:
    """Counts, token types, vocabulary size and the encode → realize round trip of a corpus.

    `rhythm_exact` and `type_preserved` are the shares of notes whose onset + duration, and
    whose type over the solo's own chords, come back unchanged after realizing the tokens.
    """
    rng = random.Random(seed)
    types = Counter({t: 0 for t in TOKEN_TYPES})
    counts: Counter[str] = Counter()
    notes = exact = preserved = dropped = 0
    for solo in solos:
        tokens = encode(solo.notes, solo.chord_at)
        counts.update(t.text for t in tokens)
        types.update(t.type for t in tokens)
        back = realize(tokens, solo.chord_at, solo.notes[0].onset, ROUNDTRIP_REGISTER, rng)
        for original, again in zip(solo.notes, back, strict=True):
            exact += (original.onset, original.duration) == (again.onset, again.duration)
            chord = solo.chord_at(original.onset)
            preserved += chord.note_type(original.pitch) == chord.note_type(again.pitch)
        notes += len(solo.notes)
        dropped += solo.dropped
    return {
        "solos": len(solos),
        "notes": notes,
        "dropped_in_quantization": dropped,
        "chords_inferred": sum(s.chords_inferred for s in solos),
        "tokens": sum(counts.values()),
        "vocab_size": len(counts),
        "types": dict(types),
        "skipped": list(skipped),
        "roundtrip": {
            "rhythm_exact": exact / notes if notes else 0.0,
            "type_preserved": preserved / notes if notes else 0.0,
        },
    }
