"""On stage, measured at the receiver: how soon a called tune begins, how exact a tapped tempo
is, what the phone page costs and how soon it shows a bar line. Needs a JACK server (started
here with the dummy driver unless JACK_DEFAULT_SERVER names one); the page's first paint needs
Debian's chromium and chromium-driver.

- Program Change → the new tune's first count-in click at the synth, at random phases of the
  bar: seconds after the request, and as a share of a bar.
- Tap tempo: four taps at exact frames, at several tempos; the tempo of the clock out's ticks at
  the synth from the next bar line, against the tapped one.
- The page: CPU of jazzd's whole process tree at 200 bpm with [web] off, on with no page open,
  and on with one page open (an event stream read here), the same number of runs of each,
  interleaved; each update's arrival after the bar line it shows (the clock out's tick at the
  synth); Chromium's first contentful paint of the page.

Usage: python bench/stage.py [--calls 40] [--seconds 20] [--runs 3] [--only calls|taps|page|paint]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from jazzd.measure.rig import CLICK, Rig, chromium, free_port, jack_server
from jazzd.music.midi import CLOCK, CONTROL_CHANGE, PROGRAM_CHANGE, START

TAP = 82
TICKS_PER_BAR = 96


def start(config: str, text: str, *flags: str) -> subprocess.Popen:
    Path(config).write_text('[midi]\nport = "bench-synth"\n' + text)
    command = [sys.executable, "-m", "jazzd", "--config", config, "--midi-api", "jack", *flags]
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, start_new_session=True)
    for line in proc.stderr:
        if "timing thread" in line:
            threading.Thread(target=proc.stderr.read, daemon=True).start()  # keep the pipe drained
            return proc
    raise RuntimeError("jazzd did not start")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=10)


def tree_cpu(pgid: int) -> float:
    """CPU seconds (user + system) of every process in jazzd's group (its helpers too)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # field 5: the process group
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def calls(rig: Rig, tmp: str, count: int) -> dict:
    synth, keys = rig.synth("bench-synth"), rig.keys("bench-keys")
    tunes = '[{ tune = "blues-f", bpm = 200 }, { tune = "blue-bossa", bpm = 200 }]'
    proc = start(
        f"{tmp}/calls.toml", f"[tune]\ncount_in = 1\n[setlist]\ntunes = {tunes}\n", "--input", "bench-keys"
    )
    rng, delays = random.Random(1), []
    try:
        time.sleep(2.0)
        for i in range(count):
            asked = time.perf_counter()
            keys.send(PROGRAM_CHANGE, (i + 1) % 2)
            time.sleep(1.2 + rng.uniform(0, 1.2))  # a bar is 1.2 s: the next call lands anywhere in one
            clicks = [e.t for e in synth.received if e.data[0] == CLICK and e.data[2] and e.t > asked]
            if clicks:
                delays.append(clicks[0] - asked)
    finally:
        stop(proc)
        keys.close()
        synth.unplug()
    bar = 4 * 60 / 200
    return {
        "calls": count,
        "heard": len(delays),
        "delay_s_median": round(statistics.median(delays), 3),
        "delay_s_max": round(max(delays), 3),
        "delay_bars_max": round(max(delays) / bar, 3),
    }


def taps(rig: Rig, tmp: str) -> list[dict]:
    found = []
    for tapped in (80.0, 120.0, 160.0, 240.0):
        synth, keys = rig.synth("bench-synth"), rig.keys("bench-keys")
        proc = start(
            f"{tmp}/taps.toml",
            f'[clock]\nbpm = 200\nout = true\n[controls]\ntap = {TAP}\n[setlist]\ntunes = ["blues-f"]\n',
            "--input",
            "bench-keys",
        )
        try:
            time.sleep(1.0)
            first = rig.frame() + rig.rate // 5
            beat = round(rig.rate * 60 / tapped)
            keys.schedule([(first + i * beat, [CONTROL_CHANGE, TAP, 127]) for i in range(4)])
            last_tap = (first + 3 * beat) / rig.rate
            time.sleep(0.2 + 3 * 60 / tapped + 1.2 + 3.0)
        finally:
            stop(proc)
            keys.close()
            synth.unplug()
        ticks = [e.frame / rig.rate for e in synth.received if e.data == [CLOCK]]
        later = [t for t in ticks if t > last_tap + 1.25][:96]
        gap = statistics.median(b - a for a, b in itertools.pairwise(later))
        measured = 60 / (24 * gap)
        found.append(
            {
                "tapped": tapped,
                "measured": round(measured, 2),
                "error_pct": round(100 * (measured / tapped - 1), 3),
            }
        )
    return found


class Stream:
    """The page's event stream, read as a phone would keep it open: each state's arrival."""

    def __init__(self, port: int):
        self.arrivals: list[tuple[float, int | None]] = []
        self.socket = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.socket.sendall(f"GET /events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        buffer = b""
        try:
            while chunk := self.socket.recv(65536):
                t = time.perf_counter()
                buffer += chunk
                while b"\n\n" in buffer:
                    event, buffer = buffer.split(b"\n\n", 1)
                    at = event.find(b"data: ")  # after the headers, or a chunk's length
                    if at >= 0:
                        self.arrivals.append((t, json.loads(event[at + 6 :])["bar"]))
        except OSError:
            pass

    def close(self) -> None:
        self.socket.close()


def page_cost(rig: Rig, tmp: str, seconds: float, runs: int) -> dict:
    cpu: dict[str, list[float]] = {"off": [], "closed": [], "open": []}
    latencies: list[float] = []
    for _ in range(runs):
        for case in cpu:
            synth = rig.synth("bench-synth")
            port = free_port()
            web = f"[web]\nenabled = {'false' if case == 'off' else 'true'}\nport = {port}\n"
            proc = start(
                f"{tmp}/page.toml", f'[clock]\nbpm = 200\nout = true\n[solo]\nchords = "| C7 | F7 |"\n{web}'
            )
            stream = Stream(port) if case == "open" else None
            try:
                time.sleep(2.0)
                began, used = time.perf_counter(), tree_cpu(proc.pid)
                time.sleep(seconds)
                cpu[case].append(100 * (tree_cpu(proc.pid) - used) / (time.perf_counter() - began))
            finally:
                stop(proc)
                if stream:
                    stream.close()
                synth.unplug()
            if stream:
                latencies += bar_latencies(synth.received, stream.arrivals)
    figures = {f"cpu_pct_{case}_median": round(statistics.median(v), 2) for case, v in cpu.items()}
    figures |= {f"cpu_pct_{case}_runs": [round(x, 2) for x in v] for case, v in cpu.items()}
    figures |= {
        "updates": len(latencies),
        "update_after_bar_line_ms_median": round(1000 * statistics.median(latencies), 1),
        "update_after_bar_line_ms_p95": round(1000 * percentile(latencies, 0.95), 1),
        "update_after_bar_line_ms_max": round(1000 * max(latencies), 1),
        "update_after_bar_line_ms_min": round(1000 * min(latencies), 1),
    }
    return figures


def bar_latencies(received, arrivals) -> list[float]:
    """Each update that lit a new bar, after that bar's line (the clock out's tick 96 n after
    Start, as the synth heard it; the nearest one, as an update may come a fraction of a
    millisecond before the synth's stamp of the same bar line)."""
    started = next(i for i, e in enumerate(received) if e.data == [START])
    ticks = [e.t for e in received[started:] if e.data == [CLOCK]]
    lines = ticks[::TICKS_PER_BAR]
    found, shown = [], None
    for t, bar in arrivals:
        if bar is not None and bar != shown and shown is not None:
            line = min(lines, key=lambda b: abs(t - b), default=None)
            if line is not None:
                found.append(t - line)
        shown = bar
    return found


def first_paint(rig: Rig, tmp: str) -> float | None:
    synth = rig.synth("bench-synth")
    port = free_port()
    proc = start(f"{tmp}/paint.toml", f"[web]\nenabled = true\nport = {port}\n")
    driver = chromium(Path(tmp) / "profile")
    try:
        paints = []
        for _ in range(5):
            driver.get(f"http://127.0.0.1:{port}/")
            time.sleep(0.5)
            entries = driver.execute_script("return performance.getEntriesByName('first-contentful-paint')")
            paints += [entry["startTime"] for entry in entries]
        return round(statistics.median(paints), 1) if paints else None
    finally:
        driver.quit()
        stop(proc)
        synth.unplug()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=("calls", "taps", "page", "paint"))
    args = parser.parse_args()
    parts = {
        "calls": lambda rig, tmp: calls(rig, tmp, args.calls),
        "taps": taps,
        "page": lambda rig, tmp: page_cost(rig, tmp, args.seconds, args.runs),
        "paint": first_paint,
    }
    with jack_server("jazzd-bench"), tempfile.TemporaryDirectory() as tmp:
        rig = Rig("bench-rig")
        try:
            figures = {name: part(rig, tmp) for name, part in parts.items() if args.only in (None, name)}
        finally:
            rig.close()
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
