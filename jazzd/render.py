"""Offline rendering: a solo over a written progression, as a Standard MIDI File.

The same seed gives the same file byte for byte: the engine, the pitch choice and the MIDI
writer are all deterministic.
"""

from __future__ import annotations

from pathlib import Path

import mido

from jazzd.feel import Feel
from jazzd.music.chords import Chord
from jazzd.music.grammar import BEATS_PER_BAR, TICKS_PER_BEAT, Note
from jazzd.music.timeline import ChordTimeline
from jazzd.realize import Soloist

MIDI_TICKS_PER_BEAT = 480
TICK = MIDI_TICKS_PER_BEAT // TICKS_PER_BEAT
SOLO_CHANNEL, CHORD_CHANNEL = 0, 1
CHORD_VELOCITY = 60
ACCENTS = Feel()  # the live player's accents (a render is straight: no swing)


def voicing(chord: Chord) -> list[int]:
    """A plain left-hand voicing: the root in octave 2, the other chord tones above C3."""
    upper = sorted(48 + chord.root + (pc - chord.root) % 12 for pc in chord.tones if pc != chord.root)
    return [36 + chord.root, *upper]


def midi_file(notes: list[Note], timeline: ChordTimeline, end: int, bpm: float) -> mido.MidiFile:
    """Solo on track 1 (channel 1), chords on track 2 (channel 2), tempo and metre on track 0."""
    mid = mido.MidiFile(type=1, ticks_per_beat=MIDI_TICKS_PER_BEAT)
    meta = mido.MidiTrack(
        [
            mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm)),
            mido.MetaMessage("time_signature", numerator=BEATS_PER_BAR, denominator=4),
        ]
    )
    solo = [
        (n.onset, n.onset + n.duration, n.pitch, ACCENTS.velocity(n.onset / TICKS_PER_BEAT)) for n in notes
    ]
    chords = [
        (start, stop, p, CHORD_VELOCITY) for start, stop, chord in timeline.spans(end) for p in voicing(chord)
    ]
    mid.tracks.extend(
        [meta, _track("jazzd solo", solo, SOLO_CHANNEL), _track("chords", chords, CHORD_CHANNEL)]
    )
    return mid


def _track(name: str, notes: list[tuple[int, int, int, int]], channel: int) -> mido.MidiTrack:
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


def render(
    soloist: Soloist, timeline: ChordTimeline, end: int, bpm: float, output: Path, landing: int | None = None
) -> list[Note]:
    """Write the solo over `timeline` up to tick `end`, with its chords, to `output`; returns
    the notes. With `landing` (a tune's final chord, in ticks) the line ends there on a chord
    tone. The model reads each bar's position from the timeline (bars of other lengths)."""
    soloist.engine.bar_position = timeline.bar_position
    notes = list(soloist.play(timeline.chord_at, 0, end, landing))
    midi_file(notes, timeline, end, bpm).save(str(output))
    return notes
