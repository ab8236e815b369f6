"""The Weimar Jazz Database's per-solo CSV files (melody, and the beat track with the chords)
→ a `Solo`."""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path

from jazzd.errors import ChordError, CorpusError
from jazzd.music.chords import Chord, parse_chord, recognize_chord
from jazzd.music.grammar import BEATS_PER_BAR, TICKS_PER_BEAT, quantize
from jazzd.music.solo import Solo, by_bar, chord_changes, normalize_line

MELODY_COLUMNS = ("onset", "duration", "bar", "beat", "tatum", "division", "beat_duration", "pitch")
BEAT_COLUMNS = ("bar", "beat", "chord")


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


def _beat_track(beat_path: Path) -> tuple[dict[tuple[int, int], int], list, list[int]]:
    """The beat track: each (bar, beat)'s index, the chord at each beat (by tick), bar starts."""
    beat_index: dict[tuple[int, int], int] = {}
    per_beat: list[tuple[int, Chord | None]] = []
    bar_starts: list[int] = []
    for i, row in enumerate(_read_csv(beat_path, BEAT_COLUMNS)):
        try:
            beat_index.setdefault((int(row["bar"]), int(row["beat"])), i)
        except (ValueError, TypeError) as exc:
            raise CorpusError(f"{beat_path}, line {i + 2}: bar/beat are not integers") from exc
        per_beat.append((i * TICKS_PER_BEAT, _parse_row_chord(row["chord"], beat_path, i + 2)))
        if row["beat"] == "1":
            bar_starts.append(i * TICKS_PER_BEAT)
    return beat_index, per_beat, bar_starts


def read_wjazzd(path: Path) -> Solo:
    """One WJazzD solo: melody rows from `path`, chord changes from its beat track.

    A note's onset is its beat's index in the beat track plus (tatum - 1) / division; its
    duration is seconds / beat_duration. Without a beat track the melody's chord column is used.
    """
    rows = _read_csv(path, MELODY_COLUMNS)
    beat_path = beat_track_for(path)
    beat_index, per_beat, bar_starts = _beat_track(beat_path) if beat_path.exists() else ({}, [], [])
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
            index = (bar - 1) * BEATS_PER_BAR + beat - 1  # no beat track: assume 4/4 from bar 1
        onset = index + (tatum - 1) / division
        raw.append((onset, seconds / beat_seconds, pitch, bar))
        if not beat_index and "chord" in row:
            note_chords.append((quantize(onset), _parse_row_chord(row["chord"], path, line)))
    notes, dropped = normalize_line(raw)
    name = path.stem.removesuffix("_FINAL")
    steps = per_beat or sorted(note_chords, key=lambda c: c[0])
    if all(chord is None for _, chord in steps):  # free playing: no changes were annotated
        steps = [
            (bar_notes[0].onset, recognize_chord(n.pitch for n in bar_notes)) for bar_notes in by_bar(notes)
        ]
        return Solo(
            name,
            str(path),
            notes,
            chord_changes(steps, str(path)),
            dropped,
            chords_inferred=True,
            bar_starts=bar_starts,
        )
    return Solo(name, str(path), notes, chord_changes(steps, str(path)), dropped, bar_starts=bar_starts)
