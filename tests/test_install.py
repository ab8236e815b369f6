"""The player installs without TensorFlow: a fresh virtual environment, `pip install .` with no
extras, and `jazzd render` on the shipped default model (the README's first command)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.network
@pytest.mark.slow
def test_plain_install_renders_with_the_shipped_model(tmp_path, package_index):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", str(ROOT)], capture_output=True, text=True, timeout=600
    )
    assert pip.returncode == 0, pip.stderr[-2000:]
    listed = subprocess.run(
        [str(venv / "bin" / "pip"), "list"], capture_output=True, text=True
    ).stdout.lower()
    assert "tensorflow" not in listed and "keras" not in listed and "onnxruntime" in listed
    out = tmp_path / "solo.mid"
    done = subprocess.run(
        [str(venv / "bin" / "jazzd"), "render", "--bars", "8", "-o", str(out)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert out.stat().st_size > 200 and "model wjazzd" in done.stderr
