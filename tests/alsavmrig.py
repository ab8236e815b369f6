"""The ALSA VM's side of the tests (tests/alsavm/): boot it with a scenario, and read what its C
receiver (seqrecv) heard and its C sender (seqsend) sent. Times are CLOCK_MONOTONIC inside the
VM, the clock jazzd's --midi-log uses, so what jazzd says it sent is held against what arrived."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent / "alsavm"


def run_vm(scenario: str, run_dir: Path, timeout: int = 1500, env: dict | None = None) -> str:
    """Boot the VM on `scenario` (a file in tests/alsavm) with `run_dir` as its /host; the
    console output. The image is built first if needed (build.sh: minutes, then cached)."""
    subprocess.run(["bash", str(HERE / "build.sh")], check=True, capture_output=True, timeout=3000)
    (run_dir / "scenario.sh").write_text((HERE / scenario).read_text())
    exports = " ".join(f"{k}={v}" for k, v in (env or {}).items())
    done = subprocess.run(
        ["bash", str(HERE / "run.sh"), f"{exports} bash /host/scenario.sh", str(timeout)],
        env={**os.environ, "RUN_DIR": str(run_dir)},
        capture_output=True,
        text=True,
        timeout=timeout + 120,
    )
    return done.stdout + done.stderr


@dataclass(frozen=True)
class Heard:
    t: float  # seconds, CLOCK_MONOTONIC
    data: list[int]


def heard(path: Path) -> list[Heard]:
    """seqrecv's lines "<ns> <hex bytes> <text>", in order (subscription lines left out)."""
    events = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if not parts or line.startswith("#") or parts[1] == "-":
            continue
        data = []
        for part in parts[1:]:
            if len(part) != 2 or not all(c in "0123456789abcdef" for c in part):
                break
            data.append(int(part, 16))
            if len(data) > 1 and data[-1] >= 0x80:  # text that looks like hex: not a data byte
                data.pop()
                break
        events.append(Heard(int(parts[0]) / 1e9, data))
    return events


def sent_by_seqsend(path: Path, what: str) -> list[float]:
    """The ideal times (seconds) of seqsend's events of one kind ("on", "clock", "start")."""
    times = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0].lstrip("-").isdigit() and parts[2] == what:
            times.append(int(parts[0]) / 1e9)
    return times


def logged(path: Path) -> list[dict]:
    """jazzd's --midi-log: what it sent ("out") with the time each message was due."""
    return [json.loads(line) for line in path.read_text().splitlines()]


def summary(values: list[float]) -> dict:
    """Median, p99 and max in milliseconds."""
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(p99 * 1000, 3),
        "max_ms": round(ordered[-1] * 1000, 3),
    }
