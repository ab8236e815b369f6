"""Signals at random moments: jazzd as a real process on JACK, sent SIGHUP, SIGTERM and SIGINT at
random moments (reloads landing on reloads included), judged at the rig (jazzd/measure/rig.py).

  python bench/signals.py --signals 1000

Each run starts jazzd with a keyboard, maybe stops it with the start/stop switch (CC 74), sends
a few HUPs, then TERM or INT — every signal to jazzd's whole process group (its reader and
writer too), as systemd's stop and a terminal's Ctrl-C send them. It counts: runs that did not
exit 0 within 5 s of the stop (hangs), notes left sounding at the receiver, runs that printed a
traceback, and runs where a pause set before the HUPs did not hold (notes after it). Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import tempfile
import time
from pathlib import Path

from jazzd.measure.rig import Jazzd, Rig, hanging, jack_server


def one_run(rig: Rig, log_dir: Path, rng: random.Random, hups: int) -> dict:
    synth, keys = rig.synth("sig-synth"), rig.keys("sig-keys")
    proc = Jazzd(
        "--midi-api", "jack", "--port", synth.port, "--input", keys.port, "--bpm", "260",
        "--model", "seed-metheny", log_dir=log_dir,
    )  # fmt: skip
    try:
        proc.wait_for("input port")
        time.sleep(rng.uniform(0.2, 0.8))
        paused = rng.random() < 0.3
        if paused:
            keys.send(0xB0, 74, 0)
            time.sleep(0.2)
        paused_at = time.perf_counter()
        for _ in range(hups):
            os.killpg(proc.pid, signal.SIGHUP)
            time.sleep(rng.uniform(0.0, 0.6))  # sometimes mid-reload
        stop = rng.choice([signal.SIGTERM, signal.SIGINT])
        hung = False
        try:
            code, took = proc.stop(stop, group=True)
        except Exception:  # subprocess.TimeoutExpired: a hang
            hung, code, took = True, None, None
            proc.kill()
            proc.wait()
        time.sleep(0.2)
        notes = [e for e in synth.notes_on() if e.t > paused_at + 0.05]
        return {
            "signals": hups + 1,
            "hung": hung,
            "exit": code,
            "seconds_to_exit": took,
            "hanging": sorted(hanging(e.data for e in synth.received)),
            "paused": paused,
            "traceback": "Traceback" in "".join(proc.log),
            "log_if_failed": "" if code == 0 else "".join(proc.log[-12:]),
            "pause_broken": paused and bool(notes),
        }
    finally:
        synth.unplug()
        keys.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--signals", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    runs = []
    with jack_server("jazzd-signals"), tempfile.TemporaryDirectory() as tmp:
        rig = Rig("signals-rig")
        try:
            while sum(r["signals"] for r in runs) < args.signals:
                runs.append(one_run(rig, Path(tmp), rng, rng.randint(0, 12)))
        finally:
            rig.close()
    exits = [r["seconds_to_exit"] for r in runs if r["seconds_to_exit"] is not None]
    print(
        json.dumps(
            {
                "runs": len(runs),
                "signals": sum(r["signals"] for r in runs),
                "hangs": sum(r["hung"] for r in runs),
                "exit_codes": sorted({r["exit"] for r in runs}, key=str),
                "runs_with_notes_left_sounding": sum(bool(r["hanging"]) for r in runs),
                "runs_with_a_traceback": sum(r["traceback"] for r in runs),
                "paused_runs": sum(r["paused"] for r in runs),
                "pauses_broken_by_a_reload": sum(r["pause_broken"] for r in runs),
                "seconds_to_exit_max": round(max(exits), 3) if exits else None,
                "failed_runs_logs": [r["log_if_failed"] for r in runs if r["log_if_failed"]],
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
