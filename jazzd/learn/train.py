"""Training: tokens → windows → the course's Keras model (one shared LSTM cell + Dense softmax).

The unrolled model of the exercise (Tx steps of one LSTM cell and one Dense layer, x⟨1⟩ = 0) is
written as a Keras LSTM layer over the shifted sequence with a Dense softmax on every step: the
same shared weights, trained in one fused loop instead of Tx Python-built graph nodes. The loss is
summed over the Tx steps, as the course's multi-output model reported it. TensorFlow is imported
here only, and only when training runs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from jazzd.errors import JazzdError, MissingExtraError
from jazzd.music.conditioning import Conditioning
from jazzd.music.corpus import read_corpus
from jazzd.music.grammar import encode
from jazzd.music.midifile import MidiSelection
from jazzd.music.solo import Solo
from jazzd.music.vocab import Vocabulary, windows

log = logging.getLogger(__name__)

TRAIN_EXTRA_HINT = 'pip install "jazzd[train]"  (TensorFlow/Keras, tf2onnx, onnx)'


def import_tensorflow():
    """TensorFlow and Keras, or one line saying how to install them."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        import keras
        import tensorflow as tf
    except ImportError as exc:
        raise MissingExtraError(
            f"training needs the train extra ({exc.name} is missing): {TRAIN_EXTRA_HINT}"
        ) from exc
    return tf, keras


@dataclass(frozen=True)
class TrainSettings:
    """Everything that decides a training run; saved with the run and in the model's sidecar."""

    preset: str = "custom"
    n_a: int = 64
    tx: int = 30
    epochs: int = 100
    batch_size: int = 32
    windows: int | None = None  # None: every window (with `stride`); N: N random windows
    stride: int = 1
    learning_rate: float = 0.01
    decay: float = 0.01  # inverse-time decay, as the course's Adam(decay=0.01) ...
    decay_per_epoch: bool = False  # ... per step (the course: 2 steps an epoch) or per epoch
    min_count: int = 1
    dropout: float = 0.0  # on the LSTM's output, before the Dense layer (training only)
    metric_phase: bool = False  # also input where in the bar the next token starts ...
    chord_changes: bool = False  # ... and whether it is the first over a new chord
    features: tuple[str, ...] = ()  # further conditioning features, by what they read
    epoch_fraction: float = 1.0  # an epoch is this share of a pass: below 1, validate more often
    validation_every: int = 0  # every Nth solo (sorted by name) is held out; 0: none
    patience: int = 0  # early stopping on validation loss; 0: off
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "features", tuple(self.features))  # a run's JSON gives a list
        if self.chord_changes and not self.metric_phase:
            raise JazzdError(
                "chord changes are part of the phase input: --chord-changes needs --metric-phase"
            )

    @property
    def conditioning(self) -> Conditioning:
        try:
            return Conditioning.of(self.metric_phase, self.chord_changes, self.features)
        except ValueError as exc:
            raise JazzdError(str(exc)) from exc


PRESETS = {
    "seed": TrainSettings(preset="seed", windows=60),
    # Chosen by the validation sweep in models/README.md; the seed of the four trained whose lines
    # over the training solos' changes came closest to them (`jazzd eval --training`).
    "wjazzd": TrainSettings(
        preset="wjazzd",
        n_a=128,
        tx=32,
        epochs=40,
        batch_size=256,
        min_count=10,
        dropout=0.3,
        metric_phase=True,
        chord_changes=True,
        epoch_fraction=0.25,
        decay_per_epoch=True,
        validation_every=10,
        patience=3,
        seed=2,
    ),
}
PRESET_CORPUS = {"seed": "../shared/data/original_metheny.mid", "wjazzd": "../shared/data/wjazzd-mcsv"}


@dataclass
class Dataset:
    """Token id sequences split by solo, with the vocabulary built on the training part."""

    vocab: Vocabulary
    train: list[np.ndarray]
    validation: list[np.ndarray]
    train_phases: list[np.ndarray]
    validation_phases: list[np.ndarray]
    train_names: list[str]
    validation_names: list[str]
    corpus: dict


def split_solos(solos: list[Solo], every: int) -> tuple[list[Solo], list[Solo]]:
    """Deterministic split by solo: sorted by name, every `every`-th solo is validation."""
    ordered = sorted(solos, key=lambda s: s.name)
    if every <= 0:
        return ordered, []
    return (
        [s for i, s in enumerate(ordered) if i % every != 0],
        [s for i, s in enumerate(ordered) if i % every == 0],
    )


def build_dataset(solos: list[Solo], settings: TrainSettings) -> Dataset:
    usable = [s for s in solos if not s.chords_inferred]
    train, validation = split_solos(usable, settings.validation_every)
    tokens = {s.name: encode(s.notes, s.chord_at) for s in usable}
    vocab = Vocabulary.from_sequences((tokens[s.name] for s in train), settings.min_count)
    digest = hashlib.sha256()
    for solo in sorted(usable, key=lambda s: s.name):
        digest.update("\n".join(t.text for t in tokens[solo.name]).encode() + b"\n\n")
    corpus = {
        "files": sorted(Path(s.source).name for s in usable),
        "solos": len(usable),
        "left_out_without_chords": sorted(s.name for s in solos if s.chords_inferred),
        "notes": sum(len(s.notes) for s in usable),
        "tokens": sum(len(t) for t in tokens.values()),
        "tokens_sha256": digest.hexdigest(),
        "validation_solos": [s.name for s in validation],
    }

    def phases(solo: Solo) -> np.ndarray:
        line = tokens[solo.name]
        hot = settings.conditioning.indexes(line, solo.notes[0].onset, solo.bar_position, solo.chord_at)
        return np.asarray(hot, dtype=np.int32).reshape(len(line), len(settings.conditioning.features))

    return Dataset(
        vocab,
        [vocab.ids(tokens[s.name]) for s in train],
        [vocab.ids(tokens[s.name]) for s in validation],
        [phases(s) for s in train],
        [phases(s) for s in validation],
        [s.name for s in train],
        [s.name for s in validation],
        corpus,
    )


def model_inputs(inputs: np.ndarray, phases: np.ndarray | None, settings: TrainSettings):
    return [inputs, phases] if settings.conditioning.features else inputs


def training_windows(data: Dataset, settings: TrainSettings):
    """All windows (every `stride`), or `windows` random ones as the course drew them; returns
    the model's inputs and the targets."""
    inputs, targets, phases = windows(data.train, settings.tx, settings.stride, data.train_phases)
    if settings.windows is not None:
        pick = np.random.default_rng(settings.seed).choice(len(targets), settings.windows, replace=True)
        inputs, targets, phases = inputs[pick], targets[pick], phases[pick]
    return model_inputs(inputs, phases, settings), targets


def build_model(keras, vocab_size: int, settings: TrainSettings, steps_per_epoch: int = 1):
    """Token ids in (-1 for the zero step), a softmax over the vocabulary out at every step."""
    ids = keras.Input((None,), dtype="int32", name="ids")
    features = keras.layers.Lambda(
        lambda t: (
            keras.ops.one_hot(keras.ops.maximum(t, 0), vocab_size)
            * keras.ops.expand_dims(keras.ops.cast(t >= 0, "float32"), -1)
        ),
        name="one_hot",
    )(ids)
    inputs = [ids]
    sizes = [f.size for f in settings.conditioning.features]
    if sizes:  # one int column per feature, each one-hot beside the token, in the sidecar's order
        phase = keras.Input((None, len(sizes)), dtype="int32", name="phase")
        hots = keras.layers.Lambda(
            lambda t: keras.ops.concatenate(
                [keras.ops.one_hot(t[..., i], n) for i, n in enumerate(sizes)], -1
            ),
            name="phase_hot",
        )(phase)
        features = keras.layers.Concatenate(name="features")([features, hots])
        inputs.append(phase)
    hidden = keras.layers.LSTM(settings.n_a, return_sequences=True, name="lstm")(features)
    if settings.dropout > 0:
        hidden = keras.layers.Dropout(settings.dropout, name="dropout")(hidden)
    probs = keras.layers.Dense(vocab_size, activation="softmax", name="dense")(hidden)
    model = keras.Model(inputs if sizes else ids, probs)

    def summed_crossentropy(y_true, y_pred):
        return keras.ops.sum(keras.losses.sparse_categorical_crossentropy(y_true, y_pred), axis=-1)

    decay_steps = steps_per_epoch if settings.decay_per_epoch else 1
    schedule = keras.optimizers.schedules.InverseTimeDecay(
        settings.learning_rate, decay_steps, settings.decay
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=schedule, beta_1=0.9, beta_2=0.999),
        loss=summed_crossentropy,
    )
    return model


def train(
    paths: list[str],
    settings: TrainSettings,
    work_dir: Path,
    selection: MidiSelection | None = None,
) -> Path:
    """Train and save weights, vocabulary, settings and history in `work_dir`; returns it."""
    tf, keras = import_tensorflow()
    keras.utils.set_random_seed(settings.seed)
    tf.config.experimental.enable_op_determinism()
    solos, skipped = read_corpus(paths, selection or MidiSelection())
    data = build_dataset(solos, settings)
    x, y = training_windows(data, settings)
    validation = None
    if data.validation:
        vx, vy, vp = windows(data.validation, settings.tx, settings.tx, data.validation_phases)
        validation = (model_inputs(vx, vp, settings), vy)
    log.info(
        "training on %d solos (%d windows of %d), validating on %d solos; vocabulary %d, n_a %d",
        len(data.train),
        len(y),
        settings.tx,
        len(data.validation),
        len(data.vocab),
        settings.n_a,
    )
    steps_per_pass = -(-len(y) // settings.batch_size)
    model = build_model(keras, len(data.vocab), settings, steps_per_epoch=steps_per_pass)
    history: list[dict] = []
    started = time.perf_counter()
    _fit(tf, model, x, y, validation, settings, _callbacks(keras, settings, history, validation))
    seconds = time.perf_counter() - started
    work_dir.mkdir(parents=True, exist_ok=True)
    model.save_weights(work_dir / "model.weights.h5")
    run = {
        "settings": asdict(settings),
        "corpus": {**data.corpus, "skipped": skipped},
        "results": _results(history, seconds, validation is not None, settings),
        "history": history,
        "vocab": data.vocab.to_json(),
    }
    (work_dir / "run.json").write_text(json.dumps(run, indent=1) + "\n")
    log.info("trained in %.0f s; saved %s", seconds, work_dir)
    return work_dir


def _callbacks(keras, settings: TrainSettings, history: list[dict], validation) -> list:
    """A log line and a history row per epoch; early stopping on the validation loss."""

    class Progress(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            row = {"epoch": epoch + 1, "seconds": round(time.perf_counter() - self.started, 2)}
            row.update({k: float(v) for k, v in (logs or {}).items() if k in ("loss", "val_loss")})
            history.append(row)
            val = f", val_loss {row['val_loss']:.3f}" if "val_loss" in row else ""
            log.info(
                "epoch %d/%d: loss %.3f%s (%.1f s)",
                epoch + 1,
                settings.epochs,
                row["loss"],
                val,
                row["seconds"],
            )

    callbacks = [Progress()]
    if validation is not None and settings.patience > 0:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=settings.patience, restore_best_weights=True
            )
        )
    return callbacks


def _fit(tf, model, x, y, validation, settings: TrainSettings, callbacks: list) -> None:
    """Whole passes over the windows, or (epoch_fraction < 1) epochs of a shuffled stream."""
    if settings.epoch_fraction < 1.0:
        steps_per_pass = -(-len(y) // settings.batch_size)
        stream = (
            tf.data.Dataset.from_tensor_slices((tuple(x) if isinstance(x, list) else x, y))
            .shuffle(len(y), seed=settings.seed)
            .batch(settings.batch_size)
            .repeat()
        )
        model.fit(
            stream,
            steps_per_epoch=max(1, round(steps_per_pass * settings.epoch_fraction)),
            epochs=settings.epochs,
            validation_data=validation,
            verbose=0,
            callbacks=callbacks,
        )
    else:
        model.fit(
            x,
            y,
            batch_size=settings.batch_size,
            epochs=settings.epochs,
            validation_data=validation,
            shuffle=True,
            verbose=0,
            callbacks=callbacks,
        )


def _results(history: list[dict], seconds: float, validated: bool, settings: TrainSettings) -> dict:
    best = min(history, key=lambda r: r.get("val_loss", r["loss"]))
    results = {
        "epochs_run": len(history),
        "best_epoch": best["epoch"],
        "loss_first_epoch": history[0]["loss"],
        "loss_last_epoch": history[-1]["loss"],
        "train_seconds": round(seconds, 1),
    }
    if validated:
        results["val_loss_per_token"] = best["val_loss"] / settings.tx
    return results


def settings_for(preset: str | None, **overrides) -> TrainSettings:
    """A preset's settings with the given fields replaced (None values are ignored)."""
    base = PRESETS.get(preset or "", TrainSettings())
    return replace(base, **{k: v for k, v in overrides.items() if v is not None})


def read_run(work_dir: Path) -> dict:
    """A finished run's record (run.json), with a clear error when it is not one."""
    path = work_dir / "run.json"
    try:
        run = json.loads(path.read_text())
        Vocabulary.from_json(run["vocab"], str(path))
        run["settings"]["n_a"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise JazzdError(f"{path}: not a finished training run ({exc})") from exc
    if not (work_dir / "model.weights.h5").is_file():
        raise JazzdError(f"{work_dir}: model.weights.h5 is missing")
    return run
