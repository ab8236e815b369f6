"""The token grammar: text form, quantization, encoding rules and the encode → realize round trip."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jazzd.music.chords import NOTE_NAMES, parse_chord
from jazzd.music.grammar import (
    MAX_TOKEN_TICKS,
    TICKS_PER_BEAT,
    Note,
    Token,
    encode,
    quantize,
    realize,
    realize_pitch,
)
from jazzd.music.solo import normalize_line

C7 = parse_chord("C7")


def constant(chord):
    return lambda tick: chord


def test_token_text_round_trip():
    for text in ["C,0.500,<-5,1>", "R,4.000", "S,0.333", "A,0.083,<0,6>", "X,1.250,<-12,-6>"]:
        assert Token.parse(text).text == text


@pytest.mark.parametrize("bad", ["Q,0.5", "C", "C,0.000", "C,5.000", "R,0.5,<1,2>", "C,0.5,1,2", "C,abc"])
def test_bad_token_text_raises(bad):
    with pytest.raises(ValueError):
        Token.parse(bad)


def test_quantize_to_quarters_and_thirds():
    assert [quantize(b) for b in (0.0, 0.26, 0.32, 0.5, 0.66, 0.74, 0.97, 1.1)] == [0, 3, 4, 6, 8, 9, 12, 12]


def test_encode_rests_windows_and_bar_resets():
    # bar 0: C4 quarter, gap of a beat, E4; bar 1: G4 (no window: first of the bar)
    notes = [Note(0, 12, 60, 0), Note(24, 12, 64, 0), Note(48, 12, 67, 1)]
    texts = [t.text for t in encode(notes, constant(C7))]
    assert texts == ["C,1.000", "R,1.000", "C,1.000,<1,7>", "R,1.000", "C,1.000"]


def test_long_rests_split_at_four_beats():
    notes = [Note(0, 12, 60, 0), Note(12 + 10 * TICKS_PER_BEAT, 12, 62, 0)]
    rests = [t for t in encode(notes, constant(C7)) if t.type == "R"]
    assert [t.ticks for t in rests] == [MAX_TOKEN_TICKS, MAX_TOKEN_TICKS, 2 * TICKS_PER_BEAT]


def test_rests_do_not_reset_the_previous_note():
    notes = [Note(0, 12, 60, 0), Note(36, 12, 62, 0)]
    assert encode(notes, constant(C7))[-1].lo == 2 - 3


def test_normalize_cuts_overlaps_fills_short_gaps_and_keeps_the_top_of_chords():
    raw = [(0.0, 1.5, 60, 0), (1.0, 0.9, 62, 0), (1.0, 0.5, 55, 0), (2.0, 0.5, 64, 0), (3.0, 9.0, 65, 0)]
    notes, dropped = normalize_line(raw)
    assert dropped == 1  # the lower note struck with 62
    assert [(n.onset, n.duration, n.pitch) for n in notes] == [
        (0, 12, 60),
        (12, 12, 62),
        (24, 6, 64),
        (36, MAX_TOKEN_TICKS, 65),
    ]


def test_normalize_nudges_a_colliding_onset_to_the_next_grid_point():
    notes, dropped = normalize_line([(0.0, 0.1, 60, 0), (0.1, 0.1, 62, 0), (0.25, 0.25, 64, 0)])
    assert [n.onset for n in notes] == [0, 3, 4] and dropped == 0


def test_windowless_token_takes_the_nearest_matching_pitch():
    rng = random.Random(1)
    assert realize_pitch(Token("C", 12), C7, 61, (48, 84), rng) in (60, 64)
    assert realize_pitch(Token("C", 12), C7, None, (60, 72), rng) == 67  # register centre 66


def test_window_prefers_not_to_repeat():
    rng = random.Random(0)
    picks = {realize_pitch(Token("C", 12, -3, 3), C7, 64, (48, 84), rng) for _ in range(50)}
    assert picks == {67}


def test_nothing_matches_in_window_falls_back_to_the_register():
    triad = parse_chord("C")  # Bb is its only X pitch class
    assert realize_pitch(Token("X", 12, 0, 0), triad, 60, (48, 84), random.Random(0)) == 58


def test_a_type_the_chord_lacks_keeps_the_previous_pitch_inside_the_register():
    assert realize_pitch(Token("X", 12, 0, 0), C7, 90, (48, 84), random.Random(0)) == 84


GRID = [0, 3, 4, 6, 8, 9]
CHORDS = [
    parse_chord(root + q) for root in NOTE_NAMES for q in ("maj7", "m7", "7", "m7b5", "dim7", "7alt", "6")
]


@st.composite
def melodies(draw):
    """A grid-aligned monophonic line with bars of 4 beats, over chords changing each bar."""
    count = draw(st.integers(1, 40))
    onsets = sorted(
        set(
            draw(
                st.lists(
                    st.builds(lambda b, g: b * 12 + g, st.integers(0, 64), st.sampled_from(GRID)),
                    min_size=count,
                    max_size=count,
                )
            )
        )
    )
    notes = []
    for i, onset in enumerate(onsets):
        limit = min(MAX_TOKEN_TICKS, (onsets[i + 1] - onset) if i + 1 < len(onsets) else MAX_TOKEN_TICKS)
        duration = draw(st.integers(1, limit))
        if i + 1 < len(onsets) and 0 < onsets[i + 1] - onset - duration < 3:
            duration = onsets[i + 1] - onset
        notes.append(Note(onset, duration, draw(st.integers(36, 96)), onset // 48))
    changes = draw(st.lists(st.sampled_from(CHORDS), min_size=18, max_size=18))
    return notes, lambda tick: changes[tick // 48]


@settings(max_examples=200, deadline=None)
@given(melodies(), st.integers(0, 2**32 - 1))
def test_round_trip_is_rhythm_exact_and_type_preserving(melody, seed):
    notes, chord_at = melody
    tokens = encode(notes, chord_at)
    back = realize(tokens, chord_at, notes[0].onset, (21, 108), random.Random(seed))
    assert [(n.onset, n.duration) for n in back] == [(n.onset, n.duration) for n in notes]
    assert [chord_at(n.onset).note_type(n.pitch) for n in back] == [
        chord_at(n.onset).note_type(n.pitch) for n in notes
    ]


@settings(max_examples=200, deadline=None)
@given(melodies(), st.integers(0, 100), st.integers(12, 40), st.integers(0, 2**32 - 1))
def test_realized_pitches_stay_in_the_register(melody, low, width, seed):
    notes, chord_at = melody
    register = (low, low + width)
    back = realize(encode(notes, chord_at), chord_at, 0, register, random.Random(seed), prev_pitch=127)
    assert all(register[0] <= n.pitch <= register[1] for n in back)
