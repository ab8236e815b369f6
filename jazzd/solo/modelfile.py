"""Model files: `NAME.onnx` and its sidecar `NAME.json`, written by export, checked by the player.

The sidecar carries everything the player needs besides the weights (the vocabulary, n_a, the
grid and window the tokens were made with) and what a reader needs to trust the model: the ONNX
file's sha256, the corpus it was trained on, the training settings and the measured results.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from jazzd.errors import ModelError
from jazzd.music.conditioning import Conditioning
from jazzd.music.grammar import GRID_TICKS, TICKS_PER_BEAT, WINDOW_HALF_WIDTH
from jazzd.music.vocab import Vocabulary

SIDECAR_FORMAT = 1
DEFAULT_MODEL = "wjazzd"


def models_dir() -> Path:
    """The shipped models: installed beside the package as `jazzd/models`, or `models/` in a
    checkout (and an editable install)."""
    package = Path(__file__).resolve().parents[1]
    installed = package / "models"
    return installed if installed.is_dir() else package.parent / "models"


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def grid_description() -> dict:
    return {"ticks_per_beat": TICKS_PER_BEAT, "points": list(GRID_TICKS[:-1])}


@dataclass
class ModelFiles:
    """A checked model: the ONNX path, its vocabulary and state size, and the whole sidecar."""

    onnx_path: Path
    sidecar: dict
    vocab: Vocabulary
    n_a: int
    conditioning: Conditioning

    @property
    def name(self) -> str:
        return self.onnx_path.stem


def resolve_model(spec: str | None) -> Path:
    """A model by path (`.onnx` or its sidecar) or by the name of a shipped model."""
    if spec is None:
        spec = DEFAULT_MODEL
    path = Path(spec)
    if path.suffix in (".onnx", ".json") or path.exists():
        return path.with_suffix(".onnx")
    shipped = models_dir() / f"{spec}.onnx"
    if not shipped.exists():
        names = sorted(p.stem for p in models_dir().glob("*.onnx"))
        raise ModelError(f"no model {spec!r} (shipped models: {', '.join(names) or 'none'})")
    return shipped


def write_sidecar(onnx_path: Path, vocab: Vocabulary, n_a: int, extra: dict) -> Path:
    """Write `NAME.json` beside `NAME.onnx` with its hash, vocabulary and the given sections."""
    sidecar = {
        "format": SIDECAR_FORMAT,
        "name": onnx_path.stem,
        "onnx_file": onnx_path.name,
        "onnx_sha256": sha256_of(onnx_path),
        "n_a": n_a,
        "vocab_size": len(vocab),
        "grid": grid_description(),
        "window_half_width": WINDOW_HALF_WIDTH,
        **extra,
        "vocab": vocab.to_json(),
    }
    path = onnx_path.with_suffix(".json")
    path.write_text(json.dumps(sidecar, indent=1) + "\n")
    return path


def load_model_files(spec: str | Path | None) -> ModelFiles:
    """Find a model and check its sidecar agrees with it; one clear ModelError when not."""
    onnx_path = resolve_model(None if spec is None else str(spec))
    side_path = onnx_path.with_suffix(".json")
    if not onnx_path.is_file():
        raise ModelError(f"{onnx_path}: no such model file")
    if not side_path.is_file():
        raise ModelError(f"{onnx_path}: its sidecar {side_path.name} is missing")
    try:
        sidecar = json.loads(side_path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ModelError(f"{side_path}: not valid JSON ({exc})") from exc
    if not isinstance(sidecar, dict) or sidecar.get("format") != SIDECAR_FORMAT:
        raise ModelError(f"{side_path}: key 'format' must be {SIDECAR_FORMAT}")
    for key in ("onnx_sha256", "n_a", "vocab", "grid", "window_half_width"):
        if key not in sidecar:
            raise ModelError(f"{side_path}: key {key!r} is missing")
    if sidecar["grid"] != grid_description() or sidecar["window_half_width"] != WINDOW_HALF_WIDTH:
        raise ModelError(f"{side_path}: made for another token grid or window than this jazzd reads")
    actual = sha256_of(onnx_path)
    if sidecar["onnx_sha256"] != actual:
        raise ModelError(
            f"{side_path}: onnx_sha256 does not match {onnx_path.name} (file has {actual[:12]}…, "
            f"sidecar says {str(sidecar['onnx_sha256'])[:12]}…): the two files are from different exports"
        )
    vocab = Vocabulary.from_json(sidecar["vocab"], f"{side_path}: key 'vocab'")
    n_a = sidecar["n_a"]
    if not isinstance(n_a, int) or n_a <= 0:
        raise ModelError(f"{side_path}: key 'n_a' must be a positive integer")
    try:
        conditioning = Conditioning.from_sidecar(sidecar)
    except ValueError as exc:
        raise ModelError(f"{side_path}: {exc}") from exc
    return ModelFiles(onnx_path, sidecar, vocab, n_a, conditioning)
