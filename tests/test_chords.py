"""Chord symbols in both notations, held-note recognition, and note types over chords."""

import csv

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jazzd.errors import ChordError
from jazzd.music.chords import NOTE_NAMES, parse_chord, recognize_chord


def intervals(chord, which="tones"):
    return sorted((pc - chord.root) % 12 for pc in getattr(chord, which))


@pytest.mark.parametrize(
    ("symbol", "root", "tones"),
    [
        ("Dm7", 2, [0, 3, 7, 10]),
        ("G7b9", 7, [0, 4, 7, 10]),
        ("Cmaj7", 0, [0, 4, 7, 11]),
        ("C6", 0, [0, 4, 7, 9]),
        ("F#m7b5", 6, [0, 3, 6, 10]),
        ("Bb/D", 10, [0, 4, 7]),
        ("Cdim7", 0, [0, 3, 6, 9]),
        ("Caug", 0, [0, 4, 8]),
        ("Csus4", 0, [0, 5, 7]),
        ("C-7", 0, [0, 3, 7, 10]),
        ("Bbj7", 10, [0, 4, 7, 11]),
        ("F79b", 5, [0, 4, 7, 10]),
        ("C7911#", 0, [0, 4, 7, 10]),
        ("Ebo", 3, [0, 3, 6]),
        ("Bb6", 10, [0, 4, 7, 9]),
        ("Ab7alt", 8, [0, 4, 10]),
        ("Cm7", 0, [0, 3, 7, 10]),
        ("C9", 0, [0, 4, 7, 10]),
        ("Cø7", 0, [0, 3, 6, 10]),
        ("C+7", 0, [0, 4, 8, 10]),
        ("CmMaj7", 0, [0, 3, 7, 11]),
        ("C-j7", 0, [0, 3, 7, 11]),
    ],
)
def test_parse_roots_and_chord_tones(symbol, root, tones):
    chord = parse_chord(symbol)
    assert chord.root == root
    assert intervals(chord) == tones


@pytest.mark.parametrize(
    ("symbol", "scale"),
    [
        ("Cmaj7", [0, 2, 4, 5, 7, 9, 11]),  # ionian
        ("C-7", [0, 2, 3, 5, 7, 9, 10]),  # dorian
        ("C7", [0, 2, 4, 5, 7, 9, 10]),  # mixolydian
        ("C7b9", [0, 1, 3, 4, 6, 7, 9, 10]),  # half-whole
        ("C79b", [0, 1, 3, 4, 6, 7, 9, 10]),  # the same in Jazzomat notation
        ("C7alt", [0, 1, 3, 4, 6, 8, 10]),  # altered
        ("Cm7b5", [0, 1, 3, 5, 6, 8, 10]),  # locrian
        ("Co7", [0, 2, 3, 5, 6, 8, 9, 11]),  # whole-half
        ("Caug", [0, 2, 4, 6, 8, 10]),  # whole tone
        ("Cj7911#", [0, 2, 4, 6, 7, 9, 11]),  # #11 makes it lydian
        ("C7(b9,b13)", [0, 1, 4, 5, 7, 8, 10]),  # phrygian dominant
    ],
)
def test_scales_by_quality_and_tensions(symbol, scale):
    assert intervals(parse_chord(symbol), "scale") == scale


def test_jazzomat_postfix_and_common_prefix_accidentals_agree():
    assert parse_chord("F79b").scale == parse_chord("F7b9").scale
    assert parse_chord("D7911#").scale == parse_chord("D9#11").scale


def test_slash_bass_sounds_as_a_chord_tone():
    assert 5 in parse_chord("C/F").tones
    assert parse_chord("C/F").root == 0


def test_no_chord_is_none():
    assert parse_chord("NC") is None


@pytest.mark.parametrize("bad", ["H7", "Cxyz", "C7q", "7", "Cmaj7/Q"])
def test_unknown_symbols_raise_with_the_symbol(bad):
    with pytest.raises(ChordError, match="unknown chord symbol"):
        parse_chord(bad)


@pytest.mark.parametrize(
    ("pitches", "symbol"),
    [
        ((48, 52, 55), "C"),
        ((48, 52, 55, 58), "C7"),
        ((57, 60, 64, 67), "Am7"),
        ((48, 52, 55, 57), "C6"),
        ((50, 53, 57, 60), "Dm7"),
        ((43, 47, 50, 53), "G7"),
        ((41, 45, 48, 52), "Fmaj7"),
        ((47, 50, 53, 57), "Bm7b5"),
    ],
)
def test_recognize_held_notes(pitches, symbol):
    assert recognize_chord(pitches).symbol == symbol


def test_recognize_needs_two_pitch_classes():
    assert recognize_chord([60]) is None
    assert recognize_chord([48, 60]) is None
    assert recognize_chord([]) is None


def test_note_types_over_c7():
    chord = parse_chord("C7")
    assert [chord.note_type(60 + i) for i in range(12)] == [
        "C",
        "A",
        "S",
        "A",
        "C",
        "S",
        "A",
        "C",
        "A",
        "S",
        "C",
        "A",
    ]


@given(
    st.sampled_from(NOTE_NAMES), st.sampled_from(["", "m7", "7", "maj7", "m7b5", "dim7", "-7", "j7", "79b"])
)
def test_every_root_transposes_the_same_quality(root, quality):
    chord, c_chord = parse_chord(root + quality), parse_chord("C" + quality)
    assert intervals(chord) == intervals(c_chord)
    assert intervals(chord, "scale") == intervals(c_chord, "scale")


@given(st.text(max_size=12))
def test_parser_raises_only_chord_errors(text):
    try:
        chord = parse_chord(text)
    except ChordError:
        return
    assert chord is None or chord.tones <= chord.scale


def test_every_wjazzd_chord_label_parses(shared_data):
    labels = set()
    for path in (shared_data / "wjazzd-mcsv").rglob("*.csv"):
        with path.open() as fh:
            labels.update(row["chord"] for row in csv.DictReader(fh))
    assert len(labels) > 300
    for label in sorted(labels):
        chord = parse_chord(label)
        assert chord is None or chord.tones <= chord.scale, label
