"""The engine against a numpy reference of the same step, sampling, and model-file checks."""

import json

import numpy as np
import pytest
from builders import TINY_TOKENS, lstm_weights, numpy_step, write_onnx_step, write_tiny_model

from jazzd.errors import ModelError
from jazzd.music.vocab import Vocabulary
from jazzd.solo.engine import Engine
from jazzd.solo.modelfile import load_model_files, write_sidecar


def test_engine_matches_the_numpy_step_over_chained_tokens(tmp_path):
    weights = lstm_weights(len(TINY_TOKENS), 8, seed=3)
    path = write_onnx_step(tmp_path / "m.onnx", weights)
    write_sidecar(path, Vocabulary({t: 1 for t in TINY_TOKENS}), 8, {})
    engine = Engine(path)
    x = np.zeros((1, len(TINY_TOKENS)), np.float32)
    a = c = np.zeros((1, 8), np.float32)
    probs, a, c = numpy_step(weights, x, a, c)  # the zero step done by reset()
    for token_id in [3, 1, 1, 8, 0, 5, 2, 7] * 10:
        np.testing.assert_allclose(engine.probs, probs[0], atol=1e-5)
        np.testing.assert_allclose(engine.state[0], a[0], atol=1e-5)
        np.testing.assert_allclose(engine.state[1], c[0], atol=1e-5)
        engine.feed(token_id)
        x = np.zeros_like(x)
        x[0, token_id] = 1
        probs, a, c = numpy_step(weights, x, a, c)


def test_reset_returns_to_the_first_distribution(tmp_path):
    engine = Engine(write_tiny_model(tmp_path))
    first = engine.probs.copy()
    engine.prime([1, 2, 3])
    assert not np.allclose(engine.probs, first)
    engine.reset()
    np.testing.assert_allclose(engine.probs, first, atol=1e-6)


def test_same_seed_same_tokens_and_temperature_sharpens(tmp_path):
    path = write_tiny_model(tmp_path)
    runs = [[Engine(path, seed=5).next_token() for _ in range(1)] for _ in range(2)]
    assert runs[0] == runs[1]
    one = Engine(path, seed=1)
    sequence = [one.next_token() for _ in range(50)]
    again = Engine(path, seed=1)
    assert [again.next_token() for _ in range(50)] == sequence
    cold = Engine(path, seed=2, temperature=0.01)
    best = int(np.argmax(cold.probs))
    assert cold.sample() == best


def test_top_p_keeps_only_the_nucleus(tmp_path):
    engine = Engine(write_tiny_model(tmp_path), top_p=1e-6)
    best = int(np.argmax(engine.probs))
    assert {engine.sample() for _ in range(30)} == {best}


def test_a_restricted_draw_keeps_to_its_ids_in_the_models_proportions(tmp_path):
    engine = Engine(write_tiny_model(tmp_path), seed=1)
    kind = engine.vocab.parsed[int(np.argmin(engine.probs))].type  # not the likeliest token's type
    mask = engine.vocab.kinds[kind]
    drawn = [engine.sample(mask) for _ in range(4000)]
    assert {engine.vocab.parsed[i].type for i in drawn} == {kind}
    allowed = np.flatnonzero(mask)
    expected = engine.probs[allowed] / engine.probs[allowed].sum()
    counts = np.bincount(drawn, minlength=len(mask))[allowed] / len(drawn)
    np.testing.assert_allclose(counts, expected, atol=0.03)
    only = np.zeros_like(mask)
    only[allowed[-1]] = 1
    assert {Engine(write_tiny_model(tmp_path), top_p=0.5).sample(only) for _ in range(20)} == {allowed[-1]}


def test_sidecar_must_exist_and_match(tmp_path):
    path = write_tiny_model(tmp_path)
    sidecar = json.loads(path.with_suffix(".json").read_text())
    path.with_suffix(".json").write_text(json.dumps({**sidecar, "onnx_sha256": "0" * 64}))
    with pytest.raises(ModelError, match="onnx_sha256 does not match"):
        load_model_files(path)
    path.with_suffix(".json").unlink()
    with pytest.raises(ModelError, match=r"sidecar tiny\.json is missing"):
        load_model_files(path)


def test_vocabulary_size_must_match_the_network(tmp_path):
    path = write_tiny_model(tmp_path)
    sidecar = json.loads(path.with_suffix(".json").read_text())
    sidecar["vocab"] = {"tokens": TINY_TOKENS[:-1], "counts": [1] * (len(TINY_TOKENS) - 1)}
    path.with_suffix(".json").write_text(json.dumps(sidecar))
    with pytest.raises(ModelError, match=r"input 'x' has shape \[1, 9\] but the sidecar says \[1, 8\]"):
        Engine(path)


def test_a_conditioning_input_the_player_does_not_know(tmp_path):
    path = write_tiny_model(tmp_path)
    sidecar = json.loads(path.with_suffix(".json").read_text())
    path.with_suffix(".json").write_text(json.dumps({**sidecar, "phase_size": 50}))
    with pytest.raises(ModelError, match=r"tiny\.json: key 'phase_size' must be one of 0, 48, 96"):
        load_model_files(path)
    path.with_suffix(".json").write_text(json.dumps({**sidecar, "phase_size": 48}))
    with pytest.raises(ModelError, match=r"expected \['a', 'c', 'phase', 'x'\]"):
        Engine(path)


def test_a_file_that_is_not_onnx(tmp_path):
    path = write_tiny_model(tmp_path)
    path.write_bytes(b"this is not a model")
    write_sidecar(path, Vocabulary({t: 1 for t in TINY_TOKENS}), 8, {})
    with pytest.raises(ModelError, match="not a loadable ONNX model"):
        Engine(path)


def test_unknown_shipped_model_lists_the_shipped_ones():
    with pytest.raises(ModelError, match=r"shipped models: .*seed-metheny"):
        load_model_files("no-such-model")


def test_the_token_bench_times_the_soloist_with_and_without_the_motif_memory(tmp_path):
    from jazzd.learn.baselines import bench_soloist

    engine = Engine(write_tiny_model(tmp_path))
    rows = {motifs: bench_soloist(engine, 300, motifs) for motifs in (0.0, 1.0)}
    assert all(row["samples"] == 300 and 0 < row["median_us"] <= row["p99_us"] for row in rows.values())
