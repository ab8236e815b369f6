"""Vocabulary order, counts, pruning to the nearest kept token, and training windows."""

import json

import numpy as np
import pytest

from jazzd.errors import JazzdError
from jazzd.music.grammar import Token
from jazzd.music.vocab import Vocabulary, windows


def test_vocabulary_sorted_with_counts_and_saved(tmp_path):
    vocab = Vocabulary.from_sequences([[Token("S", 6), Token("C", 12)], [Token("C", 12)]])
    assert vocab.tokens == ["C,1.000", "S,0.500"] and vocab.counts == [2, 1]
    vocab.save(tmp_path / "v.json")
    again = Vocabulary.load(tmp_path / "v.json")
    assert again.tokens == vocab.tokens and again.counts == vocab.counts


def test_vocabulary_rejects_garbage(tmp_path):
    (tmp_path / "v.json").write_text(json.dumps({"tokens": ["C,1.000", "nope"], "counts": [1, 2]}))
    with pytest.raises(JazzdError, match=r"v\.json"):
        Vocabulary.load(tmp_path / "v.json")


def test_pruned_tokens_map_to_the_nearest_kept_token():
    seq = [Token("C", 6, -2, 4)] * 5 + [Token("C", 12)] * 5 + [Token("S", 6, -1, 5)] * 5
    seq += [Token("C", 7, -3, 3), Token("C", 11), Token("X", 6, 0, 6)]
    vocab = Vocabulary.from_sequences([seq], min_count=2)
    assert vocab.tokens == ["C,0.500,<-2,4>", "C,1.000", "S,0.500,<-1,5>"]
    assert vocab.counts == [6, 6, 6]
    assert list(vocab.ids([Token("C", 7, -3, 3), Token("C", 11), Token("X", 6, 0, 6)])) == [0, 1, 2]


def test_windows_shift_inputs_behind_a_zero_step():
    inputs, targets, phases = windows([np.array([5, 6, 7, 8])], length=3, phases=[np.array([0, 3, 6, 9])])
    assert inputs.tolist() == [[-1, 5, 6], [-1, 6, 7]]
    assert targets.tolist() == [[5, 6, 7], [6, 7, 8]]
    assert phases.tolist() == [[0, 3, 6], [3, 6, 9]]  # where each target starts
    assert windows([np.array([5, 6, 7])], length=3)[2] is None
    with pytest.raises(JazzdError, match="shorter window"):
        windows([np.array([1, 2])], length=3)
