"""Offline rendering: a solo over a written progression, as a Standard MIDI File.

The same seed gives the same file byte for byte: the engine, the pitch choice and the MIDI
writer are all deterministic.
"""

from __future__ import annotations

from pathlib import Path

from jazzd.music.chords import Chord
from jazzd.music.grammar import TICKS_PER_BEAT, Note
from jazzd.music.midifile import write_midi
from jazzd.music.timeline import ChordTimeline
from jazzd.solo.feel import Feel
from jazzd.solo.soloist import Soloist

ACCENTS = Feel()  # the live player's accents (a render is straight: no swing)
CHORD_VELOCITY = 60


def voicing(chord: Chord) -> list[int]:
    """A plain left-hand voicing: the root in octave 2, the other chord tones above C3."""
    upper = sorted(48 + chord.root + (pc - chord.root) % 12 for pc in chord.tones if pc != chord.root)
    return [36 + chord.root, *upper]


def render(
    soloist: Soloist, timeline: ChordTimeline, end: int, bpm: float, output: Path, landing: int | None = None
) -> list[Note]:
    """Write the solo over `timeline` up to tick `end`, with its chords, to `output`; returns
    the notes. With `landing` (a tune's final chord, in ticks) the line ends there on a chord
    tone. The model reads each bar's position from the timeline (bars of other lengths)."""
    soloist.engine.bar_position = timeline.bar_position
    notes = list(soloist.play(timeline.chord_at, 0, end, landing))
    solo = [
        (n.onset, n.onset + n.duration, n.pitch, ACCENTS.velocity(n.onset / TICKS_PER_BEAT)) for n in notes
    ]
    chords = [
        (start, stop, p, CHORD_VELOCITY) for start, stop, chord in timeline.spans(end) for p in voicing(chord)
    ]
    write_midi(output, solo, chords, bpm)
    return notes
