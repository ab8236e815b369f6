"""How a line is shaped, measured the same way for real and generated lines: figures that come
back (the same pitches, or the same shape at another pitch), phrases between rests, where they
start in the bar, how much of each bar is rest, and the register arc of a phrase.

These are the measures `jazzd eval` reports beside the token statistics; the motif memory
(solo/memory.py) is tuned against them on the validation solos.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from jazzd.music.grammar import BAR_TICKS, TICKS_PER_BEAT, Note

FIGURE = 4  # notes in a figure
PHRASE_GAP = TICKS_PER_BEAT // 2  # a rest of half a beat or more ends a phrase
PHRASE_LENGTH_BINS = (1, 2, 3, 4, 6, 9, 13, 21)  # notes: 1, 2, 3, 4-5, 6-8, 9-12, 13-20, 21+


def repeated_figures(notes: Sequence[Note]) -> tuple[int, int, int]:
    """(windows, pitch repeats, shape repeats): of the line's 4-note windows, how many repeat an
    earlier window's pitches exactly, and how many its intervals (the same shape, at any pitch:
    a sequence, or an exact repeat)."""
    pitches = [n.pitch for n in notes]
    seen_pitches: set[tuple[int, ...]] = set()
    seen_shapes: set[tuple[int, ...]] = set()
    windows = pitch_repeats = shape_repeats = 0
    for i in range(len(pitches) - FIGURE + 1):
        figure = tuple(pitches[i : i + FIGURE])
        shape = tuple(b - a for a, b in pairwise(figure))
        windows += 1
        pitch_repeats += figure in seen_pitches
        shape_repeats += shape in seen_shapes
        seen_pitches.add(figure)
        seen_shapes.add(shape)
    return windows, pitch_repeats, shape_repeats


def phrases(notes: Sequence[Note]) -> list[list[Note]]:
    """The line split where a rest of half a beat or more falls between two notes."""
    out: list[list[Note]] = []
    for note in notes:
        if not out or note.onset - (out[-1][-1].onset + out[-1][-1].duration) >= PHRASE_GAP:
            out.append([])
        out[-1].append(note)
    return out


def phrase_length_bin(length: int) -> int:
    return max(b for b in PHRASE_LENGTH_BINS if b <= length)


def rest_shares(notes: Sequence[Note]) -> list[float]:
    """For each bar from the first note's to the last's: the share of it that is rest, to a tenth."""
    if not notes:
        return []
    first, last = notes[0].onset // BAR_TICKS, (notes[-1].onset + notes[-1].duration - 1) // BAR_TICKS
    sounding = [0] * ((last - first + 1) * BAR_TICKS)
    for n in notes:
        for tick in range(n.onset - first * BAR_TICKS, n.onset + n.duration - first * BAR_TICKS):
            sounding[tick] = 1
    return [
        round(1 - sum(sounding[b : b + BAR_TICKS]) / BAR_TICKS, 1) for b in range(0, len(sounding), BAR_TICKS)
    ]


def phrase_start(phrase: Sequence[Note]) -> int:
    """Where in the bar a phrase starts, in eighth notes (0-7)."""
    return phrase[0].onset % BAR_TICKS // (TICKS_PER_BEAT // 2)


def register_arc(phrase: Sequence[Note]) -> str | None:
    """A phrase's shape in register (phrases of four notes or more): which third holds its
    highest note, and whether it ends above, level with (within 2 semitones) or below its start."""
    if len(phrase) < FIGURE:
        return None
    pitches = [n.pitch for n in phrase]
    peak = 3 * pitches.index(max(pitches)) // len(pitches)
    rise = pitches[-1] - pitches[0]
    ends = "up" if rise > 2 else "down" if rise < -2 else "level"
    return f"{('early', 'middle', 'late')[peak]} peak, ends {ends}"
