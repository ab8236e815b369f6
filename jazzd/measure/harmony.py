"""The live case of the motif memory: does the line follow a keyboard player's chord changes?

The keyboard holds Cmaj7, then changes every two bars between F#7 and Cmaj7 (a tritone apart:
no restated figure fits both); the player's parts run as `jazzd` wires them, over a manual clock,
so the line is the one a seed plays live. Judged by what is sent: the share of the solo's notes
in the scale of the chord held at their onset, from one beat after each change to the next.
"""

from __future__ import annotations

import mido

from jazzd.live.clock import ManualClock
from jazzd.live.config import PlayOptions
from jazzd.live.wiring import wire
from jazzd.music.chords import parse_chord

VOICINGS = {"Cmaj7": (48, 52, 55, 59), "F#7": (54, 58, 61, 64)}
STEP = 0.002  # seconds between the stepper's calls (the timing thread's wake-ups)


def share_in_scale(
    seed: int, motifs: float, bpm: float = 200.0, warm_bars: int = 8, changes: int = 12, bars_each: int = 2
) -> float:
    """The share of notes in the held chord's scale after the changes (see the module)."""
    clock = ManualClock(bpm)
    sent: list[tuple[float, mido.Message]] = []
    live = wire(
        PlayOptions(port="synth", input="keys", seed=seed, motifs=motifs, bpm=bpm),
        clock,
        lambda message, due=None: sent.append((clock.now(), message)),
    )
    beat = 60 / bpm
    spans: list[tuple[float, float, str]] = []  # (from, to, chord) judged
    held: tuple[int, ...] = ()
    at = 0.0
    for number, name in enumerate(["Cmaj7", *(["F#7", "Cmaj7"] * changes)[:changes]]):
        for note in held:
            live.keyboard.handle(mido.Message("note_off", note=note))
        held = VOICINGS[name]
        for note in held:
            live.keyboard.handle(mido.Message("note_on", note=note, velocity=80))
        length = (warm_bars if number == 0 else bars_each) * 4 * beat
        if number:
            spans.append((at + beat, at + length, name))
        at += length
        while clock.t < at - 1e-12:
            clock.advance(STEP)
            live.performer.step(clock.t)
            live.scheduler.process(clock.t)
    inside = total = 0
    for t, message in sent:
        if message.type != "note_on" or message.velocity == 0 or message.channel != 0:
            continue
        for start, end, name in spans:
            if start <= t < end:
                inside += message.note % 12 in parse_chord(name).scale
                total += 1
    return inside / max(1, total)
