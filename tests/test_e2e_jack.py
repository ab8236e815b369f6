"""End to end over a real MIDI stack: a JACK server (dummy driver) started here, `jazzd` run as
a real process against it, a keyboard and a synth played and heard from this test process."""

import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest
import rtmidi

from jazzd.chords import parse_chord

BPM = 200


@pytest.fixture(scope="module")
def jack():
    """A private JACK server for this module; its name is handed to every client by env."""
    if shutil.which("jackd") is None:
        if os.environ.get("CI"):
            pytest.fail("jackd is not installed in CI: .ci/run must install jackd2")
        pytest.skip("jackd is not installed (apt-get install jackd2)")
    name = f"jazzd-test-{os.getpid()}"
    saved = {k: os.environ.get(k) for k in ("JACK_DEFAULT_SERVER", "JACK_NO_START_SERVER")}
    os.environ.update(JACK_DEFAULT_SERVER=name, JACK_NO_START_SERVER="1")
    server = subprocess.Popen(
        ["jackd", "-n", name, "--no-realtime", "-d", "dummy", "-r", "48000", "-p", "256"],
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


class Synth:
    """A virtual JACK input that records what jazzd sends, with arrival times."""

    def __init__(self, port="synth"):
        self.received: list[tuple[float, list[int]]] = []
        self._in = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name=f"e2e-{port}")
        self._in.ignore_types(sysex=False, timing=False, active_sense=False)
        self._in.open_virtual_port(port)
        self._in.set_callback(lambda event, data=None: self.received.append((time.perf_counter(), event[0])))

    def notes_on(self, after=0.0):
        return [(t, m[1]) for t, m in self.received if t >= after and m[0] & 0xF0 == 0x90 and m[2] > 0]

    def balance(self):
        count = {}
        for _, m in self.received:
            if m[0] & 0xF0 == 0x90 and m[2] > 0:
                count[m[1]] = count.get(m[1], 0) + 1
            elif m[0] & 0xF0 == 0x80 or (m[0] & 0xF0 == 0x90 and m[2] == 0):
                count[m[1]] = count.get(m[1], 0) - 1
        return {k: v for k, v in count.items() if v}

    def close(self):
        self._in.close_port()
        self._in.delete()


class Keys:
    """A virtual JACK output that jazzd reads as its keyboard / clock source."""

    def __init__(self, port="keys"):
        self._out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name=f"e2e-{port}")
        self._out.open_virtual_port(port)

    def send(self, *data):
        self._out.send_message(list(data))

    def chord(self, notes, on=True):
        for n in notes:
            self.send(0x90 if on else 0x80, n, 80 if on else 0)

    def close(self):
        self._out.close_port()
        self._out.delete()


def start_jazzd(*args):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jazzd",
            "--midi-api",
            "jack",
            "--model",
            "seed-metheny",
            "--seed",
            "3",
            *args,
        ],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(proc, text, timeout=20.0):
    """Read jazzd's log until a line containing `text`; returns the lines read."""
    lines = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        lines.append(line)
        if text in line:
            return lines
    pytest.fail(f"jazzd never logged {text!r}: {''.join(lines)}")


def stop(proc, signum=signal.SIGTERM):
    """Signal jazzd; returns (exit code, seconds it took to exit)."""
    sent = time.perf_counter()
    proc.send_signal(signum)
    code = proc.wait(timeout=10)
    took = time.perf_counter() - sent
    proc.stderr.close()
    return code, took


def in_scale(chord, pitches):
    return sum(chord.note_type(p) in "CS" for p in pitches) / max(1, len(pitches))


def test_plays_over_the_keyboard_chord_and_stops_clean(jack):
    synth, keys = Synth(), Keys()
    proc = start_jazzd("--port", "synth", "--input", "keys", "--bpm", str(BPM), "--chords", "| C7 |")
    try:
        wait_for(proc, "input port")
        time.sleep(1.5)
        keys.chord([42, 46, 49, 52])  # F#7, a tritone from the progression's C7
        changed = time.perf_counter()
        keys.chord([42, 46, 49, 52], on=False)  # released: the chord stays in force
        time.sleep(3.0)
    finally:
        code, took = stop(proc)
        time.sleep(0.2)
        synth.close()
        keys.close()
    after = [p for t, p in synth.notes_on(after=changed + 0.02)]
    before = [p for t, p in synth.notes_on() if t < changed]
    assert len(before) >= 5 and len(after) >= 10
    fs7, c7 = parse_chord("F#7"), parse_chord("C7")
    assert in_scale(fs7, after) > in_scale(c7, after) + 0.2
    assert in_scale(c7, before) > in_scale(fs7, before) + 0.2
    assert code == 0 and took < 1.0
    assert synth.balance() == {}
    assert synth.received[-1][1] == [0xB0, 123, 0]  # All Notes Off last


def test_follows_midi_clock_and_stop_silences_at_once(jack):
    synth, keys = Synth(), Keys()
    proc = start_jazzd("--port", "synth", "--input", "keys", "--clock", "midi")
    period = 60 / 150 / 24
    stopped = threading.Event()

    def clock_source():
        keys.send(0xFA)  # Start
        next_tick = time.perf_counter()
        end = next_tick + 3.0
        while time.perf_counter() < end:
            keys.send(0xF8)
            next_tick += period
            time.sleep(max(0.0, next_tick - time.perf_counter()))
        keys.send(0xFC)  # Stop
        stopped.set()

    try:
        wait_for(proc, "input port")
        time.sleep(0.3)
        source = threading.Thread(target=clock_source)
        began = time.perf_counter()
        source.start()
        source.join()
        stop_time = time.perf_counter()
        time.sleep(1.0)
    finally:
        code, _ = stop(proc)
        time.sleep(0.2)
        synth.close()
        keys.close()
    assert len(synth.notes_on(after=began)) >= 10
    assert not synth.notes_on(after=stop_time + 0.015)  # nothing starts after Stop
    silenced = [t for t, m in synth.received if m == [0xB0, 123, 0] and t >= stop_time]
    assert silenced and silenced[0] - stop_time < period + 0.015
    assert code == 0 and synth.balance() == {}


def test_sigint_also_exits_clean(jack):
    synth = Synth()
    proc = start_jazzd("--port", "synth", "--bpm", "240")
    try:
        wait_for(proc, "output port")
        time.sleep(1.5)
    finally:
        code, took = stop(proc, signal.SIGINT)
        time.sleep(0.2)
        synth.close()
    assert code == 0 and took < 1.0
    assert len(synth.notes_on()) >= 5 and synth.balance() == {}


def test_waits_for_a_missing_port_then_plays(jack):
    proc = start_jazzd("--port", "late-synth", "--bpm", "240")
    try:
        lines = wait_for(proc, "waiting")
        assert "no output port matches 'late-synth'" in lines[-1]
        synth = Synth("late-synth")
        wait_for(proc, "output port: e2e-late-synth:late-synth")
        time.sleep(1.5)
    finally:
        code, _ = stop(proc)
        time.sleep(0.2)
    synth.close()
    assert code == 0 and len(synth.notes_on()) >= 5 and synth.balance() == {}
    assert synth.received[0][1] == [0xB0, 123, 0]  # All Notes Off first: a restart cleans up


def test_an_ambiguous_port_is_one_line_listing_the_candidates(jack):
    a, b = Synth("amb one"), Synth("amb two")
    try:
        done = subprocess.run(
            [sys.executable, "-m", "jazzd", "--midi-api", "jack", "--model", "seed-metheny", "--port", "amb"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    finally:
        a.close()
        b.close()
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if "error" in line]
    assert len(errors) == 1
    assert "matches several ports" in errors[0] and "amb one" in errors[0] and "amb two" in errors[0]
