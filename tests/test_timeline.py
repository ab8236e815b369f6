"""The chord timeline: one lookup, in ticks, for corpus solos, renders and the live fallback."""

from jazzd.music.chords import parse_chord
from jazzd.music.timeline import ChordTimeline


def test_a_progression_shares_its_bars_evenly_and_repeats():
    timeline = ChordTimeline.looped("| Dm7 G7 | C |")
    assert [(t, c.symbol) for t, c in timeline.changes] == [(0, "Dm7"), (24, "G7"), (48, "C")]
    assert timeline.length == 96
    assert [timeline.chord_at(t).symbol for t in (23, 24, 95, 96, 120, 191)] == [
        "Dm7",
        "G7",
        "C",
        "Dm7",
        "G7",
        "C",
    ]
    assert timeline.chord_at(23.999).symbol == "Dm7"  # the live side asks between ticks


def test_spans_unroll_the_repeats_up_to_the_end():
    timeline = ChordTimeline.looped("| Dm7 G7 | C |")
    assert [(a, b, c.symbol) for a, b, c in timeline.spans(150)] == [
        (0, 24, "Dm7"),
        (24, 48, "G7"),
        (48, 96, "C"),
        (96, 120, "Dm7"),
        (120, 144, "G7"),
        (144, 150, "C"),
    ]


def test_before_the_first_change_the_first_chord_is_in_force():
    timeline = ChordTimeline([(48, parse_chord("F7")), (96, parse_chord("Bb7"))])
    assert [timeline.chord_at(t).symbol for t in (0, 48, 95, 1000)] == ["F7", "F7", "F7", "Bb7"]
