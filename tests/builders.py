"""Builders for small MIDI fixtures."""

from __future__ import annotations

import contextlib
import socket
import time
from pathlib import Path

import mido
import numpy as np

from jazzd.measure.rig import NoteBalance


def write_midi(
    path: Path,
    tracks: dict[str, list[tuple[float, float, int]]],
    tpb: int = 96,
    programs: dict[str, int] | None = None,
) -> Path:
    """A type-1 MIDI file with one named track per entry of (onset beats, length beats, pitch)."""
    mid = mido.MidiFile(type=1, ticks_per_beat=tpb)
    meta = mido.MidiTrack([mido.MetaMessage("time_signature", numerator=4, denominator=4)])
    mid.tracks.append(meta)
    for channel, (name, notes) in enumerate(tracks.items()):
        events = []
        for onset, length, pitch in notes:
            events.append(
                (round(onset * tpb), 1, mido.Message("note_on", channel=channel, note=pitch, velocity=80))
            )
            events.append(
                (round((onset + length) * tpb), 0, mido.Message("note_off", channel=channel, note=pitch))
            )
        track = mido.MidiTrack([mido.MetaMessage("track_name", name=name)])
        if programs and name in programs:
            track.append(mido.Message("program_change", channel=channel, program=programs[name]))
        now = 0
        for tick, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
            track.append(msg.copy(time=tick - now))
            now = tick
        mid.tracks.append(track)
    mid.save(str(path))
    return path


def block_chords(
    symbol_pitches: list[tuple[float, float, tuple[int, ...]]],
) -> list[tuple[float, float, int]]:
    """Chord-track notes from (onset, length, pitches) blocks."""
    return [(onset, length, p) for onset, length, pitches in symbol_pitches for p in pitches]


def lstm_weights(vocab_size: int, n_a: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "W": rng.normal(0, 0.5, (vocab_size, 4 * n_a)).astype(np.float32),
        "U": rng.normal(0, 0.5, (n_a, 4 * n_a)).astype(np.float32),
        "b": rng.normal(0, 0.1, (4 * n_a,)).astype(np.float32),
        "Wd": rng.normal(0, 1.0, (n_a, vocab_size)).astype(np.float32),
        "bd": rng.normal(0, 0.1, (vocab_size,)).astype(np.float32),
    }


def numpy_step(w: dict[str, np.ndarray], x: np.ndarray, a: np.ndarray, c: np.ndarray):
    """The reference LSTM step (Keras gate order i, f, c, o) and Dense softmax."""

    def sigmoid(v):
        return 1 / (1 + np.exp(-v))

    z = x @ w["W"] + a @ w["U"] + w["b"]
    i, f, g, o = np.split(z, 4, axis=-1)
    c_new = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    a_new = sigmoid(o) * np.tanh(c_new)
    logits = a_new @ w["Wd"] + w["bd"]
    e = np.exp(logits - logits.max())
    return e / e.sum(), a_new, c_new


def write_onnx_step(path: Path, w: dict[str, np.ndarray]) -> Path:
    """The same step as an ONNX graph, built by hand (no TensorFlow needed)."""
    from onnx import TensorProto, helper, numpy_helper, save

    vocab_size, four_n = w["W"].shape
    n_a = four_n // 4
    inits = [numpy_helper.from_array(v, k) for k, v in w.items()]
    inits.append(numpy_helper.from_array(np.array([n_a] * 4, np.int64), "split"))
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["xw"]),
        helper.make_node("MatMul", ["a", "U"], ["au"]),
        helper.make_node("Add", ["xw", "au"], ["z0"]),
        helper.make_node("Add", ["z0", "b"], ["z"]),
        helper.make_node("Split", ["z", "split"], ["i", "f", "g", "o"], axis=1),
        helper.make_node("Sigmoid", ["i"], ["si"]),
        helper.make_node("Sigmoid", ["f"], ["sf"]),
        helper.make_node("Tanh", ["g"], ["tg"]),
        helper.make_node("Sigmoid", ["o"], ["so"]),
        helper.make_node("Mul", ["sf", "c"], ["fc"]),
        helper.make_node("Mul", ["si", "tg"], ["ig"]),
        helper.make_node("Add", ["fc", "ig"], ["c_new"]),
        helper.make_node("Tanh", ["c_new"], ["tc"]),
        helper.make_node("Mul", ["so", "tc"], ["a_new"]),
        helper.make_node("MatMul", ["a_new", "Wd"], ["l0"]),
        helper.make_node("Add", ["l0", "bd"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=1),
    ]

    def spec(name, size):
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, size])

    graph = helper.make_graph(
        nodes,
        "step",
        [spec("x", vocab_size), spec("a", n_a), spec("c", n_a)],
        [spec("probs", vocab_size), spec("a_new", n_a), spec("c_new", n_a)],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    save(model, str(path))
    return path


TINY_TOKENS = [
    "A,0.250,<-4,2>",
    "C,0.250,<-2,4>",
    "C,0.500",
    "C,0.500,<1,7>",
    "R,0.500",
    "R,1.000",
    "S,0.250,<-1,5>",
    "S,0.333,<-5,1>",
    "X,0.250,<0,6>",
]


def write_tiny_model(folder: Path, name: str = "tiny", n_a: int = 8, seed: int = 0) -> Path:
    """A small random model with a valid sidecar, as `folder/name.onnx` + `.json`."""
    from jazzd.music.vocab import Vocabulary
    from jazzd.solo.modelfile import write_sidecar

    vocab = Vocabulary({t: 10 for t in TINY_TOKENS})
    path = write_onnx_step(folder / f"{name}.onnx", lstm_weights(len(vocab), n_a, seed))
    write_sidecar(path, vocab, n_a, {"corpus": {"files": []}, "training": {}, "results": {}})
    return path


class Recorder:
    """A recording port: every message sent, with the manual clock's time."""

    def __init__(self, clock):
        self.clock = clock
        self.sent: list[tuple[float, mido.Message]] = []

    def send(self, message: mido.Message, due: float | None = None) -> None:
        self.sent.append((self.clock.now(), message))

    def notes(self) -> list[tuple[float, float, int, int]]:
        """(on time, off time, pitch, velocity) for each note; asserts none is left hanging."""
        sounding: dict[int, tuple[float, int]] = {}
        out = []
        for t, m in self.sent:
            if m.type == "note_on" and m.velocity > 0:
                assert m.note not in sounding, f"note {m.note} retriggered without a note-off at {t}"
                sounding[m.note] = (t, m.velocity)
            elif m.type in ("note_off", "note_on") and m.note in sounding:
                start, velocity = sounding.pop(m.note)
                out.append((start, t, m.note, velocity))
        assert not sounding, f"hanging notes: {sorted(sounding)}"
        return out

    def balance(self) -> dict[int, int]:
        """note-ons minus note-offs per pitch (empty when nothing hangs)."""
        balance = NoteBalance()
        for _, m in self.sent:
            balance.add(m.bytes())
        return balance.unbalanced()


def run_until(clock, until: float, *steppers, step: float = 0.001) -> None:
    """Advance a manual clock to `until`, calling each stepper(now) every `step` seconds."""
    while clock.t < until - 1e-12:
        clock.advance(step)
        for stepper in steppers:
            stepper(clock.t)


def load_bench(name: str):
    """A script from bench/ as a module (bench/ is not a package)."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "bench" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class NotifySocket:
    """A service manager's notify socket: what jazzd tells systemd (READY, WATCHDOG, STATUS)."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.1)
        self.messages: list[tuple[float, str]] = []

    def collect(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            with contextlib.suppress(TimeoutError):
                self.messages.append((time.monotonic(), self.sock.recv(4096).decode()))

    def states(self):
        return [m for _, m in self.messages]
