"""End to end over a real MIDI stack: a JACK server (dummy driver) started here, `jazzd` run as
a real process against it, and the rig (a JACK client process that does nothing else) as the
synth and the keyboard. Every test holds what arrived against what jazzd says it sent."""

import itertools
import signal
import statistics
import subprocess
import sys
import time

import mido
from jackrig import delivered, judge, start_jazzd

from jazzd.measure.rig import away_from_xruns, grid_offsets, mixed_input
from jazzd.music.chords import parse_chord
from jazzd.music.midi import ALL_NOTES_OFF, CLOCK, CONTROL_CHANGE

BPM = 200


def in_scale(chord, pitches):
    return sum(chord.note_type(p) in "CS" for p in pitches) / max(1, len(pitches))


def test_plays_over_the_keyboard_chord_and_stops_clean(rig, tmp_path):
    synth, keys = rig.synth("synth"), rig.keys("keys")
    proc = start_jazzd(
        "--port", "synth", "--input", "keys", "--bpm", str(BPM), "--chords", "| C7 |", tmp=tmp_path
    )
    try:
        proc.wait_for("input port")
        time.sleep(1.5)
        changed = time.perf_counter()
        keys.chord([42, 46, 49, 52])  # F#7, a tritone from the progression's C7
        keys.chord([42, 46, 49, 52], on=False)  # released: the chord stays in force
        time.sleep(3.0)
    finally:
        code, took = proc.stop()
        time.sleep(0.2)
    errors = judge(proc, synth)
    after = [e.data[1] for e in synth.notes_on(after=changed + 0.02)]
    before = [e.data[1] for e in synth.received if e.t < changed and e.data[0] & 0xF0 == 0x90 and e.data[2]]
    assert len(before) >= 5 and len(after) >= 10
    fs7, c7 = parse_chord("F#7"), parse_chord("C7")
    assert in_scale(fs7, after) > in_scale(c7, after) + 0.2
    assert in_scale(c7, before) > in_scale(fs7, before) + 0.2
    assert code == 0 and took < 1.0
    assert synth.received[-1].data[1:] == [ALL_NOTES_OFF, 0]  # All Notes Off last
    assert not errors or (statistics.median(errors) < 0.005 and max(errors) < 0.020)  # the figures: bench


def test_the_live_line_starts_on_the_bar_as_rendered(rig, tmp_path):
    """Same seed, progression and tempo: the pitches heard are `jazzd render`'s, from beat 0."""
    synth = rig.synth("synth")
    chords, seed = "| Dm7 G7 | Cmaj7 | Em7 A7 | Dm7 G7 |", "7"
    rendered = tmp_path / "solo.mid"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "jazzd",
            "render",
            "--bars",
            "9",
            "--chords",
            chords,
            "--bpm",
            str(BPM),
            "--model",
            "seed-metheny",
            "--seed",
            seed,
            "-o",
            str(rendered),
        ],
        check=True,
        capture_output=True,
    )
    track = mido.MidiFile(rendered).tracks[1]
    pitches, at = [], 0
    for message in track:
        at += message.time
        if message.type == "note_on" and message.velocity and at < 8 * 4 * 480:
            pitches.append((at / 480, message.note))
    proc = start_jazzd("--port", "synth", "--bpm", str(BPM), "--chords", chords, "--seed", seed, tmp=tmp_path)
    try:
        proc.wait_for("output port")
        time.sleep(8 * 4 * 60 / BPM + 1.0)
    finally:
        proc.stop()
    judge(proc, synth)
    ons = [s for s in proc.logged() if s.due is not None and s.data[0] & 0xF0 == 0x90 and s.data[2]]
    first_due = ons[0].due - pitches[0][0] * 60 / BPM  # beat 0
    assert [s.data[1] for s in ons[: len(pitches)]] == [p for _, p in pitches]
    beats = [(s.due - first_due) * BPM / 60 for s in ons[: len(pitches)]]
    assert max(abs(b - beat) for b, (beat, _) in zip(beats, pitches, strict=True)) < 0.01


def follow_a_clock(rig, tmp_path, attempt: int):
    """jazzd following 16 beats of the rig's clock at 150 bpm (1% of ticks dropped)."""
    synth, keys = rig.synth(f"synth{attempt}"), rig.keys(f"keys{attempt}")
    proc = start_jazzd("--port", synth.port, "--input", keys.port, "--clock", "midi", tmp=tmp_path)
    try:
        proc.wait_for("input port")
        time.sleep(0.3)
        grid = keys.clock(150, beats=16, drop=0.01, seed=4)
        time.sleep(16 * 60 / 150 + 1.0)
    finally:
        code, _ = proc.stop()
        time.sleep(0.2)
    return proc, synth, grid, code


def stalled(proc, grid: dict, rate: int) -> bool:
    """The master's ticks reached jazzd with gaps that do not add up to the ticks the rig
    dropped: the dummy server stalled (its frames fell behind the wall clock) without the rig
    counting an xrun. Seen once in 40 runs, a 16 ms step: to jazzd exactly a lost tick, which
    it counted as one, leaving the line a tick off the master's frames."""
    period = grid["per_tick"] / rate
    ticks = [entry.t for entry in proc.logged("in") if entry.data == [CLOCK]]
    gaps = sum(round((b - a) / period) - 1 for a, b in itertools.pairwise(ticks))
    return gaps != grid["dropped"]


def test_follows_midi_clock_on_the_masters_grid_and_stop_silences(rig, tmp_path):
    """Judged in frames where they kept pace with the wall clock (away from JACK xruns); a run
    an xrun storm left with too few onsets to judge, or a stall the rig did not count, is the
    machine's, and is run again (four times at most: this VM's storms have lasted half a
    minute)."""
    runs = 5
    for attempt in range(runs):
        xruns_before = len(rig.xruns())
        proc, synth, grid, code = follow_a_clock(rig, tmp_path, attempt)
        judge(proc, synth)
        ons = [e.frame for e in synth.notes_on()]
        calm = away_from_xruns(ons, rig.xruns()[xruns_before:], rig.rate)
        if len(calm) >= 10 and not stalled(proc, grid, rig.rate):
            break
    assert len(calm) >= 10, f"JACK xruns left {len(calm)} of {len(ons)} onsets to judge, {runs} runs"
    offsets = grid_offsets(calm, grid["first"], grid["per_tick"] * 2, rig.rate)
    assert sum(abs(o) <= 0.002 for o in offsets) / len(offsets) >= 0.9, sorted(offsets)
    assert not [f for f in ons if f > grid["stop"] + 0.003 * rig.rate]  # nothing starts after Stop
    silenced = [
        e.frame
        for e in synth.received
        if e.data == [CONTROL_CHANGE, ALL_NOTES_OFF, 0] and e.frame >= grid["stop"]
    ]
    assert silenced and silenced[0] - grid["stop"] < 0.02 * rig.rate
    assert code == 0


def test_every_input_message_is_handled_in_order_while_playing(rig, tmp_path):
    """Notes, CCs and clocks at 1,000 a second into jazzd while it plays: every one arrives."""
    synth, keys = rig.synth("synth"), rig.keys("keys")
    proc = start_jazzd("--port", "synth", "--input", "keys", "--bpm", str(BPM), tmp=tmp_path)
    try:
        proc.wait_for("input port")
        events = mixed_input(rig.frame() + rig.rate // 5, rig.rate // 1000, 3000)  # 3 s at 1,000/s
        keys.schedule(events)
        time.sleep(4.0)
    finally:
        code, _ = proc.stop()
    judge(proc, synth)
    delivered([data for _, data in events], [e.data for e in proc.logged("in")], rig)
    assert "0 unreadable" in next(line for line in proc.log if "input:" in line)
    assert code == 0


def test_sigint_also_exits_clean(rig, tmp_path):
    synth = rig.synth("synth")
    proc = start_jazzd("--port", "synth", "--bpm", "240", tmp=tmp_path)
    try:
        proc.wait_for("output port")
        time.sleep(1.5)
    finally:
        code, took = proc.stop(signal.SIGINT)
        time.sleep(0.2)
    judge(proc, synth)
    assert code == 0 and took < 1.0
    assert len(synth.notes_on()) >= 5


def test_waits_for_a_missing_port_then_plays(rig, tmp_path):
    proc = start_jazzd("--port", "late-synth", "--bpm", "240", tmp=tmp_path)
    try:
        line = proc.wait_for("waiting")
        assert "no output port matches 'late-synth'" in line
        synth = rig.synth("late-synth")
        proc.wait_for("output port: ")
        time.sleep(1.5)
    finally:
        code, _ = proc.stop()
        time.sleep(0.2)
    judge(proc, synth)
    assert code == 0 and len(synth.notes_on()) >= 5
    assert synth.received[0].data == [
        CONTROL_CHANGE,
        ALL_NOTES_OFF,
        0,
    ]  # All Notes Off first: a restart cleans up


def test_an_ambiguous_port_is_one_line_listing_the_candidates(rig):
    rig.synth("amb one")
    rig.synth("amb two")
    done = subprocess.run(
        [sys.executable, "-m", "jazzd", "--midi-api", "jack", "--model", "seed-metheny", "--port", "amb"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if "error" in line]
    assert len(errors) == 1
    assert "matches several ports" in errors[0] and "amb one" in errors[0] and "amb two" in errors[0]


def test_no_midi_system_is_one_line(tmp_path):
    """No JACK server (or no ALSA sequencer): one error line saying what to check, exit 1, and
    none of libjack's own lines ("Cannot connect to server socket ...")."""
    env = {**__import__("os").environ, "JACK_DEFAULT_SERVER": "no-such-server", "JACK_NO_START_SERVER": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "jazzd", "ports", "--midi-api", "jack"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    lines = done.stderr.splitlines()
    assert done.returncode == 1 and len(lines) == 1, done.stderr
    assert "cannot use JACK MIDI" in lines[0] and "JACK server running" in lines[0]


def test_a_missing_alsa_library_is_one_line_naming_the_package(tmp_path):
    """python-rtmidi's wheel links the system's libasound.so.2, absent on a minimal Debian."""
    fake = tmp_path / "rtmidi"
    fake.mkdir()
    (fake / "__init__.py").write_text(
        'raise ImportError("libasound.so.2: cannot open shared object file: No such file or directory")\n'
    )
    env = {**__import__("os").environ, "PYTHONPATH": str(tmp_path)}
    for argv in (["ports"], ["--port", "synth", "--model", "seed-metheny"]):
        done = subprocess.run(
            [sys.executable, "-m", "jazzd", *argv], capture_output=True, text=True, env=env, timeout=60
        )
        errors = [line for line in done.stderr.splitlines() if "error" in line]
        assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
        assert len(errors) == 1 and "libasound.so.2" in errors[0] and "apt install libasound2" in errors[0]


def test_a_tune_counted_in_played_for_its_choruses_and_ended_with_the_clock_out(rig, tmp_path):
    """The bandstand: a count-in on channel 10, two choruses, the last note on the final chord
    held to the bar line, and the MIDI clock (position, Start, 24 ticks a beat, Stop) on the
    same port; then jazzd exits 0 by itself."""
    synth = rig.synth("synth")
    chart = tmp_path / "short.toml"
    chart.write_text("title = 'Short'\ntempo = 240\n[sections]\nA = '| C7 | Dm7 G7 |'\n")
    proc = start_jazzd(
        "--port",
        "synth",
        "--tune",
        str(chart),
        "--choruses",
        "2",
        "--count-in",
        "1",
        "--clock-out",
        tmp=tmp_path,
    )
    code = proc.wait(timeout=30)
    time.sleep(0.2)
    assert code == 0 and any("the tune is over: 2 choruses played" in line for line in proc.log)
    judge(proc, synth)
    arrived = [e for e in synth.received if e.data[0] & 0xF0 != CONTROL_CHANGE]  # All Notes Off aside
    kinds = [e.data[0] for e in arrived]
    assert kinds[:2] == [0xF2, 0xFA] and kinds[-1] == 0xFC  # Song Position, Start ... Stop last
    ticks = [e for e in arrived if e.data == [0xF8]]
    assert len(ticks) == (1 + 4) * 4 * 24 or rig.xruns()  # a bar of count-in and four bars
    clicks = [e for e in arrived if e.data[0] == 0x99 and e.data[2]]
    solo = [e for e in arrived if e.data[0] == 0x90 and e.data[2]]
    assert len(clicks) == 4 and clicks[0].data[2] > clicks[1].data[2]  # beat one accented
    assert solo and max(c.frame for c in clicks) < solo[0].frame  # bar one comes after the count-in
    g7 = parse_chord("G7")
    assert g7.note_type(solo[-1].data[1]) == "C"  # the line lands on a chord tone of the final G7
    stop = arrived[-1].frame
    assert all(e.frame <= stop for e in arrived if e.data[0] & 0xF0 in (0x80, 0x90))  # notes end first
