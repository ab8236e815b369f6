"""Benchmarks: time per generated token, reported as median and p99 with ratios to baselines
measured in the same run (never asserted in tests: this shared machine would make them flaky).

- engine: the onnxruntime step plus sampling, as the player runs it;
- keras_eager: the same-sized LSTMCell + Dense stepped eagerly in Keras (needs the train extra);
- course_predict: the course's way, an unrolled inference model of Ty = 50 steps run with
  `predict`, per token (needs the train extra). Timing depends on the shapes only, so the Keras
  baselines use random weights of the model's sizes.
"""

from __future__ import annotations

import time

import numpy as np

from jazzd.engine import Engine
from jazzd.errors import MissingExtraError

COURSE_TY = 50


def _summary(seconds: list[float]) -> dict[str, float]:
    micros = np.asarray(seconds) * 1e6
    return {
        "median_us": round(float(np.median(micros)), 2),
        "p99_us": round(float(np.percentile(micros, 99)), 2),
        "samples": len(micros),
    }


def bench_engine(engine: Engine, tokens: int) -> dict[str, float]:
    times = []
    clock = time.perf_counter
    for _ in range(tokens):
        started = clock()
        engine.next_token()
        times.append(clock() - started)
    return _summary(times)


def bench_keras(vocab_size: int, n_a: int, tokens: int) -> dict[str, dict[str, float]]:
    from jazzd.train import import_tensorflow

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
    }
    try:
        report.update(bench_keras(len(engine.vocab), engine.files.n_a, tokens))
    except MissingExtraError as exc:
        report["keras"] = f"not measured: {exc}"
        return report
    engine_median = report["engine"]["median_us"]
    report["ratios"] = {
        "keras_eager_over_engine": round(report["keras_eager"]["median_us"] / engine_median, 1),
        "course_predict_over_engine": round(report["course_predict"]["median_us"] / engine_median, 1),
    }
    return report


# -- timing: the scheduler's send lateness and the reaction to a chord ---------------------------

BENCH_SYNTH = "jazzd-bench-synth"


def _percentiles(seconds: list[float]) -> dict[str, float]:
    millis = np.asarray(seconds) * 1e3 if seconds else np.zeros(1)
    return {
        "p50_ms": round(float(np.percentile(millis, 50)), 3),
        "p99_ms": round(float(np.percentile(millis, 99)), 3),
        "max_ms": round(float(millis.max()), 3),
        "count": len(seconds),
    }


class _JackSink:
    """An in-process JACK synth for the scheduler to send to (counts what arrives)."""

    def __init__(self):
        import rtmidi

        from jazzd.ports import Output, PortLister

        self.received = 0
        self._in = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name="jazzd-bench")
        self._in.open_virtual_port(BENCH_SYNTH)
        self._in.set_callback(self._count)
        lister = PortLister("jack")
        self.output = Output(BENCH_SYNTH, "jack")
        self.output.open(lister.outputs())
        lister.close()

    def _count(self, event, data=None) -> None:
        self.received += 1

    def close(self) -> None:
        self.output.close()
        self._in.close_port()
        self._in.delete()


def bench_timing(model: str | None, bpm: float, seconds: float, busy: bool, port: str) -> dict:
    """Eighth notes at `bpm` for `seconds`, realized over a chord that changes every two beats
    (as a keyboard player's would); lateness = time the send returned minus its deadline."""
    import subprocess
    import sys
    import threading

    from jazzd.chords import parse_chord
    from jazzd.clock import InternalClock
    from jazzd.grammar import Token
    from jazzd.realize import Soloist
    from jazzd.scheduler import Scheduler

    soloist = Soloist(Engine(model))
    chords = [parse_chord(s) for s in ("Dm7", "G7", "Cmaj7", "A7alt")]
    current = {"chord": chords[0], "changed": None}  # "changed": arrival time not yet heard
    reactions: list[float] = []

    def realize(beat: float) -> int:
        changed = current["changed"]
        if changed is not None:
            current["changed"] = None
            reactions.append(time.perf_counter() - changed)
        return soloist.realize(Token("C", 6, -3, 3), current["chord"])

    sink = _JackSink() if port == "jack" else None
    sent: list[float] = []
    send = sink.output.send if sink else (lambda message: sent.append(time.perf_counter()))
    clock = InternalClock(bpm, start_beat=-1.0)
    scheduler = Scheduler(clock, send, record_lateness=True)
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
    stop = threading.Event()
    thread = threading.Thread(target=scheduler.run, args=(stop,))
    thread.start()
    try:
        next_note, next_chord, k = 0.0, 0.0, 0
        end = clock.time_of(seconds * bpm / 60)
        while time.perf_counter() < end:
            playhead = clock.beat_at(time.perf_counter())
            while next_note < playhead + 0.5:
                scheduler.note(next_note, 0.45, 0, 90, realize)
                next_note += 0.5
            if playhead >= next_chord + 0.37:  # off the grid, as hands are
                k += 1
                current["chord"], current["changed"] = chords[k % len(chords)], time.perf_counter()
                next_chord += 2.0
            time.sleep(0.002)
    finally:
        stop.set()
        thread.join()
        if hog:
            hog.kill()
            hog.wait()
        if sink:
            time.sleep(0.1)
            sink.close()
    received = sink.received if sink else len(sent)
    return {
        "bpm": bpm,
        "seconds": seconds,
        "busy_core": busy,
        "port": port,
        "lateness": _percentiles(scheduler.stats.lateness),
        "late_over_1ms": scheduler.stats.late,
        "skipped": scheduler.stats.skipped,
        "messages_sent": scheduler.stats.sent,
        "messages_received": received,
        "chord_to_note": _percentiles(reactions),
    }
