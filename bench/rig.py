"""The measuring rig: a synth and a keyboard / clock source on JACK that cannot lie.

They are ports of one JACK client in a process of its own (`rig_client.py`) that does nothing
else: it writes events at exact frames and timestamps what it receives by frame and by
perf_counter's clock. Used by the end-to-end tests (tests/jackrig.py) and the JACK soak.
python-rtmidi's input callback is not used to receive: in a busy process it loses and corrupts
messages (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The dummy driver at 64-frame periods (rtmidi's JACK output lands up to one period late), with
# real-time scheduling where it is allowed: without it, a client killed mid-cycle (a crashed
# jazzd) was seen to leave the clients after it in the graph unprocessed for good (3 runs in 6),
# and in synchronous mode (-S) to stop new clients from connecting.
JACKD_ARGS = ["-d", "dummy", "-r", "48000", "-p", "64"]


def start_jack(name: str, timeout: float = 10.0) -> subprocess.Popen:
    """A private JACK server named `name`, once it answers."""
    import jack

    for realtime in (["-R"], ["--no-realtime"]):  # real-time if this machine allows it
        server = subprocess.Popen(
            ["jackd", "-n", name, *realtime, *JACKD_ARGS],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.5)
        if server.poll() is None:
            break
    deadline = time.monotonic() + timeout
    while True:
        try:
            jack.Client("probe", no_start_server=True, servername=name).close()
            return server
        except jack.JackOpenError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise RuntimeError(f"the JACK server {name!r} did not start") from None
            time.sleep(0.1)


NOTE_ON, NOTE_OFF, CC, ALL_NOTES_OFF = 0x90, 0x80, 0xB0, 123


@dataclass(frozen=True)
class Received:
    t: float  # seconds on perf_counter's clock (CLOCK_MONOTONIC)
    data: list[int]
    frame: int


class Rig:
    """The rig process: one JACK client with any number of synth and keyboard ports."""

    def __init__(self, name: str = "rig"):
        self.name = name
        self._proc = subprocess.Popen(
            [sys.executable, str(HERE / "rig_client.py"), name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._lock = threading.Lock()
        assert json.loads(self._proc.stdout.readline()).get("ready"), "the rig did not start"
        now = self.call(op="now")
        self.rate, self.period = now["rate"], now["period"]

    def call(self, **command) -> dict:
        with self._lock:
            self._proc.stdin.write(json.dumps(command) + "\n")
            self._proc.stdin.flush()
            line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the rig died on {command['op']}")
        return json.loads(line)

    def frame(self) -> int:
        return self.call(op="now")["frame"]

    def synth(self, name: str = "synth") -> Synth:
        return Synth(self, name)

    def keys(self, name: str = "keys") -> Keys:
        return Keys(self, name)

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
            self._proc.stdin.flush()
            self._proc.wait(timeout=5)


class Synth:
    """A synth port: `received` is everything that arrived, across unplugging and plugging."""

    def __init__(self, rig: Rig, name: str):
        self.rig, self.name = rig, name
        self._received: list[Received] = []
        self._seen = 0
        self.plugged = False
        self.plug()

    def plug(self) -> None:
        self.port = self.rig.call(op="sink", name=self.name)["port"]
        self._seen, self.plugged = 0, True
        self.plugged_at = time.perf_counter()

    def unplug(self) -> None:
        self.received  # noqa: B018 — fetch what arrived before the port goes
        self.rig.call(op="remove", name=self.name)
        self.plugged = False

    @property
    def received(self) -> list[Received]:
        if self.plugged:
            events = self.rig.call(op="received", name=self.name, since=self._seen)["events"]
            self._seen += len(events)
            self._received.extend(Received(t, data, frame) for frame, t, data in events)
        return self._received

    def notes_on(self, after: float = 0.0) -> list[Received]:
        return [e for e in self.received if e.t >= after and is_note_on(e.data)]


class Keys:
    """A keyboard / clock port: events now, or at exact frames."""

    def __init__(self, rig: Rig, name: str):
        self.rig, self.name = rig, name
        self.port = rig.call(op="source", name=name)["port"]

    def send(self, *data: int) -> None:
        self.schedule([(None, list(data))])

    def schedule(self, events: list[tuple[int | None, list[int]]]) -> None:
        for i in range(0, len(events), 100):  # small commands: the rig's callback never waits long
            self.rig.call(op="send", name=self.name, events=events[i : i + 100])

    def chord(self, notes, on: bool = True) -> None:
        self.schedule([(None, [NOTE_ON, n, 80] if on else [NOTE_OFF, n, 0]) for n in notes])

    def clock(self, bpm: float, beats: int, drop: float = 0.0, seed: int = 0, lead: float = 0.3) -> dict:
        """Start, 24 ticks a beat for `beats` beats at exact frames (each dropped with
        probability `drop`), then Stop. Returns the grid: frame of tick 0, frames per tick,
        and the frames of Stop and of the last tick."""
        rng = random.Random(seed)
        per_tick = self.rig.rate * 60 / bpm / 24
        first = self.rig.frame() + round(lead * self.rig.rate)
        events = [(first - 48, [0xFA])]  # Start, 1 ms before the first tick
        ticks = beats * 24
        dropped = 0
        for i in range(ticks):
            if i > 0 and rng.random() < drop:
                dropped += 1
                continue
            events.append((first + round(i * per_tick), [0xF8]))
        stop_frame = first + round(ticks * per_tick)
        events.append((stop_frame, [0xFC]))
        self.schedule(events)
        return {"first": first, "per_tick": per_tick, "stop": stop_frame, "dropped": dropped}

    def close(self) -> None:
        self.rig.call(op="remove", name=self.name)


def is_note_on(data: list[int]) -> bool:
    return data[0] & 0xF0 == NOTE_ON and data[2] > 0


def is_note_off(data: list[int]) -> bool:
    return data[0] & 0xF0 == NOTE_OFF or (data[0] & 0xF0 == NOTE_ON and data[2] == 0)


def hanging(messages) -> set[int]:
    """Notes still sounding after every message, in order (All Notes Off clears them)."""
    sounding: set[tuple[int, int]] = set()
    for data in messages:
        if is_note_on(data):
            sounding.add((data[0] & 0x0F, data[1]))
        elif is_note_off(data):
            sounding.discard((data[0] & 0x0F, data[1]))
        elif data[0] & 0xF0 == CC and data[1] == ALL_NOTES_OFF:
            sounding = {s for s in sounding if s[0] != data[0] & 0x0F}
    return {note for _, note in sounding}
