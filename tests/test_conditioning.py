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
    assert Conditioning(True, True).index(50, False) == 2
    assert Conditioning(True, True).index(50, True) == 50
    assert Conditioning(True).index(50, True) == 2


def test_sizes_and_their_sidecar_values():
    assert [c.size for c in (Conditioning(), Conditioning(True), Conditioning(True, True))] == [0, 48, 96]
    for size in (0, 48, 96):
        assert Conditioning.of_size(size).size == size
    for bad in (1, 47, "48", None):
        with pytest.raises(ValueError, match="0, 48, 96"):
            Conditioning.of_size(bad)
    with pytest.raises(ValueError):
        Conditioning(False, True)


def test_a_lines_indexes_follow_its_bar_positions_and_chord_changes():
    hot = Conditioning(True, True).indexes(TOKENS, 0, lambda tick: tick, blues_head)
    assert hot == [0 + 48, 24, 54 - 48 + 48, 72 - 48, 120 - 96 + 48]
