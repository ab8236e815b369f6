"""One solo in memory, whatever it was read from, and the melody's normalization: the
quantized, monophonic line the grammar encodes without loss (both readers use it)."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from jazzd.errors import CorpusError
from jazzd.music.chords import Chord
from jazzd.music.grammar import (
    BAR_TICKS,
    MAX_TOKEN_TICKS,
    MIN_REST_TICKS,
    TICKS_PER_BEAT,
    Note,
    next_grid_point,
    quantize,
)
from jazzd.music.timeline import ChordTimeline

MAX_NUDGE_TICKS = 3  # a colliding onset may move at most a quarter beat


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
    timeline: ChordTimeline = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.changes:
            raise CorpusError(f"{self.source}: no chords found")
        self.timeline = ChordTimeline(self.changes)

    def bar_position(self, tick: int) -> int:
        """Ticks since the start of the bar `tick` lies in."""
        if not self.bar_starts or tick < self.bar_starts[0]:
            return tick % BAR_TICKS
        return tick - self.bar_starts[bisect.bisect_right(self.bar_starts, tick) - 1]

    def chord_at(self, tick: int) -> Chord:
        """The chord in force at `tick` (the first chord before the first change)."""
        return self.timeline.chord_at(tick)


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


def chord_changes(per_beat: Sequence[tuple[int, Chord | None]], source: str) -> list[tuple[int, Chord]]:
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


def by_bar(notes: Sequence[Note]) -> list[list[Note]]:
    groups: dict[int, list[Note]] = {}
    for note in notes:
        groups.setdefault(note.bar, []).append(note)
    return list(groups.values())
