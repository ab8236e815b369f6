"""Builders for small MIDI fixtures."""

from __future__ import annotations

from pathlib import Path

import mido


def write_midi(
    path: Path,
    tracks: dict[str, list[tuple[float, float, int]]],
    tpb: int = 96,
    programs: dict[str, int] | None = None,
) -> Path:
    """A type-1 MIDI file with one named track per entry of (onset beats, length beats, pitch)."""
    mid = mido.MidiFile(type=1, ticks_per_beat=tpb)
    meta = mido.MidiTrack([mido.MetaMessage("time_signature", numerator=4, denominator=4)])
    mid.tracks.append(meta)
    for channel, (name, notes) in enumerate(tracks.items()):
        events = []
        for onset, length, pitch in notes:
            events.append(
                (round(onset * tpb), 1, mido.Message("note_on", channel=channel, note=pitch, velocity=80))
            )
            events.append(
                (round((onset + length) * tpb), 0, mido.Message("note_off", channel=channel, note=pitch))
            )
        track = mido.MidiTrack([mido.MetaMessage("track_name", name=name)])
        if programs and name in programs:
            track.append(mido.Message("program_change", channel=channel, program=programs[name]))
        now = 0
        for tick, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
            track.append(msg.copy(time=tick - now))
            now = tick
        mid.tracks.append(track)
    mid.save(str(path))
    return path


def block_chords(
    symbol_pitches: list[tuple[float, float, tuple[int, ...]]],
) -> list[tuple[float, float, int]]:
    """Chord-track notes from (onset, length, pitches) blocks."""
    return [(onset, length, p) for onset, length, pitches in symbol_pitches for p in pitches]
