"""The engine: steps the exported LSTM cell one token at a time with onnxruntime.

One session, one thread. Inputs and outputs are bound once to preallocated buffers, in two
bindings that swap the state buffers each step (a, c) → (a_new, c_new), so a step allocates
nothing and copies nothing. Sampling uses temperature and top-p from a seeded generator.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort

from jazzd.errors import ModelError
from jazzd.music.grammar import BAR_TICKS
from jazzd.solo.modelfile import ModelFiles, load_model_files

OUTPUTS = ("probs", "a_new", "c_new")


def _session(files: ModelFiles) -> ort.InferenceSession:
    ort.set_default_logger_severity(3)  # errors only: its telemetry and cpuinfo warnings are no news
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(str(files.onnx_path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors for bad files
        raise ModelError(
            f"{files.onnx_path}: not a loadable ONNX model ({str(exc).splitlines()[0]})"
        ) from exc
    shapes = {i.name: i.shape for i in session.get_inputs()}
    outputs = {o.name for o in session.get_outputs()}
    expected = {"x": [1, len(files.vocab)], "a": [1, files.n_a], "c": [1, files.n_a]}
    expected |= {f.name: [1, f.size] for f in files.conditioning.features}
    if set(shapes) != set(expected) or outputs != set(OUTPUTS):
        raise ModelError(
            f"{files.onnx_path}: inputs {sorted(shapes)} / outputs {sorted(outputs)}, "
            f"expected {sorted(expected)} / {sorted(OUTPUTS)} (does the sidecar belong to this model?)"
        )
    for name, shape in expected.items():
        if list(shapes[name]) != shape:
            raise ModelError(
                f"{files.onnx_path}: input {name!r} has shape {shapes[name]} but the sidecar says {shape} "
                "(vocabulary size or n_a differ)"
            )
    return session


class Engine:
    """The LSTM state (a, c) and the next-token distribution, advanced one token at a time."""

    def __init__(
        self,
        model: str | Path | ModelFiles | None = None,
        seed: int = 0,
        temperature: float = 1.0,
        top_p: float = 1.0,
    ) -> None:
        self.files = model if isinstance(model, ModelFiles) else load_model_files(model)
        self.vocab = self.files.vocab
        self.session = _session(self.files)
        self.rng = np.random.default_rng(seed)
        self.temperature = temperature
        self.top_p = top_p
        size, n_a = len(self.vocab), self.files.n_a
        self._x = np.zeros((1, size), np.float32)
        self._features = [(f, np.zeros((1, f.size), np.float32)) for f in self.files.conditioning.features]
        self._ticks = [token.ticks for token in self.vocab.parsed]
        self._cumulative = np.zeros(size, np.float32)
        self._draws: list[float] = []
        self._draw = 0
        self.position = 0  # tick where the next token starts
        self.bar_position: Callable[[int], int] = lambda tick: tick % BAR_TICKS  # ticks since the bar line
        self._probs = np.zeros((1, size), np.float32)
        self._state = [np.zeros((1, n_a), np.float32) for _ in range(4)]  # a0, c0, a1, c1
        self._bindings = [self._bind(0), self._bind(1)]
        self._turn = 0
        self._hot = -1
        self.reset()

    def _bind(self, turn: int) -> ort.IOBinding:
        a_in, c_in, a_out, c_out = (self._state[i] for i in ((0, 1, 2, 3) if turn == 0 else (2, 3, 0, 1)))
        binding = self.session.io_binding()
        inputs = [("x", self._x), ("a", a_in), ("c", c_in), *((f.name, buf) for f, buf in self._features)]
        for name, buf in inputs:
            binding.bind_input(name, "cpu", 0, np.float32, buf.shape, buf.ctypes.data)
        for name, buf in (("probs", self._probs), ("a_new", a_out), ("c_new", c_out)):
            binding.bind_output(name, "cpu", 0, np.float32, buf.shape, buf.ctypes.data)
        return binding

    @property
    def probs(self) -> np.ndarray:
        """The distribution of the next token (a view: copy it to keep it)."""
        return self._probs[0]

    @property
    def state(self) -> tuple[np.ndarray, np.ndarray]:
        a, c = (self._state[0], self._state[1]) if self._turn == 0 else (self._state[2], self._state[3])
        return a[0], c[0]

    def reset(self, position: int = 0) -> None:
        """Zero state, then one step on the zero input x⟨1⟩ = 0, as in training; the first token
        will start at tick `position` (and is the first over its chord, as a solo's first is)."""
        for buf in self._state:
            buf.fill(0.0)
        self._turn = 0
        self.position = position
        self.feed(None, new_chord=True)

    def align(self, position: int) -> None:
        """The next token will start at tick `position` (the performer moved on, e.g. after a
        stop): the phase input follows from the next step on."""
        self.position = position

    def feed(self, token_id: int | None, position: int | None = None, new_chord: bool = False) -> None:
        """Advance the cell on one token (None: the zero vector). The next token starts where
        this one ends, or at `position` when the caller knows better (a rare token's stand-in
        may be shorter than the real one); `new_chord`: it is the first over a new chord (read
        by models whose phase input carries chord changes)."""
        if self._hot >= 0:
            self._x[0, self._hot] = 0.0
        self._hot = -1 if token_id is None else token_id
        if token_id is not None:
            self._x[0, token_id] = 1.0
            self.position += self._ticks[token_id]
        if position is not None:
            self.position = position
        at = self.bar_position(self.position)
        for feature, buf in self._features:  # each one-hot input, by name
            buf.fill(0.0)
            buf[0, feature.index(at, new_chord)] = 1.0
        # The public call without run options: with options it costs ~25 µs more per step here.
        self.session.run_with_iobinding(self._bindings[self._turn])
        self._turn ^= 1

    def prime(self, token_ids: list[int] | np.ndarray) -> None:
        """Feed a phrase (for instance the player's), so the next token continues from it."""
        for token_id in token_ids:
            self.feed(int(token_id))

    def distribution(self, among: np.ndarray | None = None) -> np.ndarray:
        """The distribution the next token is drawn from (temperature and top-p applied,
        unnormalized); with `among` (1 for the ids allowed, 0 elsewhere: a `Vocabulary.kinds`
        mask), restricted to those ids. A view of the model's output when nothing applies."""
        probs = self._probs[0]
        if self.temperature != 1.0:
            probs = np.power(probs / probs.max(), 1.0 / max(self.temperature, 1e-3))  # no underflow
        if among is not None:
            probs = probs * among
        if self.top_p < 1.0:
            order = np.argsort(probs)[::-1]
            cumulative = np.cumsum(probs[order])
            keep = order[: int(np.searchsorted(cumulative, self.top_p * cumulative[-1])) + 1]
            nucleus = np.zeros_like(probs)
            nucleus[keep] = probs[keep]
            probs = nucleus
        return probs

    def sample(self, among: np.ndarray | None = None) -> int:
        """Draw the next token id from `distribution(among)`."""
        # float32 is plenty to draw with; the array methods skip numpy's function dispatch (~1 µs)
        cumulative = self.distribution(among).cumsum(out=self._cumulative)
        drawn = int(cumulative.searchsorted(self._uniform() * float(cumulative[-1]), "right"))
        return min(drawn, len(cumulative) - 1)

    def _uniform(self) -> float:
        """The next uniform draw, taken from the seeded generator a block at a time."""
        if self._draw >= len(self._draws):
            self._draws = self.rng.random(4096).tolist()
            self._draw = 0
        self._draw += 1
        return self._draws[self._draw - 1]

    def next_token(self) -> int:
        """Sample a token and feed it back, so the state follows what was played."""
        token_id = self.sample()
        self.feed(token_id)
        return token_id

    def log_prob(self, token_id: int) -> float:
        """Natural log of the model's current probability for `token_id` (for NLL)."""
        return float(np.log(max(float(self._probs[0, token_id]), 1e-12)))
