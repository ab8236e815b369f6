"""Evaluation measures on small known inputs, and the eval command end to end."""

import json
import math

import numpy as np
from builders import write_tiny_model

from jazzd.cli import main
from jazzd.learn.evaluate import Line, bigram_nll, distributions, harmony_shares, overlap
from jazzd.music.chords import parse_chord
from jazzd.music.grammar import Note, encode


def test_overlap_area():
    assert overlap({"a": 0.5, "b": 0.5}, {"a": 0.5, "b": 0.5}) == 1.0
    assert overlap({"a": 1.0}, {"b": 1.0}) == 0.0
    assert math.isclose(overlap({"a": 0.7, "b": 0.3}, {"a": 0.4, "b": 0.6}), 0.7)


def test_bigram_nll_learns_a_deterministic_sequence():
    train = [np.array([0, 1, 2] * 50)]
    good = bigram_nll(train, [np.array([0, 1, 2] * 5)], size=3)
    bad = bigram_nll(train, [np.array([2, 1, 0] * 5)], size=3)
    assert good < 0.2 < math.log(3) < bad


def test_distributions_and_harmony_shares():
    c7 = parse_chord("C7")
    notes = [Note(0, 12, 60), Note(12, 12, 62), Note(24, 6, 64), Note(30, 6, 61)]
    line = Line(notes, encode(notes, lambda t: c7), lambda t: c7)
    dist = distributions([line])
    assert dist["note_type"] == {"C": 0.5, "S": 0.25, "A": 0.25}
    assert dist["chord_tones_on_beats"] == {True: 2 / 3, False: 1 / 3}
    assert dist["interval"] == {2: 2 / 3, -3: 1 / 3}
    assert harmony_shares([line]) == {"chord_tone_share": 0.5, "scale_share": 0.75}


def test_eval_command_reports_every_measure(tmp_path, capsys):
    from builders import block_chords, write_midi

    model = write_tiny_model(tmp_path)
    melody = [(i * 0.5, 0.5, 60 + (i * 7) % 12) for i in range(64)]
    write_midi(tmp_path / "s.mid", {"Sax": melody, "Piano": block_chords([(0, 32, (48, 52, 55, 58))])})
    assert main(["eval", "--model", str(model), "--corpus", str(tmp_path / "s.mid"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    scores = report["models"]["tiny"]
    assert report["solos"] == 1 and scores["nll_per_token"] > 0
    assert set(scores["overlap"]) == {
        "note_type",
        "chord_tones_on_beats",
        "interval",
        "duration",
        "bar_range",
        "repeated_4grams",
        "phrase_length",
        "rest_share",
        "phrase_start",
        "register_arc",
    }
    assert all(0 <= v <= 1 for v in scores["overlap"].values())
    # the real line goes round the cycle of fifths every 12 notes: of its 61 four-note windows,
    # all but the first 12 repeat one; with and without the motif memory, the same model and its
    # figures are reported side by side
    real = report["real"]
    assert real["pitch_4gram_repeats"] == 49 / 61 and real["interval_4gram_repeats"] >= 49 / 61
    with_motifs = next(m for name, m in report["models"].items() if name.startswith("tiny+motifs"))
    assert scores["motif_follow"] == 0 and with_motifs["motif_follow"] > 0
    assert with_motifs["nll_per_token"] == scores["nll_per_token"]


def test_eval_picks_validation_training_or_all_solos_and_pools_takes(tmp_path, capsys):
    from builders import TINY_TOKENS, block_chords, write_midi

    from jazzd.modelfile import write_sidecar
    from jazzd.music.vocab import Vocabulary

    model = write_tiny_model(tmp_path)
    extra = {"corpus": {"files": [], "validation_solos": ["a"]}, "training": {}, "results": {}}
    write_sidecar(model, Vocabulary({t: 10 for t in TINY_TOKENS}), 8, extra)
    melody = [(i * 0.5, 0.5, 60 + (i * 5) % 12) for i in range(64)]
    for name in "abc":
        write_midi(tmp_path / f"{name}.mid", {"Sax": melody, "Piano": block_chords([(0, 32, (48, 52, 55))])})
    corpus = [str(tmp_path / f"{name}.mid") for name in "abc"]

    def report(*flags):
        assert main(["eval", "--model", str(model), "--corpus", *corpus, "--json", *flags]) == 0
        return json.loads(capsys.readouterr().out)

    assert [report(*f)["solos"] for f in ([], ["--training"], ["--all"])] == [1, 2, 3]
    one, three = report("--takes", "1"), report("--takes", "3")
    assert (one["takes"], three["takes"]) == (1, 3)
    assert one["models"]["tiny"]["overlap"] != three["models"]["tiny"]["overlap"]
