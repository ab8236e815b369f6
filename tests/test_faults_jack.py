"""Faults over a real JACK stack: the synth's port vanishing and returning, the keyboard's port
vanishing, a MIDI clock that stops mid-note, garbage on the input, and a killed player restarted.
Nothing may hang: the receiver's notes are replayed in order (All Notes Off clears them)."""

import itertools
import random
import signal
import threading
import time

from builders import load_bench
from jackrig import Keys, Synth, start_jazzd, stop, wait_for


def hanging(received):
    """Notes still sounding on the receiver after everything it got, in order."""
    sounding = set()
    for _, m in received:
        kind = m[0] & 0xF0
        if kind == 0x90 and m[2] > 0:
            sounding.add(m[1])
        elif kind == 0x80 or (kind == 0x90 and m[2] == 0):
            sounding.discard(m[1])
        elif kind == 0xB0 and m[1] == 123:
            sounding.clear()
    return sounding


class Flaky:
    """A synth port that can be unplugged and plugged again; one record across incarnations."""

    def __init__(self, name):
        self.name = name
        self.received = []
        self.port = None
        self.plug()

    def plug(self):
        self.port = Synth(self.name)
        self.port.received = self.received
        self.plugged_at = time.perf_counter()

    def unplug(self):
        self.port.close()
        self.port = None


def test_synth_unplugged_and_replugged_at_random_moments(jack):
    rng = random.Random(11)
    synth = Flaky("flaky")
    proc = start_jazzd("--port", "flaky", "--bpm", "220")
    reconnects = []
    try:
        wait_for(proc, "output port")
        for _ in range(3):
            time.sleep(rng.uniform(0.6, 1.6))  # mid-phrase
            synth.unplug()
            wait_for(proc, "vanished")
            time.sleep(rng.uniform(1.2, 2.0))  # a USB synth takes a second to come back
            before = len(synth.received)
            synth.plug()
            wait_for(proc, "output port back")
            first = next(t for t, _ in synth.received[before:]) if len(synth.received) > before else None
            if first is None:
                time.sleep(0.3)
                first = synth.received[before][0]
            reconnects.append((first - synth.plugged_at, synth.received[before][1]))
        time.sleep(1.0)
    finally:
        code, _ = stop(proc)
        time.sleep(0.2)
        if synth.port:
            synth.unplug()
    assert code == 0
    assert all(delay < 2.0 for delay, _ in reconnects), reconnects
    assert all(first == [0xB0, 123, 0] for _, first in reconnects)  # All Notes Off before playing on
    assert hanging(synth.received) == set()
    assert sum(1 for _, m in synth.received if m[0] & 0xF0 == 0x90 and m[2]) > 20


def test_keyboard_unplugged_keeps_the_chord_and_comes_back(jack):
    synth, keys = Synth("kb-synth"), Keys("kb-keys")
    proc = start_jazzd("--port", "kb-synth", "--input", "kb-keys", "--bpm", "220", "--chords", "| C7 |")
    try:
        wait_for(proc, "input port")
        keys.chord([42, 46, 49, 52])
        keys.chord([42, 46, 49, 52], on=False)
        time.sleep(0.5)
        keys.close()
        wait_for(proc, "input port 'e2e-kb-keys:kb-keys' vanished")
        time.sleep(0.8)
        keys = Keys("kb-keys")
        wait_for(proc, "input port back")
        time.sleep(0.5)
    finally:
        code, _ = stop(proc)
        time.sleep(0.2)
        synth.close()
        keys.close()
    assert code == 0 and hanging(synth.received) == set() and len(synth.notes_on()) > 10


def test_clock_that_stops_mid_note_silences_and_garbage_is_ignored(jack):
    synth, keys = Synth("clk-synth"), Keys("clk-keys")
    proc = start_jazzd("--port", "clk-synth", "--input", "clk-keys", "--clock", "midi")
    period = 60 / 180 / 24
    try:
        wait_for(proc, "input port")
        keys.send(0xFA)
        rng = random.Random(5)
        next_tick = time.perf_counter()
        for i in range(24 * 8):
            keys.send(0xF8)
            if i % 3 == 0:  # garbage between the ticks: stray data bytes, half messages, sysex
                status = rng.choice([0x80, 0x90, 0xA0, 0xB0, 0xC0, 0xE0]) | rng.randrange(16)
                keys.send(status, *[rng.randrange(256) for _ in range(rng.randint(0, 1))])  # cut short
                keys.send(0xF0, 0x7D, *[rng.randrange(128) for _ in range(20)], 0xF7)
            next_tick += period
            time.sleep(max(0.0, next_tick - time.perf_counter()))
        last_tick = time.perf_counter()  # the clock source dies: no Stop
        wait_for(proc, "MIDI clock lost")
        time.sleep(0.3)
    finally:
        code, _ = stop(proc)
        time.sleep(0.2)
        synth.close()
        keys.close()
    assert code == 0
    assert len(synth.notes_on()) > 10
    assert not synth.notes_on(after=last_tick + 0.05)
    silenced = [t for t, m in synth.received if m == [0xB0, 123, 0] and t > last_tick]
    assert silenced and silenced[0] - last_tick < 0.25
    assert hanging(synth.received) == set()


def test_killed_player_restarted_cleans_up(jack):
    synth = Synth("kill-synth")
    proc = start_jazzd("--port", "kill-synth", "--bpm", "240")
    wait_for(proc, "output port")
    time.sleep(1.2)
    proc.send_signal(signal.SIGKILL)  # no chance to clean up: notes may hang ...
    proc.wait()
    restarted = start_jazzd("--port", "kill-synth", "--bpm", "240")  # ... until the supervisor restarts it
    wait_for(restarted, "output port")
    time.sleep(0.8)
    code, _ = stop(restarted)
    time.sleep(0.2)
    synth.close()
    assert code == 0 and hanging(synth.received) == set()


def test_signals_at_random_moments(jack):
    rng = random.Random(3)
    synth = Synth("sig-synth")
    tried = 0
    for _ in range(4):
        proc = start_jazzd("--port", "sig-synth", "--bpm", "260")
        wait_for(proc, "output port")
        for _ in range(rng.randint(0, 2)):
            time.sleep(rng.uniform(0.1, 0.8))
            proc.send_signal(signal.SIGHUP)
            wait_for(proc, "output port")
            tried += 1
        time.sleep(rng.uniform(0.05, 0.9))
        code, took = stop(proc, rng.choice([signal.SIGTERM, signal.SIGINT]))
        tried += 1
        assert code == 0 and took < 1.0
        time.sleep(0.1)
        assert hanging(synth.received) == set()
    synth.close()
    assert tried >= 4


def test_input_flood_keeps_time(jack):
    """10,000 messages a second on the input while playing: the player keeps up, nothing hangs."""
    synth, keys = Synth("flood-synth"), Keys("flood-keys")
    proc = start_jazzd("--port", "flood-synth", "--input", "flood-keys", "--bpm", "200")
    stop_flood = threading.Event()
    flood = load_bench("soak").flood  # the same flood as the long soak's

    try:
        wait_for(proc, "input port")
        flooder = threading.Thread(target=flood, args=(keys._out, stop_flood))
        flooder.start()
        time.sleep(4.0)
        stop_flood.set()
        flooder.join()
    finally:
        code, took = stop(proc)
        time.sleep(0.2)
        synth.close()
        keys.close()
    assert code == 0 and took < 1.0
    ons = [t for t, _ in synth.notes_on()]
    assert len(ons) > 15
    gaps = [b - a for a, b in itertools.pairwise(ons)]
    assert max(gaps) < 1.6  # no stall longer than a rest could explain (4 beats at 200 bpm = 1.2 s)
    assert hanging(synth.received) == set()


def test_synth_and_keyboard_unplugged_together(jack):
    synth, keys = Flaky("both-synth"), Keys("both-keys")
    proc = start_jazzd("--port", "both-synth", "--input", "both-keys", "--bpm", "220")
    try:
        wait_for(proc, "input port")
        time.sleep(0.9)
        synth.unplug()
        keys.close()
        wait_for(proc, "vanished")
        time.sleep(1.5)
        keys = Keys("both-keys")
        before = len(synth.received)
        synth.plug()
        wait_for(proc, "output port back")
        wait_for(proc, "input port back")
        keys.chord([42, 46, 49, 52])
        time.sleep(1.0)
    finally:
        code, _ = stop(proc)
        time.sleep(0.2)
        synth.unplug()
        keys.close()
    assert code == 0
    assert synth.received[before][1] == [0xB0, 123, 0]
    assert sum(1 for _, m in synth.received[before:] if m[0] & 0xF0 == 0x90 and m[2]) > 3
    assert hanging(synth.received) == set()
