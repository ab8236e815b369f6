"""The model's conditioning input: its sizes, its one-hot index, and the per-token indexes of a line."""

import pytest

from jazzd.music.chords import parse_chord
from jazzd.music.conditioning import Conditioning, new_chord_flags
from jazzd.music.grammar import BAR_TICKS, Token

F7, BB7 = parse_chord("F7"), parse_chord("Bb7")


def blues_head(tick):  # | F7 | Bb7 | F7 |
    return BB7 if BAR_TICKS <= tick < 2 * BAR_TICKS else F7


TOKENS = [
    Token("C", 24),
    Token("R", 30),
    Token("S", 18),
    Token("C", 48),
    Token("A", 6),
]  # onsets 0 24 54 72 120


def test_new_chord_flags_mark_the_first_token_over_each_chord():
    # the first token, the first in bar 2, the first back on F7
    assert new_chord_flags(TOKENS, 0, blues_head) == [True, False, True, False, True]
    assert new_chord_flags(TOKENS, 0, lambda tick: F7) == [True, False, False, False, False]


def test_the_index_adds_the_chord_change_only_for_models_that_read_it():
    (both,) = Conditioning.of(True, True).features
    (position,) = Conditioning.of(True).features
    assert (both.index(50, False), both.index(50, True), position.index(50, True)) == (2, 50, 2)
    assert both.name == position.name == "phase"


def test_features_sizes_and_their_sidecar_records():
    assert [Conditioning.of(*f).size for f in ((), (True,), (True, True))] == [0, 48, 96]
    for flags in ((), (True,), (True, True)):
        made = Conditioning.of(*flags)
        assert Conditioning.from_sidecar({"conditioning": made.sidecar()}) == made
        assert Conditioning.from_sidecar({"phase_size": made.size}) == made  # sidecars before features
    assert Conditioning.of(True, True).sidecar() == [
        {"name": "phase", "size": 96, "reads": "bar_position_and_new_chord"}
    ]
    for bad in (1, 47, "48", None, True):
        with pytest.raises(ValueError, match="0, 48, 96"):
            Conditioning.from_sidecar({"phase_size": bad})
    with pytest.raises(ValueError, match="must read one of bar_position"):
        Conditioning.from_sidecar({"conditioning": [{"name": "phase", "size": 50, "reads": "bar_position"}]})
    with pytest.raises(ValueError):
        Conditioning.of(False, True)


def test_a_lines_indexes_follow_its_bar_positions_and_chord_changes():
    hot = Conditioning.of(True, True).indexes(TOKENS, 0, lambda tick: tick, blues_head)
    assert hot == [(0 + 48,), (24,), (54 - 48 + 48,), (72 - 48,), (120 - 96 + 48,)]
    both = Conditioning.of(True, True, ["bar_position"])  # a further feature: its own column
    assert [f.name for f in both.features] == ["phase", "bar_position"] and both.size == 96 + 48
    assert both.indexes(TOKENS, 0, lambda tick: tick, blues_head)[2] == (54, 6)
    with pytest.raises(ValueError, match="no feature reads 'tempo'"):
        Conditioning.of(True, False, ["tempo"])
