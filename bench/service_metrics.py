"""Start-up and memory of the running player: time from process start to READY=1 (sd_notify),
and resident memory after it has played for a while. Needs a JACK server (started here with the
dummy driver unless one is named by JACK_DEFAULT_SERVER) and the package installed.

Usage: python bench/service_metrics.py [--runs 5] [--model wjazzd] [--play-seconds 10]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jazzd.measure.rig import Rig, jack_server


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def one_run(rig: Rig, model: str, play_seconds: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "notify")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        sock.settimeout(30)
        synth = rig.synth("bench-synth")
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "jazzd", "--port", "bench-synth", "--midi-api", "jack", "--model", model],
            env={**os.environ, "NOTIFY_SOCKET": path},
            stderr=subprocess.DEVNULL,
        )
        while sock.recv(4096) != b"READY=1":
            pass
        ready = time.perf_counter() - started
        rss_ready = rss_kib(proc.pid)
        time.sleep(play_seconds)
        rss_playing = rss_kib(proc.pid)
        proc.terminate()
        proc.wait(timeout=10)
        synth.unplug()
        return {"ready_s": ready, "rss_at_ready_kib": rss_ready, "rss_playing_kib": rss_playing}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--model", default="wjazzd")
    parser.add_argument("--play-seconds", type=float, default=10.0)
    args = parser.parse_args()
    with jack_server("jazzd-bench"):
        rig = Rig("bench-rig")  # the synth: a JACK client doing nothing else
        try:
            runs = [one_run(rig, args.model, args.play_seconds) for _ in range(args.runs)]
        finally:
            rig.close()
    print(
        json.dumps(
            {
                "model": args.model,
                "runs": len(runs),
                "ready_s_median": round(statistics.median(r["ready_s"] for r in runs), 3),
                "ready_s_max": round(max(r["ready_s"] for r in runs), 3),
                "rss_at_ready_mib_median": round(
                    statistics.median(r["rss_at_ready_kib"] for r in runs) / 1024, 1
                ),
                "rss_playing_mib_median": round(
                    statistics.median(r["rss_playing_kib"] for r in runs) / 1024, 1
                ),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
