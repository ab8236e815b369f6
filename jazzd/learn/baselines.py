"""Benchmarks: time per generated token, reported as median and p99 with ratios to baselines
measured in the same run (never asserted in tests: this shared machine would make them flaky).

- engine: the onnxruntime step plus sampling, as the player runs it;
- soloist / soloist_motifs: the player's whole token over a looped ii–V–I (engine step,
  sampling, the pitch planned over the chord, and without / with the motif memory);
- keras_eager: the same-sized LSTMCell + Dense stepped eagerly in Keras (needs the train extra);
- course_predict: the course's way, an unrolled inference model of Ty = 50 steps run with
  `predict`, per token (needs the train extra). Timing depends on the shapes only, so the Keras
  baselines use random weights of the model's sizes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from jazzd.errors import MissingExtraError
from jazzd.music.timeline import ChordTimeline
from jazzd.solo.engine import Engine
from jazzd.solo.memory import MOTIF_FOLLOW
from jazzd.solo.soloist import Soloist

COURSE_TY = 50


def _summary(seconds: list[float]) -> dict[str, float]:
    micros = np.asarray(seconds) * 1e6
    return {
        "median_us": round(float(np.median(micros)), 2),
        "p99_us": round(float(np.percentile(micros, 99)), 2),
        "samples": len(micros),
    }


def _timed(step: Callable[[], object], tokens: int) -> dict[str, float]:
    """`step` called `tokens` times, each call timed."""
    times = []
    clock = time.perf_counter
    for _ in range(tokens):
        started = clock()
        step()
        times.append(clock() - started)
    return _summary(times)


def bench_engine(engine: Engine, tokens: int) -> dict[str, float]:
    return _timed(engine.next_token, tokens)


def bench_soloist(engine: Engine, tokens: int, motifs: float) -> dict[str, float]:
    timeline = ChordTimeline.looped("| Dm7 | G7 | Cmaj7 | A7 |")
    soloist = Soloist(engine, seed=0, motifs=motifs)
    soloist.restart(0, timeline.chord_at(0))
    return _timed(lambda: soloist.next_token(timeline.chord_at), tokens)


def bench_keras(vocab_size: int, n_a: int, tokens: int) -> dict[str, dict[str, float]]:
    from jazzd.learn.train import import_tensorflow

    tf, keras = import_tensorflow()
    cell, dense = keras.layers.LSTMCell(n_a), keras.layers.Dense(vocab_size, activation="softmax")
    x = tf.zeros((1, vocab_size))
    a = c = tf.zeros((1, n_a))
    eager = []
    rng = np.random.default_rng(0)
    for _ in range(max(50, tokens // 20)):
        started = time.perf_counter()
        hidden, (a, c) = cell(x, [a, c])
        probs = dense(hidden).numpy()[0].astype(np.float64)
        x = tf.one_hot([rng.choice(vocab_size, p=probs / probs.sum())], vocab_size)
        eager.append(time.perf_counter() - started)

    x0 = keras.Input((1, vocab_size))
    a0, c0 = keras.Input((n_a,)), keras.Input((n_a,))
    lstm = keras.layers.LSTM(n_a, return_state=True)
    xt, at, ct, outputs = x0, a0, c0, []
    for _ in range(COURSE_TY):
        at, _, ct = lstm(xt, initial_state=[at, ct])
        out = dense(at)
        outputs.append(out)
        xt = keras.layers.Reshape((1, vocab_size))(
            keras.layers.Lambda(lambda o: keras.ops.one_hot(keras.ops.argmax(o, -1), vocab_size))(out)
        )
    inference = keras.Model([x0, a0, c0], outputs)
    inputs = [
        np.zeros((1, 1, vocab_size), np.float32),
        np.zeros((1, n_a), np.float32),
        np.zeros((1, n_a), np.float32),
    ]
    inference.predict(inputs, verbose=0)  # build and trace once
    course = []
    for _ in range(max(5, tokens // 500)):
        started = time.perf_counter()
        inference.predict(inputs, verbose=0)
        course.append((time.perf_counter() - started) / COURSE_TY)
    return {"keras_eager": _summary(eager), "course_predict": _summary(course)}


def run_bench(model: str | None, tokens: int = 20000, seed: int = 0) -> dict:
    engine = Engine(model, seed=seed)
    engine.prime(engine.rng.integers(0, len(engine.vocab), 200))  # warm up
    report: dict = {
        "model": engine.files.name,
        "vocab_size": len(engine.vocab),
        "n_a": engine.files.n_a,
        "engine": bench_engine(engine, tokens),
        "soloist": bench_soloist(engine, tokens, motifs=0.0),
        "soloist_motifs": bench_soloist(engine, tokens, motifs=MOTIF_FOLLOW),
    }
    engine_median = report["engine"]["median_us"]
    report["ratios"] = {
        "soloist_over_engine": round(report["soloist"]["median_us"] / engine_median, 2),
        "soloist_motifs_over_soloist": round(
            report["soloist_motifs"]["median_us"] / report["soloist"]["median_us"], 2
        ),
    }
    try:
        report.update(bench_keras(len(engine.vocab), engine.files.n_a, tokens))
    except MissingExtraError as exc:
        report["keras"] = f"not measured: {exc}"
        return report
    report["ratios"].update(
        keras_eager_over_engine=round(report["keras_eager"]["median_us"] / engine_median, 1),
        course_predict_over_engine=round(report["course_predict"]["median_us"] / engine_median, 1),
    )
    return report
