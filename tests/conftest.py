"""Shared fixtures: the real data folder, and small MIDI / CSV files built per test."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import rtmidi

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """../shared/data: always there in CI (a missing folder fails there), skipped elsewhere."""
    if not SHARED_DATA.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"{SHARED_DATA} is missing in CI: the real-data tests must run there")
        pytest.skip(f"{SHARED_DATA} is not on this machine (the real-data tests need it)")
    return SHARED_DATA


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
    server = subprocess.Popen(
        ["jackd", "-n", name, "--no-realtime", "-d", "dummy", "-r", "48000", "-p", "64"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name="probe").delete()
            break
        except Exception:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail("the JACK server did not start")
            time.sleep(0.1)
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
    from jackrig import Rig

    rig = Rig(f"rig{os.getpid() % 1000}")
    yield rig
    rig.close()
