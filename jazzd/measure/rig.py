"""The measuring rig: a synth and a keyboard / clock source on JACK that cannot lie, and jazzd
run as a real process against it.

The synth and keyboard are ports of one JACK client in a process of its own (`rig_client.py`)
that does nothing else: it writes events at exact frames and timestamps what it receives by frame
and by perf_counter's clock. python-rtmidi's input callback is not used to receive: in a busy
process it loses and corrupts messages (docs/ARCHITECTURE.md). jazzd runs with `--midi-log`, so
what arrived can be held against what it says it sent, message by message.

Used by `jazzd bench --timing` (timing.py), the end-to-end tests (tests/jackrig.py) and the
JACK soak. Needs jackd and its library (the JACK-Client package comes with jazzd).
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import queue
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from jazzd.music.midi import ALL_NOTES_OFF, CLOCK, CONTROL_CHANGE, NOTE_OFF, NOTE_ON, START, STOP

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


@contextlib.contextmanager
def jack_server(name: str):
    """The JACK server named by JACK_DEFAULT_SERVER if one is, else a private one named `name`
    (stopped on the way out); every client started meanwhile finds it by the environment."""
    if "JACK_DEFAULT_SERVER" in os.environ:
        yield os.environ["JACK_DEFAULT_SERVER"]
        return
    if shutil.which("jackd") is None:
        raise RuntimeError("jackd is not installed (apt-get install jackd2)")
    server = start_jack(name)
    os.environ.update(JACK_DEFAULT_SERVER=name, JACK_NO_START_SERVER="1")
    try:
        yield name
    finally:
        del os.environ["JACK_DEFAULT_SERVER"], os.environ["JACK_NO_START_SERVER"]
        server.terminate()
        server.wait(timeout=10)


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

    def xruns(self) -> list[int]:
        """The frames of JACK's xruns so far (cycles some client of the graph did not finish in
        time): what was in flight then may be lost or read twice, whoever sent it, and the
        dummy driver's frames slip against the wall clock."""
        return self.call(op="now")["xruns"]

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
        events = [(first - 48, [START])]  # Start, 1 ms before the first tick
        ticks = beats * 24
        dropped = 0
        for i in range(ticks):
            if i > 0 and rng.random() < drop:
                dropped += 1
                continue
            events.append((first + round(i * per_tick), [CLOCK]))
        stop_frame = first + round(ticks * per_tick)
        events.append((stop_frame, [STOP]))
        self.schedule(events)
        return {"first": first, "per_tick": per_tick, "stop": stop_frame, "dropped": dropped}

    def close(self) -> None:
        self.rig.call(op="remove", name=self.name)


def mixed_input(first: int, frames_apart: int, count: int, seed: int = 0) -> list[tuple[int, list[int]]]:
    """Notes, a control jazzd maps to nothing (CONTROL_CHANGE 20) and clock ticks, in turn, at exact frames:
    what a keyboard and a drum machine send together."""
    rng = random.Random(seed)
    events = []
    pitch = 60
    for i in range(count):
        if i % 4 == 0:
            pitch = rng.randrange(36, 96)
            data = [NOTE_ON, pitch, rng.randrange(1, 128)]
        else:
            data = [[CONTROL_CHANGE, 20, rng.randrange(128)], [NOTE_OFF, pitch, 0], [CLOCK]][i % 4 - 1]
        events.append((first + i * frames_apart, data))
    return events


def grid_offsets(frames: list[int], first: int, per_step: float, rate: int) -> list[float]:
    """Each frame's distance, in seconds, from the nearest point of a grid (frame `first`, one
    point every `per_step` frames)."""
    return [((f - first) - round((f - first) / per_step) * per_step) / rate for f in frames]


def away_from_xruns(frames: list[int], xruns: list[int], rate: int, window: float = 0.25) -> list[int]:
    """The frames not within `window` seconds of an xrun: where the dummy driver's frames kept
    pace with the wall clock, so an onset judged in frames means what it says."""
    return [f for f in frames if all(abs(f - x) > window * rate for x in xruns)]


CLICK = NOTE_ON | 9  # a count-in click's status (channel 10, the default)


def free_port() -> int:
    """A TCP port nothing listens on now (for the phone page)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chromium(profile: Path):
    """Debian's Chromium, headless, driven by Selenium through Debian's chromedriver: no sandbox
    (as root), no network chatter of its own, a fresh profile in `profile`, a phone's screen."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_window_size(390, 844)
    return driver


def is_note_on(data: list[int]) -> bool:
    return data[0] & 0xF0 == NOTE_ON and data[2] > 0


def is_note_off(data: list[int]) -> bool:
    return data[0] & 0xF0 == NOTE_OFF or (data[0] & 0xF0 == NOTE_ON and data[2] == 0)


class NoteBalance:
    """Note-ons minus note-offs per pitch, message by message (raw bytes): every note-on must
    have its own note-off, All Notes Off does not count. What the tests, the soak and the
    benches check on what was sent."""

    def __init__(self) -> None:
        self.count: dict[int, int] = {}
        self.ons = self.messages = 0

    def add(self, data: list[int]) -> None:
        self.messages += 1
        if is_note_on(data):
            self.count[data[1]] = self.count.get(data[1], 0) + 1
            self.ons += 1
        elif is_note_off(data):
            self.count[data[1]] = self.count.get(data[1], 0) - 1

    def unbalanced(self) -> dict[int, int]:
        """The pitches whose count is not zero (empty when nothing hangs)."""
        return {pitch: n for pitch, n in self.count.items() if n}


def hanging(messages) -> set[int]:
    """Notes still sounding after every message, in order (All Notes Off clears them)."""
    sounding: set[tuple[int, int]] = set()
    for data in messages:
        if is_note_on(data):
            sounding.add((data[0] & 0x0F, data[1]))
        elif is_note_off(data):
            sounding.discard((data[0] & 0x0F, data[1]))
        elif data[0] & 0xF0 == CONTROL_CHANGE and data[1] == ALL_NOTES_OFF:
            sounding = {s for s in sounding if s[0] != data[0] & 0x0F}
    return {note for _, note in sounding}


# -- jazzd as a real process -------------------------------------------------------------------


@dataclass(frozen=True)
class Logged:
    """One line of jazzd's --midi-log: times in perf_counter seconds."""

    dir: str  # "out": sent, "in": received
    due: float | None  # when a sent message was due (None: sent at once)
    t: float  # when the send returned, or when a received message arrived
    data: list[int]
    port: str | None


class Jazzd(subprocess.Popen):
    """`jazzd` run as a real process with --midi-log; its log lines are read by a thread. It
    leads a process group of its own, with its helper processes: a signal to the group reaches
    them all at once, as a terminal's Ctrl-C and systemd's stop do."""

    def __init__(self, *args: str, log_dir: Path, env: dict | None = None):
        self.midi_log = Path(log_dir) / f"midi-{time.monotonic_ns()}.jsonl"
        super().__init__(
            [sys.executable, "-m", "jazzd", "--midi-log", str(self.midi_log), *args],
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.log: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.stderr:
            self.log.append(line)
            self._lines.put(line)
        self._lines.put(None)

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        """The next log line that contains `text`; TimeoutError (with the log) if none comes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            if text in line:
                return line
        raise TimeoutError(f"jazzd never logged {text!r}: {''.join(self.log)}")

    def stop(self, signum: int = signal.SIGTERM, group: bool = False) -> tuple[int, float]:
        """Signal jazzd (`group`: and every process it started, at once); returns (exit code,
        seconds it took to exit)."""
        sent = time.perf_counter()
        if group:
            os.killpg(self.pid, signum)
        else:
            self.send_signal(signum)
        code = self.wait(timeout=10)
        return code, time.perf_counter() - sent

    def group(self) -> list[int]:
        """The pids of the processes in jazzd's group (its helpers, and itself while alive)."""
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError, IndexError):
                    if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[2]) == self.pid:
                        pids.append(int(entry.name))
        return sorted(pids)

    def logged(self, direction: str = "out", port: str | None = None) -> list[Logged]:
        """What jazzd says it sent ("out") or received ("in"), in order, on `port` (any)."""
        lines = self.midi_log.read_text().splitlines() if self.midi_log.exists() else []
        entries = [Logged(**json.loads(line)) for line in lines]
        return [e for e in entries if e.dir == direction and (port is None or e.port == port)]


def match(sent: list[list[int]], arrived: list[list[int]]) -> list[tuple[int, int]]:
    """Index pairs (sent, arrived) of the longest in-order matching of two lists of messages'
    bytes: what is left out on either side went missing or was invented."""
    blocks = difflib.SequenceMatcher(
        a=[tuple(data) for data in sent], b=[tuple(data) for data in arrived], autojunk=False
    ).get_matching_blocks()
    return [(i + k, j + k) for i, j, n in blocks for k in range(n)]
