"""End to end over a real MIDI stack: a JACK server (dummy driver) started here, `jazzd` run as
a real process against it, a keyboard and a synth played and heard from this test process."""

import signal
import subprocess
import sys
import threading
import time

from jackrig import Keys, Synth, start_jazzd, stop, wait_for

from jazzd.chords import parse_chord

BPM = 200


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


def test_no_midi_system_is_one_line(tmp_path):
    """No JACK server (or no ALSA sequencer): one error line saying what to check, exit 1."""
    env = {**__import__("os").environ, "JACK_DEFAULT_SERVER": "no-such-server", "JACK_NO_START_SERVER": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "jazzd", "ports", "--midi-api", "jack"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    errors = [line for line in done.stderr.splitlines() if line.startswith("jazzd:")]
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert (
        errors == [errors[0]] and "cannot use JACK MIDI" in errors[0] and "JACK server running" in errors[0]
    )
