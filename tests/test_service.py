"""Running as a systemd service: the unit verifies and is hardened, sd_notify messages arrive,
and SIGHUP reloads the configuration without leaving a note hanging."""

import itertools
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from builders import NotifySocket
from jackrig import judge, send_until_heard, start_jazzd

from jazzd.measure.rig import hanging

UNIT = Path(__file__).resolve().parents[1] / "systemd" / "jazzd.service"
INSTALLED = "/opt/jazzd/bin/jazzd"
WEB_DROP_IN = UNIT.parent / "jazzd-web.conf"


@pytest.fixture
def systemd_analyze():
    if shutil.which("systemd-analyze") is None:
        if os.environ.get("CI"):
            pytest.fail("systemd-analyze is missing in CI")
        pytest.skip("systemd-analyze is not installed")
    return shutil.which("systemd-analyze")


def test_unit_verifies_clean(systemd_analyze, tmp_path):
    unit = tmp_path / "jazzd.service"
    text = UNIT.read_text()
    if not Path(INSTALLED).exists():  # not installed here: point ExecStart at this environment's jazzd
        text = text.replace(INSTALLED, str(Path(sys.executable).parent / "jazzd"))
    unit.write_text(text)
    done = subprocess.run([systemd_analyze, "verify", str(unit)], capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr


def exposure(systemd_analyze, unit: Path) -> float:
    done = subprocess.run(
        [systemd_analyze, "security", "--offline=true", str(unit)], capture_output=True, text=True
    )
    level = re.search(r"Overall exposure level for jazzd\.service: ([0-9.]+)", done.stdout)
    assert level, done.stdout[-500:] + done.stderr
    return float(level.group(1))


def with_page(tmp_path: Path) -> Path:
    """The unit as systemd runs it with the page's drop-in (jazzd.service.d/web.conf): the
    drop-in's [Service] lines after the unit's own."""
    unit = UNIT.read_text()
    drop_in = WEB_DROP_IN.read_text().split("[Service]", 1)[1]
    at = unit.index("[Install]")
    merged = tmp_path / "jazzd.service"
    merged.write_text(unit[:at] + drop_in + "\n" + unit[at:])
    return merged


def test_unit_exposure_is_at_most_2(systemd_analyze):
    assert exposure(systemd_analyze, UNIT) <= 2.0


def test_with_the_page_on_the_unit_stays_at_most_2_and_reaches_private_networks_only(
    systemd_analyze, tmp_path
):
    merged = with_page(tmp_path)
    assert exposure(systemd_analyze, merged) <= 2.0
    text = merged.read_text()
    assert "PrivateNetwork=no" in text and "IPAddressDeny=any" in text
    assert "LoadCredential=web-token:/etc/jazzd/web-token" in text
    done = subprocess.run([systemd_analyze, "verify", str(merged)], capture_output=True, text=True)
    assert "web.conf" not in done.stderr and "Unknown" not in done.stderr, done.stderr


def test_unit_essentials():
    text = UNIT.read_text()
    for line in (
        "Type=notify",
        "WatchdogSec=",
        "Restart=on-failure",
        "RestartPreventExitStatus=78",
        "DynamicUser=yes",
        "PrivateNetwork=yes",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "KillMode=mixed",
    ):
        assert line in text


def test_ready_watchdog_stopping_arrive(rig, tmp_path, monkeypatch):
    notify = NotifySocket(tmp_path / "notify")
    monkeypatch.setenv("NOTIFY_SOCKET", notify.path)
    rig.synth("svc-synth")
    proc = start_jazzd("--port", "svc-synth", "--bpm", "240")
    try:
        notify.collect(3.0)
    finally:
        code, _ = proc.stop()
        notify.collect(0.5)
    states = notify.states()
    assert code == 0
    assert "READY=1" in states and states.index("READY=1") < states.index("WATCHDOG=1")
    assert states.count("WATCHDOG=1") >= 3  # every half second while the timing thread lives
    assert any(s.startswith("STATUS=playing at 240 bpm") for s in states)
    assert states[-1] == "STOPPING=1"


def test_sighup_reloads_without_leaving_notes_hanging(rig, tmp_path):
    config = tmp_path / "j.toml"
    config.write_text(
        '[midi]\nport = "hup-synth"\napi = "jack"\n[clock]\nbpm = 240\n[solo]\nmodel = "seed-metheny"\n'
    )
    synth = rig.synth("hup-synth")
    proc = start_jazzd("--config", str(config))
    try:
        proc.wait_for("output port")
        time.sleep(1.0)
        config.write_text(config.read_text().replace("bpm = 240", "bpm = 180"))
        proc.send_signal(signal.SIGHUP)
        proc.wait_for("configuration reloaded")
        proc.wait_for("output port")
        time.sleep(1.0)
        config.write_text(config.read_text().replace("bpm = 180", "bpm = 9000"))
        proc.send_signal(signal.SIGHUP)
        line = proc.wait_for("configuration not reloaded")
        assert "key 'clock.bpm' must be" in line
        proc.wait_for("output port")
        good = config.read_text().replace("bpm = 9000", "bpm = 200")
        for bad, said in [
            (good.replace("metheny", "methny"), "no model 'seed-methny'"),  # a misspelt model
            (good.replace('api = "jack"', 'api = "jack"\nchannel = 17'), "key 'midi.channel' must be"),
            (None, "cannot read the config"),  # unreadable: the file is gone
        ]:
            if bad is None:
                config.unlink()
            else:
                config.write_text(bad)
            proc.send_signal(signal.SIGHUP)  # plays on with the old settings
            line = proc.wait_for("configuration not reloaded")
            assert said in line, line
            proc.wait_for("output port")
        time.sleep(0.8)
        assert proc.poll() is None
    finally:
        code, _ = proc.stop()
        time.sleep(0.2)
    assert code == 0 and len(synth.notes_on()) >= 10
    assert hanging(e.data for e in synth.received) == set()


def test_the_watchdog_is_fed_while_jazzd_waits_for_the_synth(rig, tmp_path, monkeypatch):
    """A synth switched on after the Pi: with the unit's WatchdogSec=5, jazzd waits 6 s without a
    gap in its pings, and plays within 2 s of the port appearing."""
    notify = NotifySocket(tmp_path / "notify")
    monkeypatch.setenv("NOTIFY_SOCKET", notify.path)
    monkeypatch.setenv("WATCHDOG_USEC", "5000000")
    proc = start_jazzd("--port", "late-synth", "--bpm", "240", tmp=tmp_path)
    try:
        proc.wait_for("waiting")
        notify.collect(6.0)
        pings = [t for t, state in notify.messages if state == "WATCHDOG=1"]
        waiting = notify.states()
        synth = rig.synth("late-synth")
        time.sleep(2.5)
    finally:
        code, _ = proc.stop()
        time.sleep(0.2)
    assert waiting[0] == "READY=1" and any(s.startswith("STATUS=waiting for output port") for s in waiting)
    assert len(pings) >= 10 and max(b - a for a, b in itertools.pairwise(pings)) < 1.0
    ons = synth.notes_on()
    assert code == 0 and ons and ons[0].t - synth.plugged_at < 2.0


def test_hup_and_term_together_stop_it_and_every_note_ends(rig, tmp_path):
    """A TERM landing while a HUP's reload is under way is not erased by it."""
    synth = rig.synth("ht-synth")
    proc = start_jazzd("--port", "ht-synth", "--bpm", "240", tmp=tmp_path)
    proc.wait_for("output port")
    time.sleep(0.7)
    proc.send_signal(signal.SIGHUP)
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=10)
    time.sleep(0.2)
    assert code == 0 and "stopping on SIGTERM" in "".join(proc.log)
    judge(proc, synth)


def test_a_reload_keeps_a_pause_set_on_the_keyboard(rig, tmp_path):
    config = tmp_path / "j.toml"
    config.write_text(
        '[midi]\nport = "pause-synth"\ninput = "pause-keys"\napi = "jack"\n[clock]\nbpm = 240\n'
        '[solo]\nmodel = "seed-metheny"\n'
    )
    synth, keys = rig.synth("pause-synth"), rig.keys("pause-keys")
    proc = start_jazzd("--config", str(config), tmp=tmp_path)
    try:
        proc.wait_for("input port")
        time.sleep(0.8)
        send_until_heard(proc, keys, 0xB0, 74, 0)  # the start/stop switch: stop
        time.sleep(0.3)
        proc.send_signal(signal.SIGHUP)
        proc.wait_for("configuration reloaded")
        proc.wait_for("input port")
        reloaded = time.perf_counter()
        time.sleep(1.5)
        started = time.perf_counter()
        send_until_heard(proc, keys, 0xB0, 74, 127)  # start again
        time.sleep(1.0)
    finally:
        code, _ = proc.stop()
        time.sleep(0.2)
    assert code == 0 and not [e for e in synth.notes_on() if reloaded < e.t < started]
    assert synth.notes_on(after=started)
    judge(proc, synth)


def test_a_dying_timing_thread_exits_70_with_every_note_ended(rig):
    """In-process: the realizer raises on the timing thread; the player says so and exits with
    EX_SOFTWARE (systemd restarts it), after silencing the synth."""
    from jazzd.live.config import PlayOptions
    from jazzd.live.daemon import EX_SOFTWARE, Player
    from jazzd.live.service import Signals

    synth = rig.synth("die-synth")
    player = Player(PlayOptions(port=synth.port, midi_api="jack", model="seed-metheny", bpm=240))
    realize, calls = player.live.soloist.realize, itertools.count()

    def failing(token, chord, planned=None):
        if next(calls) == 8:
            raise RuntimeError("realizer bug")
        return realize(token, chord, planned)

    player.live.soloist.realize = failing
    assert player.run(Signals()) == EX_SOFTWARE
    player.close_ports()
    time.sleep(0.2)
    assert len(synth.notes_on()) >= 8 and hanging(e.data for e in synth.received) == set()


def test_a_notify_socket_nobody_reads_never_stalls_the_timing(rig, tmp_path, monkeypatch):
    """A full notify socket must not block the pings, nor the timing."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))  # bound, never read: its queue fills after a few pings
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
    synth = rig.synth("deaf-synth")
    proc = start_jazzd("--port", "deaf-synth", "--bpm", "240")
    try:
        proc.wait_for("output port")
        time.sleep(7.0)
    finally:
        code, took = proc.stop()
        time.sleep(0.2)
        sock.close()
    ons = [e.t for e in synth.notes_on()]
    assert code == 0 and took < 1.0
    assert ons and ons[-1] - ons[0] > 6.0 and max(b - a for a, b in itertools.pairwise(ons)) < 1.6


def test_a_failing_input_handler_exits_70_with_every_note_ended(rig, caplog):
    """In-process: a knob's action raises on the input thread; logged with its traceback, the
    synth silenced, exit EX_SOFTWARE."""
    from jazzd.live.config import PlayOptions
    from jazzd.live.daemon import EX_SOFTWARE, Player
    from jazzd.live.service import Signals

    synth, keys = rig.synth("knob-synth"), rig.keys("knob-keys")
    player = Player(
        PlayOptions(port=synth.port, input=keys.port, midi_api="jack", model="seed-metheny", bpm=240)
    )

    def broken(value):
        raise RuntimeError("knob bug")

    player.live.keyboard.actions["density"] = broken
    signals, done = Signals(), threading.Event()

    def turn_the_knob():  # a second in (notes sound), then until it is handled: a CC sent before
        for wait in [1.0] + [0.5] * 40:  # the input is connected, or in an xrun, is lost
            if done.wait(wait):
                return
            keys.send(0xB0, 72, 10)
        signals._record(signal.SIGTERM, None)  # never handled: end the run, so the test fails

    threading.Thread(target=turn_the_knob, daemon=True).start()
    code = player.run(signals)
    player.close_ports()
    done.set()
    assert code == EX_SOFTWARE
    time.sleep(0.2)
    assert "the input thread failed" in caplog.text and "knob bug" in caplog.text
    assert synth.notes_on() and hanging(e.data for e in synth.received) == set()
