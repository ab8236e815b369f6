"""Faults over a real JACK stack: the synth's port vanishing and returning, the keyboard's port
vanishing, a MIDI clock that stops mid-note, garbage on the input, and a killed player restarted.
Nothing may hang: the receiver's notes are replayed in order (All Notes Off clears them)."""

import itertools
import random
import signal
import time

from jackrig import judge, start_jazzd

from jazzd.measure.rig import hanging
from jazzd.music.midi import ALL_NOTES_OFF, CONTROL_CHANGE


def test_synth_unplugged_and_replugged_at_random_moments(rig, tmp_path):
    rng = random.Random(11)
    synth = rig.synth("flaky")
    proc = start_jazzd("--port", "flaky", "--bpm", "220", tmp=tmp_path)
    reconnects = []
    try:
        proc.wait_for("output port")
        for _ in range(3):
            time.sleep(rng.uniform(0.6, 1.6))  # mid-phrase
            synth.unplug()
            proc.wait_for("vanished")
            time.sleep(rng.uniform(1.2, 2.0))  # a USB synth takes a second to come back
            before = len(synth.received)
            synth.plug()
            proc.wait_for("output port back")
            time.sleep(0.3)
            first = synth.received[before]
            reconnects.append((first.t - synth.plugged_at, first.data))
        time.sleep(1.0)
    finally:
        code, _ = proc.stop()
        time.sleep(0.2)
    judge(proc, synth, exact=False)
    assert code == 0
    assert all(delay < 2.0 for delay, _ in reconnects), reconnects
    assert all(first == [CONTROL_CHANGE, ALL_NOTES_OFF, 0] for _, first in reconnects)  # All Notes Off first
    assert len(synth.notes_on()) > 20


def test_keyboard_unplugged_keeps_the_chord_and_comes_back(rig, tmp_path):
    synth, keys = rig.synth("kb-synth"), rig.keys("kb-keys")
    proc = start_jazzd(
        "--port", "kb-synth", "--input", "kb-keys", "--bpm", "220", "--chords", "| C7 |", tmp=tmp_path
    )
    try:
        proc.wait_for("input port")
        keys.chord([42, 46, 49, 52])
        keys.chord([42, 46, 49, 52], on=False)
        time.sleep(0.5)
        keys.close()
        proc.wait_for(f"input port {keys.port!r} vanished")
        time.sleep(0.8)
        keys = rig.keys("kb-keys")
        proc.wait_for("input port back")
        time.sleep(0.5)
    finally:
        code, _ = proc.stop()
        time.sleep(0.2)
    judge(proc, synth)
    assert code == 0 and len(synth.notes_on()) > 10


def test_clock_that_stops_mid_note_silences_and_garbage_is_ignored(rig, tmp_path):
    synth, keys = rig.synth("clk-synth"), rig.keys("clk-keys")
    proc = start_jazzd("--port", "clk-synth", "--input", "clk-keys", "--clock", "midi", tmp=tmp_path)
    per_tick = rig.rate * 60 / 180 / 24
    try:
        proc.wait_for("input port")
        rng = random.Random(5)
        first = rig.frame() + rig.rate // 5
        events = [(first - 48, [0xFA])]
        for i in range(24 * 8):
            at = first + round(i * per_tick)
            events.append((at, [0xF8]))
            if i % 3 == 0:  # garbage between the ticks: stray data bytes, half messages, sysex
                status = rng.choice([0x80, 0x90, 0xA0, 0xB0, 0xC0, 0xE0]) | rng.randrange(16)
                events.append((at + 100, [status, *[rng.randrange(256) for _ in range(rng.randint(0, 1))]]))
                events.append((at + 200, [0xF0, 0x7D, *[rng.randrange(128) for _ in range(20)], 0xF7]))
        keys.schedule(events)  # then the clock source dies: no Stop
        last_tick = first + round((24 * 8 - 1) * per_tick)
        proc.wait_for("MIDI clock lost")
        time.sleep(0.3)
    finally:
        code, _ = proc.stop()
        time.sleep(0.2)
    judge(proc, synth)
    assert code == 0
    ons = [e.frame for e in synth.notes_on()]
    assert len(ons) > 10
    assert not [f for f in ons if f > last_tick + 0.05 * rig.rate]
    silenced = [
        e.frame
        for e in synth.received
        if e.data == [CONTROL_CHANGE, ALL_NOTES_OFF, 0] and e.frame > last_tick
    ]
    assert silenced and silenced[0] - last_tick < 0.25 * rig.rate


def test_killed_player_restarted_cleans_up(rig, tmp_path):
    synth = rig.synth("kill-synth")
    proc = start_jazzd("--port", "kill-synth", "--bpm", "240", tmp=tmp_path)
    proc.wait_for("output port")
    time.sleep(1.2)
    proc.send_signal(signal.SIGKILL)  # no chance to clean up: notes may hang ...
    proc.wait()
    restarted = start_jazzd("--port", "kill-synth", "--bpm", "240", tmp=tmp_path)  # ... until restarted
    restarted.wait_for("output port")
    time.sleep(0.8)
    code, _ = restarted.stop()
    time.sleep(0.2)
    assert code == 0 and hanging(e.data for e in synth.received) == set()


def test_signals_at_random_moments(rig, tmp_path):
    rng = random.Random(3)
    synth = rig.synth("sig-synth")
    tried = 0
    for _ in range(4):
        proc = start_jazzd("--port", "sig-synth", "--bpm", "260", tmp=tmp_path)
        proc.wait_for("output port")
        for _ in range(rng.randint(0, 2)):
            time.sleep(rng.uniform(0.1, 0.8))
            proc.send_signal(signal.SIGHUP)
            proc.wait_for("output port")
            tried += 1
        time.sleep(rng.uniform(0.05, 0.9))
        code, took = proc.stop(rng.choice([signal.SIGTERM, signal.SIGINT]), group=rng.random() < 0.5)
        tried += 1
        assert code == 0 and took < 1.0
        time.sleep(0.1)
        assert hanging(e.data for e in synth.received) == set()
    assert tried >= 4


def test_input_flood_keeps_time(rig, tmp_path):
    """10,000 messages a second on the input while playing: the player keeps up, nothing hangs."""
    synth, keys = rig.synth("flood-synth"), rig.keys("flood-keys")
    proc = start_jazzd("--port", "flood-synth", "--input", "flood-keys", "--bpm", "200", tmp=tmp_path)
    rng = random.Random(1)
    try:
        proc.wait_for("input port")
        first = rig.frame() + rig.rate // 5
        events = []
        for i in range(30_000):  # 3 s of random channel messages, not on the control numbers
            kind = rng.choice([0x90, 0x80, 0xB0, 0xE0, 0xA0])
            low = 60 if kind in (0x90, 0x80) else 76
            events.append(
                (first + i * rig.rate // 10_000, [kind, rng.randrange(low, 128), rng.randrange(128)])
            )
        keys.schedule(events)
        time.sleep(4.0)
    finally:
        code, took = proc.stop()
        time.sleep(0.2)
    judge(proc, synth)
    assert code == 0 and took < 1.0
    ons = [e.t for e in synth.notes_on()]
    assert len(ons) > 15
    gaps = [b - a for a, b in itertools.pairwise(ons)]
    assert max(gaps) < 1.6  # no stall longer than a rest could explain (4 beats at 200 bpm = 1.2 s)


def test_synth_and_keyboard_unplugged_together(rig, tmp_path):
    synth, keys = rig.synth("both-synth"), rig.keys("both-keys")
    proc = start_jazzd("--port", "both-synth", "--input", "both-keys", "--bpm", "220", tmp=tmp_path)
    try:
        proc.wait_for("input port")
        time.sleep(0.9)
        synth.unplug()
        keys.close()
        proc.wait_for("vanished")
        time.sleep(1.5)
        keys = rig.keys("both-keys")
        before = len(synth.received)
        synth.plug()
        proc.wait_for("output port back")
        proc.wait_for("input port back")
        keys.chord([42, 46, 49, 52])
        time.sleep(1.0)
    finally:
        code, _ = proc.stop()
        time.sleep(0.2)
    judge(proc, synth, exact=False)
    assert code == 0
    assert synth.received[before].data == [CONTROL_CHANGE, ALL_NOTES_OFF, 0]
    assert sum(1 for e in synth.received[before:] if e.data[0] & 0xF0 == 0x90 and e.data[2]) > 3
