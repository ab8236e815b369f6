"""Shared fixtures: the real data folder, and small MIDI / CSV files built per test."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """../shared/data: always there in CI (a missing folder fails there), skipped elsewhere."""
    if not SHARED_DATA.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"{SHARED_DATA} is missing in CI: the real-data tests must run there")
        pytest.skip(f"{SHARED_DATA} is not on this machine (the real-data tests need it)")
    return SHARED_DATA


def pytest_collection_modifyitems(items):
    """Every test that uses the JACK server is marked `jack` (select with -m jack / -m "not jack")."""
    for item in items:
        if "jack" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.jack)


@pytest.fixture
def package_index(tmp_path):
    """The package index answers (pip can download from it), else skipped offline; in CI a
    missing index fails."""
    done = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(tmp_path), "mido"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"the package index does not answer in CI: {done.stderr[-500:]}")
        pytest.skip("offline: the package index does not answer (this test installs jazzd into a fresh venv)")


@pytest.fixture(scope="session")
def jack():
    """A private JACK server for the test session; its name reaches every client by env."""
    if shutil.which("jackd") is None:
        if os.environ.get("CI"):
            pytest.fail("jackd is not installed in CI: .ci/run must install jackd2")
        pytest.skip("jackd is not installed (apt-get install jackd2)")
    name = f"jazzd-test-{os.getpid()}"
    saved = {k: os.environ.get(k) for k in ("JACK_DEFAULT_SERVER", "JACK_NO_START_SERVER")}
    os.environ.update(JACK_DEFAULT_SERVER=name, JACK_NO_START_SERVER="1")
    from jazzd.measure.rig import start_jack

    try:
        server = start_jack(name)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield name
    server.terminate()
    server.wait(timeout=5)
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def rig(jack):
    """The test rig: a synth and keyboard in a JACK client process that does nothing else."""
    from jazzd.measure.rig import Rig

    rig = Rig(f"rig{os.getpid() % 1000}")
    yield rig
    rig.close()
