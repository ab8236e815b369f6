"""Stop means silence, over a real JACK stack, judged at the rig's synth: signals to the whole
process group (systemd's stop, a terminal's Ctrl-C), the helper processes under signals, the
user's other patches, the JACK server going away and coming back, and a reload mid-tune."""

import os
import random
import signal
import subprocess
import threading
import time

import jack
import pytest
from jackrig import judge, start_jazzd

from jazzd.live.helpers import spawn
from jazzd.measure.rig import Rig, hanging, is_note_on, start_jack
from jazzd.music.midi import ALL_NOTES_OFF, CONTROL_CHANGE


def jack_client(name: str) -> jack.Client:
    """A JACK client of the test's own for graph changes only (it processes no MIDI); a context
    manager, activated inside."""
    return jack.Client(name, no_start_server=True)


def writer_port() -> str:
    """jazzd's JACK output port (its writer process's), as the graph names it."""
    with jack_client("finder") as client:
        ports = client.get_ports("jazzd-out", is_midi=True, is_output=True)
        assert len(ports) == 1, ports
        return ports[0].name


def test_signals_to_the_whole_group_leave_nothing_sounding(rig, tmp_path):
    """What systemd's stop and a terminal's Ctrl-C do: TERM or INT to jazzd and its reader and
    writer at once, mid-note (90 bpm: long notes), 6 TERM and 3 INT."""
    rng = random.Random(22)
    keys, notes = rig.keys("grp-keys"), 0
    for run, signum in enumerate([signal.SIGTERM] * 6 + [signal.SIGINT] * 3):
        synth = rig.synth(f"grp-synth-{run}")  # a synth a run: each judged on its own
        proc = start_jazzd("--port", synth.port, "--input", "grp-keys", "--bpm", "90", tmp=tmp_path)
        proc.wait_for("input port")
        time.sleep(rng.uniform(0.4, 1.4))
        helpers = [pid for pid in proc.group() if pid != proc.pid]
        assert len(helpers) == 2, helpers  # the writer and the reader
        code, took = proc.stop(signum, group=True)
        time.sleep(0.2)
        log = "".join(proc.log)
        assert code == 0 and took < 1.0, log
        assert "Traceback" not in log and "KeyboardInterrupt" not in log, log
        assert proc.group() == []  # the helpers ended with it
        assert hanging(e.data for e in synth.received) == set()
        judge(proc, synth)
        notes += len(synth.notes_on())
        synth.unplug()
    assert notes > 20
    keys.close()


def test_a_helper_lives_through_signals_until_its_pipe_closes(rig):
    """A signal landing while the helper's interpreter starts, or later, does not end it."""
    keys = rig.keys("sig-helper-keys")
    reader = spawn("jazzd.live.reader", "jack", keys.port, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        os.kill(reader.pid, signum)  # while it starts
    assert reader.stdout.readline() == b"ok\n"
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        os.kill(reader.pid, signum)
    time.sleep(0.3)
    assert reader.poll() is None
    began = time.perf_counter()
    reader.stdin.close()
    assert reader.wait(timeout=2) == 0 and time.perf_counter() - began < 0.5


def test_an_extra_destination_patched_and_unpatched_changes_nothing(rig, tmp_path):
    synth, monitor = rig.synth("main-synth"), rig.synth("monitor")
    proc = start_jazzd("--port", "main-synth", "--bpm", "200", tmp=tmp_path)
    try:
        proc.wait_for("output port")
        time.sleep(0.5)
        with jack_client("patcher") as patcher:
            ours = writer_port()
            patcher.connect(ours, monitor.port)
            time.sleep(1.0)
            patcher.disconnect(ours, monitor.port)
        unpatched = time.perf_counter()
        time.sleep(1.5)
    finally:
        code, _ = proc.stop()
        time.sleep(0.2)
    log = "".join(proc.log)
    assert code == 0 and "vanished" not in log and "reconnecting" not in log, log
    assert len(monitor.notes_on()) > 3
    assert len(synth.notes_on(after=unpatched)) > 5  # the line went on where it was going
    judge(proc, synth)


def test_the_users_patches_come_back_after_the_synth_returns(rig, tmp_path):
    synth, monitor = rig.synth("usb-synth"), rig.synth("recorder")
    proc = start_jazzd("--port", "usb-synth", "--bpm", "200", tmp=tmp_path)
    try:
        proc.wait_for("output port")
        with jack_client("patcher") as patcher:
            patcher.connect(writer_port(), monitor.port)
        time.sleep(0.8)
        synth.unplug()
        proc.wait_for("vanished")
        time.sleep(0.8)
        synth.plug()
        proc.wait_for("output port back")
        back = time.perf_counter()
        with jack_client("looker") as looker:
            connected = [p.name for p in looker.get_all_connections(writer_port())]
        time.sleep(1.0)
    finally:
        code, _ = proc.stop()
        time.sleep(0.2)
    assert code == 0
    assert sorted(connected) == sorted([synth.port, monitor.port])
    assert len(monitor.notes_on(after=back)) > 3
    assert hanging(e.data for e in monitor.received) == set()


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


@pytest.mark.slow
def test_the_jack_server_killed_and_started_again(jack, tmp_path, monkeypatch):
    """jackd dies (SIGKILL) under jazzd and comes back: jazzd waits with flat memory, then plays
    again within 6 s of the server's return, All Notes Off first, nothing left sounding."""
    name = f"jazzd-restart-{os.getpid()}"
    monkeypatch.setenv("JACK_DEFAULT_SERVER", name)
    server = start_jack(name)
    rig = Rig("restart-rig")
    rig.synth("srv-synth")
    proc = start_jazzd("--port", "srv-synth", "--bpm", "200", tmp=tmp_path)
    try:
        proc.wait_for("output port")
        time.sleep(1.0)
        server.kill()
        server.wait()
        rig._proc.kill()
        proc.wait_for("JACK server shut down")
        time.sleep(1.0)
        rss = []
        for _ in range(8):
            rss.append(sum(rss_kb(pid) for pid in proc.group()))
            time.sleep(0.5)
        server = start_jack(name)
        back = time.perf_counter()
        rig = Rig("restart-rig")
        synth = rig.synth("srv-synth")
        proc.wait_for("output port back", timeout=10)
        deadline = time.perf_counter() + 6.0
        while not synth.notes_on() and time.perf_counter() < deadline:
            time.sleep(0.05)
        first = synth.notes_on()[0].t - back if synth.notes_on() else None
        time.sleep(0.5)
        code, _ = proc.stop()
        time.sleep(0.2)
        print(f"server back → first note {first} s; RSS of jazzd's tree while waiting (kB): {rss}")
        assert code == 0, "".join(proc.log)
        assert first is not None and first < 6.0, "".join(proc.log)
        assert synth.received[0].data == [CONTROL_CHANGE, ALL_NOTES_OFF, 0]
        assert hanging(e.data for e in synth.received) == set()
        assert max(rss) - min(rss) < 1024, rss  # kB: flat while the server is away
        waits = [line for line in proc.log if "waiting" in line]  # one line a reason, not a retry
        assert len(waits) == 2 and "JACK" in waits[0] and "srv-synth" in waits[1], waits
    finally:
        if proc.poll() is None:
            proc.kill()
        rig.close()
        server.terminate()
        server.wait(timeout=5)


def test_a_reload_mid_tune_goes_on_in_the_form(rig, tmp_path):
    """SIGHUP in the second chorus: no second count-in, the line goes on at the next bar line
    where the band is, and the clock out says where (Song Position, Continue)."""
    chart = tmp_path / "blues.toml"
    chart.write_text("title = 'Blues'\ntempo = 240\n[sections]\nA = '| F7 | Bb7 | F7 | C7 |'\n")
    config = tmp_path / "j.toml"
    config.write_text(
        '[midi]\nport = "form-synth"\napi = "jack"\n[solo]\nmodel = "seed-metheny"\n'
        f'[tune]\nname = "{chart}"\ncount_in = 1\n[clock]\nout = true\n'
    )
    synth = rig.synth("form-synth")
    proc = start_jazzd("--config", str(config), tmp=tmp_path)
    try:
        proc.wait_for("output port")
        time.sleep(5.5)  # the count-in bar and four bars at 240 bpm: the second chorus
        proc.send_signal(signal.SIGHUP)
        line = proc.wait_for("going on at bar")
        time.sleep(1.5)
    finally:
        code, _ = proc.stop()
        time.sleep(0.2)
    assert code == 0
    bar = int(line.split("going on at bar")[1].split()[0])
    assert bar >= 5, line  # where the band is, not bar 1 again
    assert any("(kept open)" in entry for entry in proc.log)  # the same port: no reconnect
    arrived = [e.data for e in synth.received]
    assert sum(1 for d in arrived if d[0] == 0x99 and is_note_on(d)) == 4  # one count-in only
    positions = [d for d in arrived if d[0] == 0xF2]
    assert len(positions) == 2 and positions[1][1] + 128 * positions[1][2] == (bar - 1) * 16
    assert [d for d in arrived if d[0] in (0xFA, 0xFB)] == [[0xFA], [0xFB]]  # Start, then Continue
    judge(proc, synth)


def test_all_notes_off_on_opening_reaches_every_channel_jazzd_may_have_used(rig, tmp_path):
    synth = rig.synth("aoff-synth")
    proc = start_jazzd("--port", "aoff-synth", "--channel", "3", "--bpm", "200", tmp=tmp_path)
    try:
        proc.wait_for("output port")
        time.sleep(0.5)
    finally:
        proc.stop()
    first = [e.data for e in synth.received[:2]]
    assert first == [
        [CONTROL_CHANGE | 2, ALL_NOTES_OFF, 0],
        [CONTROL_CHANGE | 9, ALL_NOTES_OFF, 0],
    ]  # the solo's, the count-in's


def test_a_flood_never_blocks_jack_on_the_readers_console(rig):
    """rtmidi prints a line from JACK's real-time thread for each message its full queue drops.
    Here the reader's stderr is a pipe nobody reads, and its stdout is not read during a
    50,000-message flood (a stalled player): the graph keeps running, and the reader counts the
    drops and says so in one line once it can."""
    keys = rig.keys("console-keys")
    reader = spawn(
        "jazzd.live.reader",
        "jack",
        keys.port,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert reader.stdout.readline() == b"ok\n"
    xruns = len(rig.xruns())
    first = rig.frame() + rig.rate
    keys.schedule([(first + i * rig.rate // 10_000, [0x90, 60 + i % 24, 64]) for i in range(50_000)])
    time.sleep(max(0.0, (first - rig.frame()) / rig.rate) + 6.0)
    xruns = len(rig.xruns()) - xruns
    forwarded = []
    threading.Thread(target=lambda: forwarded.append(reader.stdout.read()), daemon=True).start()
    time.sleep(2.0)  # the reader catches up and reports
    reader.stdin.close()
    assert reader.wait(timeout=5) == 0
    said = reader.stderr.read().decode()
    assert xruns < 100, xruns  # (a blocked callback: one xrun a period, thousands)
    lines = [line for line in said.splitlines() if "dropped" in line]
    assert len(lines) >= 1 and "queue limit" not in said, said[-2000:]
    dropped = sum(int(line.split("reader: ")[1].split()[0]) for line in lines)
    assert 0 < dropped < 50_000 and len(forwarded[0]) > 0
