"""Test-side MIDI devices on JACK, and running `jazzd` as a real process."""

import os
import queue
import signal
import subprocess
import sys
import threading
import time

import pytest
import rtmidi


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
    """jazzd as a real process on JACK; its log lines are read by a thread into `proc.lines`."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
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
    proc.lines = queue.Queue()

    def read():
        for line in proc.stderr:
            proc.lines.put(line)
        proc.lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    return proc


def wait_for(proc, text, timeout=20.0):
    """Wait for a log line containing `text`; returns the lines read until then."""
    lines = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = proc.lines.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line is None:
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
    return code, took
