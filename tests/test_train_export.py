"""Training on a tiny synthetic corpus, export with the parity check, and the exported model
playing. Needs the train extra (TensorFlow, tf2onnx), which CI installs."""

import json
import random

import numpy as np
import pytest
from builders import block_chords, write_midi

from jazzd.cli import main
from jazzd.solo.engine import Engine
from jazzd.solo.modelfile import load_model_files, sha256_of

pytest.importorskip("tensorflow", reason="the train extra is not installed (CI installs it)")
pytestmark = pytest.mark.slow


def tiny_corpus(folder):
    """Three short 'solos': arpeggios and scale runs over ii-V-I, as MIDI files."""
    rng = random.Random(0)
    comping = block_chords(
        [
            (b * 4, 4, chord)
            for b, chord in enumerate([(50, 53, 57, 60), (43, 47, 50, 53), (48, 52, 55, 59)] * 4)
        ]
    )
    for n in range(3):
        melody, at = [], 0.0
        while at < 46:
            length = rng.choice([0.5, 0.5, 1.0, 1 / 3])
            melody.append((at, length * 0.9, rng.choice([62, 65, 67, 69, 71, 72, 74])))
            at += length
        write_midi(folder / f"solo{n}.mid", {"Sax": melody, "Piano": comping})
    return folder


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("train")
    corpus = tiny_corpus(tmp)
    code = main(
        [
            "train",
            str(corpus),
            "--n-a",
            "8",
            "--tx",
            "8",
            "--epochs",
            "3",
            "--batch-size",
            "16",
            "--name",
            "tiny",
            "--work-dir",
            str(tmp / "runs"),
            "--out-dir",
            str(tmp / "models"),
        ]
    )
    assert code == 0
    return tmp


def test_training_saves_history_per_epoch(trained):
    run = json.loads((trained / "runs" / "tiny" / "run.json").read_text())
    assert [row["epoch"] for row in run["history"]] == [1, 2, 3]
    assert run["history"][-1]["loss"] < run["history"][0]["loss"]
    assert run["settings"]["n_a"] == 8 and run["corpus"]["solos"] == 3


def test_export_writes_a_checked_model_with_its_sidecar(trained):
    files = load_model_files(trained / "models" / "tiny.onnx")
    assert files.sidecar["onnx_sha256"] == sha256_of(files.onnx_path)
    assert files.sidecar["parity"]["max_abs_diff"] <= 1e-5 and files.sidecar["parity"]["steps"] >= 200
    assert files.n_a == 8 and files.sidecar["vocab_size"] == len(files.vocab)
    assert files.sidecar["corpus"]["files"] == ["solo0.mid", "solo1.mid", "solo2.mid"]
    engine = Engine(files, seed=1)
    assert np.isclose(engine.probs.sum(), 1.0, atol=1e-5)
    assert all(0 <= engine.next_token() < len(files.vocab) for _ in range(100))


def test_export_is_reproducible_byte_for_byte(trained):
    again = trained / "again.onnx"
    assert main(["export", str(trained / "runs" / "tiny"), "-o", str(again)]) == 0
    assert again.read_bytes() == (trained / "models" / "tiny.onnx").read_bytes()


def test_export_refuses_a_model_that_fails_parity(trained, monkeypatch, capsys):
    from jazzd.learn import export

    monkeypatch.setattr(export, "check_parity", lambda *a, **k: 3e-4)
    target = trained / "refused.onnx"
    assert main(["export", str(trained / "runs" / "tiny"), "-o", str(target)]) == 1
    assert "differs from Keras by 3.00e-04" in capsys.readouterr().err
    assert not target.exists() and not target.with_suffix(".json").exists()


def test_export_of_something_that_is_not_a_run(tmp_path, capsys):
    assert main(["export", str(tmp_path), "-o", str(tmp_path / "x.onnx")]) == 1
    assert "not a finished training run" in capsys.readouterr().err


def test_a_model_with_the_bar_phase_and_chord_change_input(trained, tmp_path):
    code = main(
        [
            "train",
            str(trained),
            "--n-a",
            "8",
            "--tx",
            "8",
            "--epochs",
            "2",
            "--batch-size",
            "16",
            "--metric-phase",
            "--chord-changes",
            "--name",
            "phased",
            "--work-dir",
            str(tmp_path / "runs"),
            "--out-dir",
            str(tmp_path / "models"),
        ]
    )
    assert code == 0
    files = load_model_files(tmp_path / "models" / "phased.onnx")
    assert files.conditioning.size == 96 and files.sidecar["parity"]["max_abs_diff"] <= 1e-5
    phase = {"name": "phase", "size": 96, "reads": "bar_position_and_new_chord"}
    assert files.sidecar["conditioning"] == [phase]  # named features, fed by name
    engine = Engine(files, seed=0)
    engine.reset(position=18)
    off_beat = engine.probs.copy()
    engine.feed(3, position=0, new_chord=False)
    same_chord = engine.probs.copy()
    engine.reset(position=18)
    engine.feed(3, position=0, new_chord=True)
    assert not np.allclose(same_chord, engine.probs)  # the chord change reaches the network
    engine.reset(position=0)
    assert not np.allclose(off_beat, engine.probs)  # the phase reaches the network
    token = engine.next_token()
    assert engine.position == files.vocab.parsed[token].ticks


def test_chord_changes_need_the_phase_input(trained, capsys):
    assert main(["train", str(trained), "--chord-changes", "--no-metric-phase"]) == 1
    assert "--chord-changes needs --metric-phase" in capsys.readouterr().err


def test_a_model_with_two_named_features_trains_exports_and_is_fed_by_name(trained, tmp_path):
    """A further feature is its own ONNX input: trained beside the phase, exported with its
    rows of the input kernel (parity checked), named in the sidecar, fed by the engine."""
    argv = ["train", str(trained), "--n-a", "8", "--tx", "8", "--epochs", "1", "--batch-size", "16"]
    argv += ["--metric-phase", "--feature", "bar_position", "--name", "two"]
    argv += ["--work-dir", str(tmp_path / "runs"), "--out-dir", str(tmp_path / "models")]
    assert main(argv) == 0
    files = load_model_files(tmp_path / "models" / "two.onnx")
    assert [f["name"] for f in files.sidecar["conditioning"]] == ["phase", "bar_position"]
    assert files.conditioning.size == 96 and files.sidecar["parity"]["max_abs_diff"] <= 1e-5
    engine = Engine(files, seed=0)
    assert {i.name for i in engine.session.get_inputs()} == {"x", "a", "c", "phase", "bar_position"}
    engine.reset(position=6)
    engine.feed(3, position=12, new_chord=False)
    assert abs(float(engine.probs.sum()) - 1.0) < 1e-4
