"""Evaluation measures on small known inputs, and the eval command end to end."""

import json
import math

import numpy as np
from builders import write_tiny_model

from jazzd.cli import main
from jazzd.learn.evaluate import (
    MEASURES,
    Line,
    bigram_nll,
    chord_tones,
    distributions,
    harmony,
    opening,
    overlap,
)
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


def test_harmony_is_judged_by_the_pitches_that_sound_with_a_reading_of_its_own():
    """Over C7: C and E chord tones, D a whole tone from both (other), Db a semitone from C. The
    reading is the evaluator's own: `-7`, `j7`, `o7`, `m7b5`, `sus`, `69`, a bass."""
    c7 = parse_chord("C7")
    notes = [Note(0, 12, 60), Note(12, 12, 62), Note(24, 6, 64), Note(30, 6, 61)]
    line = Line(notes, encode(notes, lambda t: c7), lambda t: c7)
    dist = distributions([line])
    assert dist["pitch_role"] == {"chord": 0.5, "other": 0.25, "semitone": 0.25}
    assert dist["chord_tones_on_beats"] == {True: 2 / 3, False: 1 / 3}
    assert dist["interval"] == {2: 2 / 3, -3: 1 / 3}
    figures = harmony([line])
    assert (figures["chord_tones"], figures["semitone"], figures["other"]) == (0.5, 0.25, 0.25)
    assert figures["chord_tones_on_beats"] == 2 / 3
    names = {"Eb-7": {3, 6, 10, 1}, "Fj7": {5, 9, 0, 4}, "Bo7": {11, 2, 5, 8}, "Bm7b5": {11, 2, 5, 9}}
    names |= {"Gsus7": {7, 0, 2, 5}, "C-69": {0, 3, 7, 9}, "C/Bb": {0, 4, 7, 10}}
    assert {name: set(chord_tones(name)) for name in names} == names


def test_an_opening_is_the_first_16_bars_from_the_first_note():
    c7 = parse_chord("C7")
    notes = [Note(48 * bar + 24, 12, 60) for bar in range(3, 30)]
    cut = opening(Line(notes, [], lambda t: c7))
    assert [n.onset // 48 for n in cut.notes] == list(range(3, 19))


def test_eval_command_reports_every_measure(tmp_path, capsys):
    from builders import block_chords, write_midi

    model = write_tiny_model(tmp_path)
    melody = [(i * 0.5, 0.5, 60 + (i * 7) % 12) for i in range(64)]
    write_midi(tmp_path / "s.mid", {"Sax": melody, "Piano": block_chords([(0, 32, (48, 52, 55, 58))])})
    assert main(["eval", "--model", str(model), "--corpus", str(tmp_path / "s.mid"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    scores = report["models"]["tiny"]
    assert report["solos"] == 1 and scores["nll_per_token"] > 0
    assert set(scores["whole"]["overlap"]) == set(scores["opening"]["overlap"]) == set(MEASURES)
    assert {"pitch_role", "chord_tones_on_beats", "interval", "duration"} <= set(MEASURES)
    assert all(0 <= v <= 1 for scope in ("whole", "opening") for v in scores[scope]["overlap"].values())
    # the real line goes round the cycle of fifths every 12 notes: of its 61 four-note windows,
    # all but the first 12 repeat one; with and without the motif memory, the same model and its
    # figures are reported side by side
    real = report["real"]["whole"]
    assert real["pitch_4gram_repeats"] == 49 / 61 and real["interval_4gram_repeats"] >= 49 / 61
    assert report["real"]["opening"] == real  # 8 bars long: its opening is all of it
    with_motifs = next(m for name, m in report["models"].items() if name.startswith("tiny+motifs"))
    assert scores["motif_follow"] == 0 and with_motifs["motif_follow"] > 0
    assert with_motifs["nll_per_token"] == scores["nll_per_token"]


def test_eval_picks_validation_training_or_all_solos_and_pools_takes(tmp_path, capsys):
    from builders import TINY_TOKENS, block_chords, write_midi

    from jazzd.music.vocab import Vocabulary
    from jazzd.solo.modelfile import write_sidecar

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
    assert one["models"]["tiny"]["whole"]["overlap"] != three["models"]["tiny"]["whole"]["overlap"]
