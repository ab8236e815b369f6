"""The player's lifecycle without ports: signals, the watchdog, what a reload keeps, the knobs."""

import logging
import os
import random
import signal
import threading
import time

import mido
import pytest
from builders import NotifySocket

from jazzd.live.clock import MidiClockFollower
from jazzd.live.config import PlayOptions, tune_options
from jazzd.live.daemon import PING_SECONDS, STALL_SECONDS, Player, same_place_in_the_set
from jazzd.live.service import Signals
from jazzd.live.stage import read_setlist
from jazzd.live.wiring import register


@pytest.fixture
def signals():
    saved = {s: signal.getsignal(s) for s in (*Signals.STOP, signal.SIGHUP)}
    handler = Signals()
    handler.install()
    yield handler
    signal.set_wakeup_fd(-1)
    for signum, previous in saved.items():
        signal.signal(signum, previous)


def kill_later(signum: int, delay: float) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(delay), os.kill(os.getpid(), signum)))
    thread.start()
    return thread


def test_a_signal_ends_the_wait_at_once(signals):
    thread = kill_later(signal.SIGHUP, 0.1)
    began = time.perf_counter()
    assert signals.wait(5.0)
    assert time.perf_counter() - began < 1.0
    thread.join()
    assert signals.take() == [signal.SIGHUP] and not signals.pending()


def test_signals_inside_a_condition_wait_never_deadlock_and_none_is_lost(signals):
    """The old handler set the very Event the main thread waited on: a signal landing while
    `Event.wait` held its lock blocked the handler for good. Here 300 signals land at random
    moments in the main thread's waits; every one is recorded, in order. (Each is sent once the
    one before is recorded: Python runs a handler once for signals of one kind that land
    together, as POSIX merges pending ones.)"""
    rng = random.Random(5)
    sent = [rng.choice([signal.SIGHUP, signal.SIGTERM, signal.SIGINT]) for _ in range(300)]

    def send():
        for i, signum in enumerate(sent):
            time.sleep(rng.uniform(0, 0.002))
            os.kill(os.getpid(), signum)
            deadline = time.monotonic() + 2.0
            while len(signals._received) <= i and time.monotonic() < deadline:
                time.sleep(0.0001)

    thread = threading.Thread(target=send)
    event, condition = threading.Event(), threading.Condition()
    thread.start()
    while thread.is_alive():
        event.wait(0.0005)
        with condition:
            condition.wait(0.0005)
    thread.join()
    time.sleep(0.01)  # the last handler runs between bytecodes
    assert signals.take() == sent


def test_a_signal_landing_after_a_take_stays_for_the_next(signals):
    os.kill(os.getpid(), signal.SIGHUP)
    assert signals.take() == [signal.SIGHUP]
    os.kill(os.getpid(), signal.SIGTERM)  # the stop that came during the reload
    assert signals.pending() and signals.take() == [signal.SIGTERM]


@pytest.fixture
def player(monkeypatch, tmp_path):
    notify = NotifySocket(tmp_path / "notify")
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
    player = Player(PlayOptions(port="nowhere", model="seed-metheny", midi_api="jack"))
    player.notifications = notify
    return player


def test_the_watchdog_is_fed_while_waiting_for_ports_and_while_the_timing_thread_lives(player):
    t = [100.0]
    player.now = lambda: t[0]
    notify = player.notifications
    player._watchdog()  # no timing thread yet: waiting for a port, still alive
    notify.collect(0.05)
    assert notify.states() == ["WATCHDOG=1"]
    player._timing = threading.current_thread()
    player.live.scheduler.alive_at = t[0]
    t[0] += PING_SECONDS
    player._watchdog()
    notify.collect(0.05)
    assert notify.states() == ["WATCHDOG=1"] * 2
    t[0] += STALL_SECONDS + PING_SECONDS  # the timing thread stopped going round
    player._watchdog()
    notify.collect(0.05)
    assert notify.states() == ["WATCHDOG=1"] * 2  # no ping: systemd's watchdog fires


def test_the_register_knob_stays_inside_midi_for_any_configured_width(player):
    player.options.register = (0, 127)
    for value in (0, 64, 127):
        register(player.live, value)
        low, high = player.live.soloist.register
        assert low >= 0 and high <= 127 and high - low == 127


def test_a_reload_keeps_the_chord_the_knobs_a_pause_and_the_followed_clock(player):
    options = PlayOptions(port="nowhere", input="keys", clock="midi", model="seed-metheny", midi_api="jack")
    old = Player(options)
    for note in (48, 52, 55, 58):  # C7, held below the split
        old.live.keyboard.handle(mido.Message("note_on", note=note, velocity=80))
    old.live.keyboard.handle(mido.Message("control_change", control=74, value=0))  # stop
    old.live.keyboard.handle(mido.Message("control_change", control=71, value=127))  # temperature
    assert isinstance(old.clock, MidiClockFollower)
    new = Player(options, previous=old)
    assert new.live.chords.current.symbol == "C7" and new.live.chords.held == {48, 52, 55, 58}
    assert new.live.performer.paused and new.live.engine.temperature == pytest.approx(2.0)
    assert new.clock is old.clock
    assert Player(PlayOptions(port="nowhere", model="seed-metheny"), previous=old).clock is not old.clock


def test_a_lost_input_ends_the_players_phrase_so_answers_come_again(player):
    board = player.live.keyboard
    board.handle(mido.Message("note_on", note=74, velocity=90))  # above the split: a phrase note
    assert board.phrase.sounding
    board.release_all()  # the input port vanished: its note-off will never come
    assert not board.phrase.sounding and [p for *_, p in board.phrase.notes] == [74]


def test_a_signal_does_not_fail_a_blocking_call_in_a_c_library(signals):
    """libjack reads its server socket while a client opens; a SIGHUP landing then made that read
    fail with EINTR and jazzd exit with "JACK server not running?" (3 runs in 64 of
    bench/signals.py). With SA_RESTART the read goes on."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    read_end, write_end = os.pipe()
    main = threading.main_thread().ident
    threading.Timer(0.1, signal.pthread_kill, (main, signal.SIGHUP)).start()
    threading.Timer(0.3, os.write, (write_end, b"x")).start()
    buffer = ctypes.create_string_buffer(1)
    assert libc.read(read_end, buffer, 1) == 1, os.strerror(ctypes.get_errno())
    assert signals.take() == [signal.SIGHUP]
    os.close(read_end)
    os.close(write_end)


def setlist_options(**more) -> PlayOptions:
    setlist = read_setlist(["blues-f", {"tune": "blue-bossa", "bpm": 200, "mode": "trade"}], None)
    options = PlayOptions(port="nowhere", model="seed-metheny", midi_api="jack", setlist=setlist, **more)
    return tune_options(options, setlist[0])


def test_the_next_tune_goes_on_with_the_clock_engine_scheduler_and_knobs_but_not_the_chord():
    old = Player(setlist_options(input="keys"))
    assert old.stage.current == 0
    for note in (48, 52, 55, 58):
        old.live.keyboard.handle(mido.Message("note_on", note=note, velocity=80))
    old.live.keyboard.handle(mido.Message("control_change", control=72, value=0))  # density
    old.stage.ask("call", 1, "keyboard")
    old.onstage.take_requests()
    assert old.onstage.change_to == 1
    new = Player(tune_options(old.options, old.stage.setlist[1]), previous=old, next_tune=True)
    assert new.clock is old.clock and new.live.scheduler is old.live.scheduler
    assert new.live.engine is old.live.engine and new.stage is old.stage and new.stage.current == 1
    assert new.live.performer.density == 0 and new.live.chords.held == {48, 52, 55, 58}
    assert new.live.chords.current is None  # the new tune's chart plays until a chord is played
    assert (new.options.bpm, new.options.mode) == (200, "trade")


def test_a_tune_called_while_a_followed_master_plays_waits_for_its_stop(caplog):
    caplog.set_level(logging.INFO)
    player = Player(setlist_options(input="keys", clock="midi"))
    clock = player.clock
    began = time.perf_counter() - 0.06
    clock.on_message("start", began)
    for i in range(4):
        clock.on_message("clock", began + i * 0.02)
    assert clock.running
    player.stage.ask("step", 1, "page")
    player.stage.ask("tempo", 150, "page")
    player.onstage.take_requests()
    assert player.onstage.change_to is None and "the MIDI clock followed sets the tempo" in caplog.text
    clock.on_message("stop", time.perf_counter())
    player.onstage.take_requests()
    assert player.onstage.change_to == 1


def test_a_mode_and_the_switches_from_the_page_act_as_the_keyboard_s(caplog):
    caplog.set_level(logging.INFO)
    player = Player(setlist_options(input="keys"))
    for kind, value in (("mode", "answer"), ("start_stop", 0)):
        player.stage.ask(kind, value, "page")
    player.onstage.take_requests()
    assert type(player.live.performer.turns).__name__ == "Answer" and player.options.mode == "answer"
    assert player.live.performer.paused and player.live.keyboard.knobs == {"start_stop": 0}
    assert "mode answer from the page" in caplog.text and "start_stop 0 from the page" in caplog.text
    player.live.keyboard.handle(mido.Message("control_change", control=74, value=127))
    assert "start_stop 127 from the keyboard" in caplog.text and not player.live.performer.paused


def test_a_reload_in_the_middle_of_the_set_keeps_the_tune_playing():
    options = setlist_options()
    stage = Player(options).stage
    stage.current = 1  # blue-bossa was called
    kept = same_place_in_the_set(setlist_options(), stage)
    assert kept.chart.title == "Blue Bossa" and kept.bpm == 200
    stage.setlist = read_setlist(["minor-blues"], None)  # the tune is gone from the new setlist
    stage.current = 0
    assert same_place_in_the_set(setlist_options(), stage).chart.title == "Jazz blues in F"
