"""`jazzd bench --timing`: the real player measured from the outside, at the rig (rig.py).

Each run starts jazzd as a real process on JACK (a private server with the dummy driver unless
JACK_DEFAULT_SERVER names one) and judges what arrived at the rig, a JACK client that does
nothing else, against jazzd's --midi-log:

- internal: jazzd's own clock; each note-on's lateness at the receiver (arrival minus due) next
  to the sender's own figure (the send call returned minus due), with the other core idle or busy;
- clock: jazzd following the rig's MIDI clock, ticks written at exact frames, some dropped at
  random; each onset's distance from the master's 1/12-beat grid, in frames (the dummy driver's
  frame rate is not the wall clock's, so the follower is judged in frames);
- input: mixed messages at 1,000 a second into jazzd while it plays; how many its input logic
  handled, in order and uncorrupted;
- clock_out: jazzd's MIDI clock out with the other core busy; the tick intervals' jitter at the
  receiver (and, for comparison, at the sender).

Every run also counts JACK's xruns meanwhile (cycles some client of the graph did not finish in
time): what was in flight in such a cycle can be lost or read twice, whoever sent it, so a loss
with xruns is the machine's, and a loss without one is jazzd's.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from jazzd.errors import JazzdError
from jazzd.measure.rig import (
    Jazzd,
    Rig,
    away_from_xruns,
    grid_offsets,
    hanging,
    is_note_on,
    jack_server,
    match,
    mixed_input,
)
from jazzd.music.midi import CLOCK, NOTE_OFF, NOTE_ON

CHORDS = [(50, 53, 57, 60), (43, 47, 50, 53), (48, 52, 55, 59), (45, 49, 52, 55)]  # ii V I VI


def millis_summary(values: list[float]) -> dict[str, float]:
    """Median, p99 and the largest magnitude of times in seconds, in milliseconds (the benches'
    one way to report a timing)."""
    millis = np.asarray(values) * 1e3 if values else np.zeros(1)
    return {
        "p50_ms": round(float(np.median(millis)), 3),
        "p99_ms": round(float(np.percentile(millis, 99)), 3),
        "max_ms": round(float(np.abs(millis).max()), 3),
        "count": len(values),
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its children so far (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for each in [pid, *_children(pid)]:
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _share_within(offsets: list[float], bound: float) -> float:
    return round(sum(abs(o) <= bound for o in offsets) / max(1, len(offsets)), 4)


class _Session:
    """One rig and one jazzd run against its synth (and keyboard)."""

    def __init__(self, rig: Rig, log_dir: Path, model: str | None, seed: int, *args: str):
        self.rig = rig
        self.synth, self.keys = rig.synth("synth"), rig.keys("keys")
        self.xruns_before = len(rig.xruns())
        model_args = ["--model", model] if model else []
        self.jazzd = Jazzd(
            "--midi-api", "jack", "--port", self.synth.port, "--input", self.keys.port,
            "--seed", str(seed), *model_args, *args, log_dir=log_dir,
        )  # fmt: skip

    def __enter__(self) -> _Session:
        self.jazzd.wait_for("input port")
        return self

    def __exit__(self, *exc) -> None:
        if self.jazzd.poll() is None:
            self.jazzd.stop()
        time.sleep(0.2)  # the last messages reach the rig
        self.xruns = self.rig.xruns()[self.xruns_before :]
        self.synth.unplug()  # keeps what arrived
        self.keys.close()

    def delivery(self) -> dict:
        """What arrived against what jazzd says it sent: pairs, missing, invented, hanging."""
        sent = self.jazzd.logged("out", self.synth.port)
        arrived = list(self.synth.received)
        pairs = match([s.data for s in sent], [e.data for e in arrived])
        return {
            "sent": sent,
            "arrived": arrived,
            "pairs": pairs,
            "report": {
                "messages_sent": len(sent),
                "messages_missing": len(sent) - len(pairs),
                "messages_invented": len(arrived) - len(pairs),
                "hanging_at_receiver": sorted(hanging(e.data for e in arrived)),
                "xruns": len(self.xruns),
            },
        }


def internal_run(
    rig: Rig,
    log_dir: Path,
    model: str | None,
    seed: int,
    bpm: float,
    seconds: float,
    busy: bool,
    realtime: bool = True,
) -> dict:
    """jazzd's own clock, a chord changed on the keyboard every two beats (off the grid); with
    `realtime` off, the timing thread at normal priority."""
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
    try:
        priority = [] if realtime else ["--realtime-priority", "0"]
        with _Session(rig, log_dir, model, seed, "--bpm", f"{bpm:g}", *priority) as session:
            rng = random.Random(seed)
            held: tuple[int, ...] = ()
            began, cpu_began = time.perf_counter(), cpu_seconds(session.jazzd.pid)
            end = began + seconds
            while time.perf_counter() < end:
                chord = rng.choice(CHORDS)
                session.keys.schedule(
                    [(None, [NOTE_OFF, n, 0]) for n in held] + [(None, [NOTE_ON, n, 70]) for n in chord]
                )
                held = chord
                time.sleep(2 * 60 / bpm)
            cpu = (cpu_seconds(session.jazzd.pid) - cpu_began) / (time.perf_counter() - began)
        delivered = session.delivery()
    finally:
        if hog:
            hog.kill()
            hog.wait()
    sent, arrived = delivered["sent"], delivered["arrived"]
    ons = [
        (sent[i], arrived[j])
        for i, j in delivered["pairs"]
        if sent[i].due is not None and is_note_on(sent[i].data)
    ]
    calm = set(away_from_xruns([a.frame for _, a in ons], session.xruns, rig.rate))
    return {
        "run": "internal",
        "bpm": bpm,
        "seconds": seconds,
        "busy_core": busy,
        "realtime_priority": realtime,
        "at_receiver": millis_summary([a.t - s.due for s, a in ons]),
        "at_receiver_away_from_xruns": millis_summary([a.t - s.due for s, a in ons if a.frame in calm]),
        "at_sender": millis_summary([s.t - s.due for s, _ in ons]),
        "cpu_percent_of_one_core": round(100 * cpu, 2),  # jazzd and its input reader
        **delivered["report"],
    }


def clock_run(
    rig: Rig, log_dir: Path, model: str | None, seed: int, bpm: float, beats: int, drop: float
) -> dict:
    """jazzd following the rig's MIDI clock; onsets judged against the master's grid in frames."""
    with _Session(rig, log_dir, model, seed, "--clock", "midi") as session:
        time.sleep(0.3)
        grid = session.keys.clock(bpm, beats=beats, drop=drop, seed=seed)
        time.sleep(beats * 60 / bpm + 1.0)
    delivered = session.delivery()
    frames = [e.frame for e in session.synth.received if is_note_on(e.data)]
    onsets = [f for f in frames if f <= grid["stop"] + 0.002 * rig.rate]  # in time for Stop
    calm = away_from_xruns(onsets, session.xruns, rig.rate)
    offsets, calm_offsets = (
        grid_offsets(f, grid["first"], grid["per_tick"] * 2, rig.rate) for f in (onsets, calm)
    )
    return {
        "run": "clock",
        "bpm": bpm,
        "beats": beats,
        "drop": drop,
        "ticks_dropped": grid["dropped"],
        "onsets": len(offsets),
        "within_2ms": _share_within(offsets, 0.002),
        "offset_from_grid": millis_summary(offsets),
        "onsets_away_from_xruns": len(calm_offsets),
        "within_2ms_away_from_xruns": _share_within(calm_offsets, 0.002),
        "notes_after_stop": len(frames) - len(onsets),
        **delivered["report"],
    }


def clock_out_run(rig: Rig, log_dir: Path, model: str | None, seed: int, bpm: float, seconds: float) -> dict:
    """jazzd's MIDI clock out at `bpm`, the other core busy: the interval between ticks as they
    arrive at the rig, against the median interval (the dummy driver's frame rate is not the
    wall clock's), in frames; beside it the same at the sender (when each tick's send returned)."""
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        with _Session(rig, log_dir, model, seed, "--bpm", f"{bpm:g}", "--clock-out") as session:
            time.sleep(seconds)
        delivered = session.delivery()
    finally:
        hog.kill()
        hog.wait()
    frames = [e.frame for e in delivered["arrived"] if e.data == [CLOCK]]
    sent = [s.t for s in delivered["sent"] if s.data == [CLOCK]]
    calm = set(away_from_xruns(frames, session.xruns, rig.rate))
    return {
        "run": "clock_out",
        "bpm": bpm,
        "seconds": seconds,
        "busy_core": True,
        "ticks_sent": len(sent),
        "ticks_arrived": len(frames),
        "interval_jitter_at_receiver": millis_summary(_interval_jitter([f / rig.rate for f in frames])),
        "interval_jitter_at_receiver_away_from_xruns": millis_summary(
            _interval_jitter([f / rig.rate for f in frames if f in calm])
        ),
        "interval_jitter_at_sender": millis_summary(_interval_jitter(sent)),
        **delivered["report"],
    }


def _interval_jitter(times: list[float]) -> list[float]:
    """Each interval between successive ticks minus the median interval (gaps of a lost tick
    or an xrun's window left out: intervals over 1.5 medians), as magnitudes."""
    intervals = np.diff(np.asarray(times))
    if intervals.size == 0:
        return []
    median = float(np.median(intervals))
    return [abs(float(i) - median) for i in intervals if i < 1.5 * median]


def input_run(rig: Rig, log_dir: Path, model: str | None, seed: int, messages: int, rate: int = 1000) -> dict:
    """Notes, CCs and clocks at `rate` a second into jazzd while it plays at 200 bpm."""
    with _Session(rig, log_dir, model, seed, "--bpm", "200") as session:
        events = mixed_input(rig.frame() + rig.rate // 5, rig.rate // rate, messages, seed)
        session.keys.schedule(events)
        time.sleep(messages / rate + 0.5)
    received = session.jazzd.logged("in")
    pairs = match([data for _, data in events], [e.data for e in received])
    return {
        "run": "input",
        "messages_sent": messages,
        "rate_per_s": rate,
        "handled_in_order": len(pairs),
        "missing": messages - len(pairs),
        "invented": len(received) - len(pairs),
        "xruns": len(session.xruns),
    }


def bench_timing(
    model: str | None,
    seed: int,
    bpms: list[float],
    seconds: float,
    beats: int,
    drop: float,
    input_messages: int,
    clock_out_seconds: float = 60.0,
) -> list[dict]:
    """All the runs; JazzdError if the rig cannot run here."""
    try:
        import jack  # noqa: F401 — the rig's client library
    except (ImportError, OSError) as exc:  # JACK-Client loads libjack on import
        raise JazzdError(f"jazzd bench --timing needs JACK (jackd2 and its library): {exc}") from exc
    try:
        with jack_server("jazzd-bench"), tempfile.TemporaryDirectory() as tmp:
            rig = Rig("jazzd-bench-rig")
            try:
                runs = [
                    internal_run(rig, Path(tmp), model, seed, bpm, seconds, busy, realtime)
                    for bpm in bpms
                    for busy, realtime in ((False, True), (True, True), (True, False))
                ]
                runs += [clock_run(rig, Path(tmp), model, seed, 150.0, beats, p) for p in sorted({0.0, drop})]
                runs.append(input_run(rig, Path(tmp), model, seed, input_messages))
                runs += [clock_out_run(rig, Path(tmp), model, seed, bpm, clock_out_seconds) for bpm in bpms]
            finally:
                rig.close()
    except RuntimeError as exc:  # no jackd, or the server did not start
        raise JazzdError(f"jazzd bench --timing: {exc}") from exc
    return runs
