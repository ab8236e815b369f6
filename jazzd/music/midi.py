"""MIDI's numbers, in one place: the status bytes jazzd sends and judges, the controllers it
silences with, the clock's rate; and the one way an All Notes Off is written."""

from __future__ import annotations

import mido

NOTE_OFF, NOTE_ON, CONTROL_CHANGE, PROGRAM_CHANGE = 0x80, 0x90, 0xB0, 0xC0
CLOCK, START, STOP = 0xF8, 0xFA, 0xFC
ALL_SOUND_OFF, ALL_NOTES_OFF = 120, 123  # controller numbers
CLOCKS_PER_BEAT = 24  # MIDI clock ticks a quarter note
SONG_POSITIONS = 16384  # Song Position Pointer: 14 bits of 16ths


def all_notes_off(channel: int) -> mido.Message:
    """CC 123 on `channel` (0-15): every note the synth holds there ends."""
    return mido.Message("control_change", channel=channel, control=ALL_NOTES_OFF, value=0)
