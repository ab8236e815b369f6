"""Export: the trained weights as a one-step ONNX model (x, a, c → probs, a_new, c_new).

The step is a Keras LSTMCell and Dense layer carrying the trained weights, traced as a
tf.function with a fixed input signature and converted by tf2onnx (from_function works across
Keras versions, where from_keras does not with Keras 3). The ONNX model must match Keras over
chained steps before anything is written.
"""

from __future__ import annotations

import logging
import tempfile
import warnings
from pathlib import Path

import numpy as np

from jazzd.errors import JazzdError, MissingExtraError
from jazzd.learn.train import (
    TRAIN_EXTRA_HINT,
    TrainSettings,
    build_model,
    import_tensorflow,
    read_run,
)
from jazzd.music.conditioning import Feature
from jazzd.music.vocab import Vocabulary
from jazzd.solo.modelfile import write_sidecar

log = logging.getLogger(__name__)

OPSET = 17
PARITY_STEPS = 256
PARITY_TOLERANCE = 1e-5


class ParityError(JazzdError):
    """The ONNX model does not compute what the Keras model does."""


def one_step_functions(tf, keras, trained, vocab_size: int, n_a: int, features: tuple[Feature, ...]):
    """Two traced single steps on the trained weights: the Keras reference (LSTMCell + Dense)
    and the one exported, which computes the same for one-hot x and the conditioning features
    but looks their rows of the input kernel up (Gather) instead of multiplying a mostly-zero
    vector: the input product is most of the work, so the player's step gets several times
    cheaper. Each feature is a one-hot input beside x, named as the sidecar names it."""
    cell = keras.layers.LSTMCell(n_a, name="lstm_cell")
    dense = keras.layers.Dense(vocab_size, activation="softmax", name="dense")
    cell.build((1, vocab_size + sum(f.size for f in features)))
    dense.build((1, n_a))
    cell.set_weights(trained.get_layer("lstm").cell.get_weights())
    dense.set_weights(trained.get_layer("dense").get_weights())
    kernel, recurrent, bias = cell.get_weights()  # numpy: made constants inside the trace
    dense_kernel, dense_bias = dense.get_weights()
    x_spec = tf.TensorSpec((1, vocab_size), tf.float32, name="x")
    feature_specs = [tf.TensorSpec((1, f.size), tf.float32, name=f.name) for f in features]
    rows, at = [], vocab_size  # each feature's rows of the input kernel
    for f in features:
        rows.append(kernel[at : at + f.size])
        at += f.size
    state = [tf.TensorSpec((1, n_a), tf.float32, name="a"), tf.TensorSpec((1, n_a), tf.float32, name="c")]

    @tf.function(input_signature=[x_spec, *feature_specs, *state])
    def reference(x, *rest):
        *hots, a, c = rest
        hidden, (a_new, c_new) = cell(tf.concat([x, *hots], axis=1), [a, c])
        return {"probs": dense(hidden), "a_new": a_new, "c_new": c_new}

    @tf.function(input_signature=[x_spec, *feature_specs, *state])
    def exported(x, *rest):
        *hots, a, c = rest
        # x is one-hot, or all zero for the first step: the row of its 1, scaled by its max
        z = tf.gather(tf.constant(kernel[:vocab_size]), tf.argmax(x, axis=1)) * tf.reduce_max(
            x, axis=1, keepdims=True
        )
        for hot, own in zip(hots, rows, strict=True):
            z += tf.gather(tf.constant(own), tf.argmax(hot, axis=1))
        z += tf.matmul(a, tf.constant(recurrent)) + tf.constant(bias)
        i, f, g, o = tf.split(z, 4, axis=1)  # Keras's gate order
        c_new = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
        a_new = tf.sigmoid(o) * tf.tanh(c_new)
        probs = tf.nn.softmax(tf.matmul(a_new, tf.constant(dense_kernel)) + tf.constant(dense_bias))
        return {"probs": probs, "a_new": a_new, "c_new": c_new}

    return reference, exported


def canonical(proto):
    """The same graph with names that do not depend on process history: tf2onnx numbers nodes
    with a process-global counter and notes the trace's name, so two exports of the same weights
    would differ in bytes. Graph inputs and outputs keep their names."""
    graph = proto.graph
    graph.doc_string = "jazzd one-step LSTM cell + Dense softmax"
    keep = {v.name for v in graph.input} | {v.name for v in graph.output}
    names: dict[str, str] = {}
    for i, init in enumerate(graph.initializer):
        names[init.name] = f"w{i}"
    for i, node in enumerate(graph.node):
        node.name = f"{node.op_type}_{i}"
        for j, out in enumerate(node.output):
            if out and out not in keep:
                names[out] = f"t{i}_{j}"
    for init in graph.initializer:
        init.name = names[init.name]
    for node in graph.node:
        node.input[:] = [names.get(n, n) for n in node.input]
        node.output[:] = [names.get(n, n) for n in node.output]
    del graph.value_info[:]
    return proto


def check_parity(
    step,
    onnx_path: Path,
    vocab_size: int,
    n_a: int,
    features: tuple[Feature, ...],
    steps: int = PARITY_STEPS,
) -> float:
    """Worst difference between Keras and ONNX over `steps` chained steps, each side keeping its
    own state and both fed the token drawn from the Keras distribution (and random features).

    probs and a are bounded, so their difference is absolute; the cell state c is not (it reaches
    ±30 in small overfit models, where float32 spacing alone is 2e-6), so its difference is
    taken relative to max(1, |c|).
    """
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    x = np.zeros((1, vocab_size), np.float32)
    ka = kc = oa = oc = np.zeros((1, n_a), np.float32)
    worst = 0.0
    for _ in range(steps):
        extra = {f.name: np.eye(f.size, dtype=np.float32)[[rng.integers(f.size)]] for f in features}
        out = {k: v.numpy() for k, v in step(x, *extra.values(), ka, kc).items()}
        probs, oa, oc = session.run(["probs", "a_new", "c_new"], {"x": x, **extra, "a": oa, "c": oc})
        worst = max(
            worst,
            float(np.abs(out["probs"] - probs).max()),
            float(np.abs(out["a_new"] - oa).max()),
            float((np.abs(out["c_new"] - oc) / np.maximum(1.0, np.abs(out["c_new"]))).max()),
        )
        ka, kc = out["a_new"], out["c_new"]
        p = out["probs"][0].astype(np.float64)
        x = np.zeros_like(x)
        x[0, rng.choice(vocab_size, p=p / p.sum())] = 1.0
    return worst


def export(work_dir: Path, onnx_path: Path) -> Path:
    """Write `onnx_path` and its sidecar from a training run, or raise ParityError and write nothing."""
    tf, keras = import_tensorflow()
    try:
        import tf2onnx
    except ImportError:
        raise MissingExtraError(f"export needs tf2onnx: {TRAIN_EXTRA_HINT}") from None
    logging.getLogger("tf2onnx").setLevel(logging.WARNING)
    run = read_run(work_dir)
    vocab = Vocabulary.from_json(run["vocab"])
    settings = TrainSettings(**run["settings"])
    trained = build_model(keras, len(vocab), settings)
    with warnings.catch_warnings():  # the optimizer's slots are not needed to export
        warnings.simplefilter("ignore")
        trained.load_weights(work_dir / "model.weights.h5")
    features = settings.conditioning.features
    reference, step = one_step_functions(tf, keras, trained, len(vocab), settings.n_a, features)
    with tempfile.TemporaryDirectory() as tmp:
        candidate = Path(tmp) / onnx_path.name
        proto, _ = tf2onnx.convert.from_function(step, input_signature=step.input_signature, opset=OPSET)
        candidate.write_bytes(canonical(proto).SerializeToString())
        worst = check_parity(reference, candidate, len(vocab), settings.n_a, features)
        log.info("parity over %d chained steps: max abs diff %.2e", PARITY_STEPS, worst)
        if not worst <= PARITY_TOLERANCE:
            raise ParityError(
                f"{onnx_path}: ONNX differs from Keras by {worst:.2e} "
                f"(> {PARITY_TOLERANCE:g}) over {PARITY_STEPS} steps; nothing written"
            )
        onnx_path.parent.mkdir(parents=True, exist_ok=True)
        onnx_path.write_bytes(candidate.read_bytes())
    extra = {
        "opset": OPSET,
        "conditioning": settings.conditioning.sidecar(),
        "parity": {"steps": PARITY_STEPS, "max_abs_diff": worst, "tolerance": PARITY_TOLERANCE},
        "corpus": run["corpus"],
        "training": run["settings"],
        "results": run["results"],
        "history": run["history"],
    }
    sidecar = write_sidecar(onnx_path, vocab, settings.n_a, extra)
    log.info("wrote %s and %s", onnx_path, sidecar.name)
    return onnx_path
