"""The scheduler (the timing thread), beat-exact, with a manual clock and a recording port."""

import itertools

import pytest
from builders import Recorder, run_until

from jazzd.live.clock import ManualClock
from jazzd.live.scheduler import LATE_LIMIT, Scheduler


@pytest.fixture
def timed():
    """A scheduler over a manual clock, sending to a recording port."""
    clock = ManualClock(120.0)  # half a second a beat
    port = Recorder(clock)
    return clock, port, Scheduler(clock, port.send)


def fixed(pitch):
    return lambda beat: pitch


def test_notes_go_out_at_their_beats_with_their_note_offs(timed):
    clock, port, scheduler = timed
    scheduler.note(1.0, 0.5, 0, 90, fixed(60))
    scheduler.note(2.5, 1.0, 0, 80, fixed(62))
    run_until(clock, 3.0, scheduler.process)
    assert port.notes() == [(0.5, 0.75, 60, 90), (1.25, 1.75, 62, 80)]


def test_a_retrigger_ends_the_sounding_note_and_its_old_off_is_ignored(timed):
    clock, port, scheduler = timed
    scheduler.note(0.0, 2.0, 0, 90, fixed(60))
    scheduler.note(1.0, 2.0, 0, 90, fixed(60))
    run_until(clock, 2.0, scheduler.process)
    kinds = [(t, m.type, m.note) for t, m in port.sent]
    assert kinds == [
        (0.001, "note_on", 60),
        (0.5, "note_off", 60),
        (0.5, "note_on", 60),
        (1.5, "note_off", 60),
    ]


def test_late_events_are_sent_or_skipped_by_the_policy(timed):
    clock, port, scheduler = timed
    scheduler.note(0.0, 1.0, 0, 90, fixed(60))
    scheduler.note(0.0, 1.0, 0, 90, fixed(64))
    clock.advance(LATE_LIMIT / 2)
    scheduler.process(clock.t)  # a little late: sent, counted late
    scheduler.note(0.1, 1.0, 0, 90, fixed(67))
    clock.advance(0.05 + LATE_LIMIT * 2)
    scheduler.process(clock.t)  # far too late: skipped
    assert [m.note for _, m in port.sent] == [60, 64]
    assert scheduler.stats.late == 2 and scheduler.stats.skipped == 1


def test_flush_ends_every_sounding_note_then_all_notes_off(timed):
    clock, port, scheduler = timed
    scheduler.note(0.0, 8.0, 2, 90, fixed(60))
    scheduler.note(0.0, 8.0, 2, 90, fixed(64))
    scheduler.note(4.0, 1.0, 2, 90, fixed(67))
    run_until(clock, 0.1, scheduler.process)
    scheduler.request_flush()
    run_until(clock, 5.0, scheduler.process)
    tail = [(m.type, getattr(m, "note", None), getattr(m, "control", None)) for _, m in port.sent[2:]]
    assert sorted(tail[:2]) == [("note_off", 60, None), ("note_off", 64, None)]
    assert tail[2:] == [("control_change", None, 123)]  # and the pending note never plays
    assert port.balance() == {}


def test_a_flush_keeps_what_was_queued_after_it_was_asked_for(timed):
    """A Start asks for a flush from the input's thread and its first tick queues the line's
    first notes right after: the timing thread, flushing later, must not take those back."""
    clock, port, scheduler = timed
    scheduler.note(0.5, 1.0, 0, 90, fixed(60))  # the old session's
    scheduler.request_flush()
    scheduler.hold(0.5, [(0.5, 1.0, 0, 90, fixed(64))])
    assert scheduler.release(0.5) and scheduler.release(0.5)  # queued once, whoever asks again
    scheduler.hold(0.5, [(0.5, 1.0, 0, 90, fixed(67))])
    assert not scheduler.release(1.0)  # held for another beat: dropped
    run_until(clock, 2.0, scheduler.process)
    assert [n for _, _, n, _ in port.notes()] == [64]


def test_tempo_change_moves_what_is_still_to_come(timed):
    clock, port, scheduler = timed
    scheduler.note(4.0, 1.0, 0, 90, fixed(60))
    run_until(clock, 1.0, scheduler.process)  # beat 2
    clock.set_tempo(60.0)  # beat 4 is now 2 s away
    run_until(clock, 5.0, scheduler.process)
    assert port.notes() == [(3.0, 4.0, 60, 90)]


def test_a_pitch_outside_midi_is_never_sent_and_timing_goes_on(timed):
    clock, port, scheduler = timed
    scheduler.note(0.0, 0.5, 0, 90, fixed(163))
    scheduler.note(0.5, 0.5, 0, 90, fixed(-31))
    scheduler.note(1.0, 0.5, 0, 90, fixed(60))
    run_until(clock, 1.0, scheduler.service)
    assert port.notes() == [(0.5, 0.75, 60, 90)]


def test_flush_sends_all_notes_off_even_when_a_note_off_fails(timed):
    clock, port, scheduler = timed
    scheduler.note(0.0, 8.0, 0, 90, fixed(60))
    run_until(clock, 0.1, scheduler.service)
    sends = port.send

    def flaky(message, due):
        if message.type == "note_off":
            raise OSError("gone for a moment")
        sends(message, due)

    scheduler.send = flaky
    scheduler.flush()
    assert port.sent[-1][1].type == "control_change" and port.sent[-1][1].control == 123


def test_a_failing_timing_thread_is_logged_kept_and_still_silences(timed, caplog):
    import threading

    clock, port, scheduler = timed
    scheduler.note(0.0, 8.0, 0, 90, fixed(60))

    def broken(beat):
        raise RuntimeError("realizer bug")

    scheduler.note(0.0, 1.0, 0, 90, broken)
    thread = threading.Thread(target=scheduler.run, args=(threading.Event(),))
    clock.advance(0.01)
    thread.start()
    thread.join(timeout=5)
    assert not thread.is_alive() and isinstance(scheduler.failure, RuntimeError)
    assert "the timing thread failed" in caplog.text and "realizer bug" in caplog.text
    assert port.balance() == {} and port.sent[-1][1].control == 123


def test_a_reconnect_waits_until_the_old_port_is_silenced(timed):
    import threading

    clock, port, scheduler = timed
    scheduler.note(0.0, 8.0, 0, 90, fixed(60))
    run_until(clock, 0.1, scheduler.service)
    stop = threading.Event()
    thread = threading.Thread(target=scheduler.run, args=(stop,))
    thread.start()
    scheduler.request_flush()
    assert scheduler.wait_flushed(2.0)
    stop.set()
    thread.join()
    assert [m.type for _, m in port.sent[:3]] == ["note_on", "note_off", "control_change"]


def test_clock_out_sends_position_start_ticks_and_stop_on_the_beat(timed):
    clock, port, scheduler = timed
    scheduler.start_clock_out(-4.0)  # a bar's count-in before beat 0
    scheduler.stop_clock_out(4.0)
    clock.start(-4.0, at=0.0)
    run_until(clock, 5.0, scheduler.process, step=0.0005)
    kinds = [m.type for _, m in port.sent]
    assert kinds[:3] == ["songpos", "start", "clock"] and port.sent[0][1].pos == 0
    assert kinds.count("clock") == 8 * 24 and kinds[-1] == "stop"  # ticks up to beat 4, then Stop there
    ticks = [t for t, m in port.sent if m.type == "clock"]
    assert ticks[0] == pytest.approx(0.0, abs=0.001) and ticks[24] == pytest.approx(0.5, abs=0.001)
    assert max(abs(b - a - 0.5 / 24) for a, b in itertools.pairwise(ticks)) < 0.001  # 24 a beat, on the grid
    assert port.sent[-1][0] == pytest.approx(4.0, abs=0.001) and not scheduler.ticking


def test_a_flush_keeps_the_clock_going_and_a_stopping_thread_sends_stop(timed):
    import threading

    clock, port, scheduler = timed
    scheduler.start_clock_out(0.0)
    scheduler.note(0.0, 8.0, 0, 90, fixed(60))
    run_until(clock, 0.3, scheduler.process)
    scheduler.request_flush()  # a panic: the drum machine keeps time
    run_until(clock, 1.0, scheduler.process)
    after = [m.type for t, m in port.sent if t > 0.3]
    assert "note_off" in after and after.count("clock") >= 30 and scheduler.ticking
    stop = threading.Event()
    stop.set()
    scheduler.run(stop)  # the way out of the timing thread: silence, and Stop for the follower
    assert [m.type for _, m in port.sent][-2:] == ["control_change", "stop"] and not scheduler.ticking


def test_ending_a_tune_drops_what_is_past_its_bar_line_and_renumbers_the_rest(timed):
    """A tune called: the old line ends on the bar line (held notes end there, nothing begins
    past it), and what remains is renumbered into the next tune's beats at the same times."""
    clock, port, scheduler = timed
    heard = []
    scheduler.note(1.0, 5.0, 0, 90, fixed(60))  # sounding over the bar line
    scheduler.note(3.0, 2.0, 0, 90, lambda beat: heard.append(beat) or 62)  # begins before, ends after
    scheduler.note(4.5, 0.5, 0, 90, fixed(64))  # past the bar line: never sounds
    run_until(clock, 1.5, scheduler.process)
    assert scheduler.end_tune(4.0, 8.0, -4.0) == 2  # the next tune's count-in from the old beat 4
    scheduler.note(0.0, 0.5, 0, 90, fixed(67))  # the next tune's downbeat
    run_until(clock, 5.0, scheduler.process)
    assert port.notes() == [(0.5, 2.0, 60, 90), (1.5, 2.0, 62, 90), (4.0, 4.25, 67, 90)]
    assert heard == [3.0]  # its pitch chosen over the old tune's beat
    assert clock.start_beat == -4.0


def test_the_clock_out_starts_the_next_tune_with_stop_top_and_start_unbroken(timed):
    clock, port, scheduler = timed
    scheduler.start_clock_out(0.0)
    scheduler.stop_clock_out(48.0)  # the old tune's end: replaced by the next tune's
    run_until(clock, 0.9, scheduler.process)
    scheduler.end_tune(4.0, 4.0, 0.0)
    scheduler.restart_clock_out(0.0)
    run_until(clock, 2.5, scheduler.process)
    assert [m.type for t, m in port.sent if t == 2.0] == ["stop", "songpos", "start", "clock"]
    assert [m.type for t, m in port.sent if t != 2.0 and m.type != "clock"] == ["songpos", "start"]
    ticks = [t for t, m in port.sent if m.type == "clock"]
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert len(ticks) == 2.5 * 48 + 1 and max(gaps) - min(gaps) < 0.0011  # none lost or doubled
