"""Clocks: the internal clock's continuity, and the MIDI clock follower on jittered ticks."""

import random

import pytest

from jazzd.live.clock import InternalClock, ManualClock, MidiClockFollower


def test_internal_clock_beats_and_times_are_inverse():
    clock = InternalClock(120.0, now=lambda: 10.0)
    assert clock.beat_at(10.5) == 1.0 and clock.time_of(4.0) == 12.0


def test_tempo_change_keeps_the_beat_continuous():
    clock = ManualClock(120.0)
    clock.advance(2.0)  # beat 4
    clock.set_tempo(60.0)
    assert clock.beat_at(clock.t) == pytest.approx(4.0)
    assert clock.time_of(5.0) == pytest.approx(3.0)


def feed_ticks(follower, bpm, count, start=0.0, jitter=0.002, seed=0):
    """`count` ticks at `bpm` with uniform ±jitter; returns their ideal times."""
    rng = random.Random(seed)
    period = 60.0 / bpm / 24
    ideal = [start + i * period for i in range(count)]
    for t in ideal:
        follower.on_message("clock", t + rng.uniform(-jitter, jitter))
    return ideal


@pytest.mark.parametrize("bpm", [90, 120, 180, 240])
def test_follower_places_beats_within_2ms_of_the_ticks(bpm):
    follower = MidiClockFollower(now=lambda: 0.0)
    follower.on_message("start", 0.0)
    ideal = feed_ticks(follower, bpm, 24 * 8, seed=bpm)
    assert follower.tempo == pytest.approx(bpm, rel=0.01)
    period = 60.0 / bpm / 24
    for ahead in range(1, 24):  # the ticks of the next beat, predicted before they arrive
        tick = len(ideal) - 1 + ahead
        assert abs(follower.time_of(tick / 24) - tick * period) < 0.002


def test_start_counts_from_zero_and_stop_continue_resume():
    t = [0.0]
    follower = MidiClockFollower(now=lambda: t[0])
    follower.on_message("start", 0.0)
    feed_ticks(follower, 120, 48, jitter=0)  # two beats: positions 0..47
    assert follower.position == pytest.approx(47 / 24)
    t[0] = 47 / 48
    assert follower.running
    follower.on_message("stop", 1.0)
    assert not follower.running
    follower.on_message("continue", 5.0)
    follower.on_message("clock", 5.0)
    assert follower.position == 2.0
    assert follower.time_of(2.0) == pytest.approx(5.0) and follower.time_of(3.0) == pytest.approx(5.5)


def test_song_position_resumes_at_the_given_sixteenth():
    follower = MidiClockFollower(now=lambda: 0.0)
    follower.on_message("start", 0.0)
    feed_ticks(follower, 120, 24, jitter=0)
    follower.on_message("stop", 0.6)
    follower.on_message("songpos", 0.7, song_position=32)  # bar 3 = beat 8
    follower.on_message("continue", 1.0)
    follower.on_message("clock", 1.0)
    assert follower.position == 8.0
    assert follower.beat_at(1.25) == pytest.approx(8.5)


def test_clock_loss_is_detected_when_ticks_stop():
    t = [0.0]
    follower = MidiClockFollower(now=lambda: t[0])
    follower.on_message("start", 0.0)
    feed_ticks(follower, 120, 30, jitter=0)
    last = 29 * 60 / 120 / 24
    assert not follower.lost(last + 0.03)
    assert follower.lost(last + 0.09)
    t[0] = last + 0.09
    assert not follower.running


def test_tempo_jump_is_followed_within_a_beat():
    follower = MidiClockFollower(now=lambda: 0.0)
    follower.on_message("start", 0.0)
    ideal = feed_ticks(follower, 100, 48, jitter=0.001)
    end = ideal[-1] + 60 / 100 / 24
    for i in range(30):
        follower.on_message("clock", end + i * 60 / 200 / 24)
    assert follower.tempo == pytest.approx(200, rel=0.02)


def test_ticks_in_bursts_keep_the_tempo_and_the_position():
    follower = MidiClockFollower(now=lambda: 0.0)
    follower.on_message("start", 0.0)
    period = 60 / 120 / 24
    feed_ticks(follower, 120, 48, jitter=0.001)  # two steady beats, then the link congests
    for burst in range(16):  # 6 ticks arrive at once, every 6 periods (a congested USB hub)
        for _ in range(6):
            follower.on_message("clock", (48 + (burst + 1) * 6) * period)
    assert follower.position == pytest.approx((48 + 95) / 24)
    assert follower.tempo == pytest.approx(120, rel=0.02)
    assert follower.dropped == follower.doubled == 0


def master(bpm, ticks, drop=0.0, double=0.0, jitter=0.0005, seed=0, start=0.0):
    """A master's ticks as they arrive: (ideal index, arrival time), some lost, some doubled."""
    rng = random.Random(seed)
    period = 60.0 / bpm / 24
    out = []
    for i in range(ticks):
        t = start + i * period + rng.uniform(-jitter, jitter)
        if i > 24 and rng.random() < drop:  # until the fit has settled, ticks are only counted
            continue
        out.append((i, t))
        if rng.random() < double:
            out.append((i, t + rng.uniform(0.0, 0.0005)))
    return out


@pytest.mark.parametrize(("drop", "double"), [(0.01, 0.0), (0.05, 0.0), (0.0, 0.02), (0.02, 0.02)])
def test_lost_and_doubled_ticks_do_not_shift_the_beat(drop, double):
    follower = MidiClockFollower(now=lambda: 0.0)
    follower.on_message("start", 0.0)
    bpm, period = 150, 60 / 150 / 24
    arrivals = master(bpm, 24 * 64, drop=drop, double=double, seed=7)
    worst = 0.0
    for index, t in arrivals:
        follower.on_message("clock", t)
        if index > 24:  # once settled, the line predicts the next 1/12 beat within a fraction of a ms
            worst = max(worst, abs(follower.time_of((index + 2) / 24) - (index + 2) * period))
    assert follower.position == pytest.approx(arrivals[-1][0] / 24)
    assert worst < 0.002
    lost = 24 * 64 - len({i for i, _ in arrivals})
    doubles = len(arrivals) - len({i for i, _ in arrivals})
    assert follower.dropped - follower.doubled == lost - doubles


def test_a_lost_tick_is_told_from_a_late_one():
    follower = MidiClockFollower(now=lambda: 0.0)
    follower.on_message("start", 0.0)
    period = 60 / 120 / 24
    feed_ticks(follower, 120, 48, jitter=0)
    follower.on_message("clock", 48.8 * period)  # tick 48, late: the ones after it come in a rush
    follower.on_message("clock", 48.85 * period)
    follower.on_message("clock", 50.0 * period)
    assert follower.position == pytest.approx(50 / 24) and follower.dropped == 0


def test_tempo_ramp_is_followed():
    follower = MidiClockFollower(now=lambda: 0.0)
    follower.on_message("start", 0.0)
    t, position = 0.0, 0
    for i in range(24 * 16):  # 100 to 180 bpm over 16 beats
        bpm = 100 + 80 * i / (24 * 16)
        follower.on_message("clock", t)
        t += 60 / bpm / 24
        position = i
    assert follower.position == pytest.approx(position / 24)
    assert follower.tempo == pytest.approx(180, rel=0.03)


@pytest.mark.parametrize("factor", [0.5, 2.0, 1.3])
def test_a_sudden_tempo_change_is_not_taken_for_lost_or_doubled_ticks(factor):
    follower = MidiClockFollower(now=lambda: 0.0)
    follower.on_message("start", 0.0)
    ideal = feed_ticks(follower, 120, 48, jitter=0.0003)
    t, new_period = ideal[-1], 60 / (120 * factor) / 24
    for _ in range(48):
        t += new_period
        follower.on_message("clock", t)
    assert follower.tempo == pytest.approx(120 * factor, rel=0.03)
    assert follower.position == pytest.approx(95 / 24)


def test_start_forgets_the_old_session_while_the_master_keeps_clocking():
    t = [0.0]
    follower = MidiClockFollower(now=lambda: t[0])
    follower.on_message("start", 0.0)
    period = 60 / 120 / 24
    for i in range(96):
        follower.on_message("clock", i * period)
    follower.on_message("stop", 96 * period)
    for i in range(96, 400):  # stopped, but clocking on
        follower.on_message("clock", i * period)
    t[0] = 400 * period
    follower.on_message("start", t[0])
    assert not follower.running  # no line until a tick of the new session
    assert follower.time_of(0.0) == float("inf")
    follower.on_message("clock", t[0] + 0.001)
    assert follower.running and follower.start_beat == 0.0
    assert follower.time_of(1.0) == pytest.approx(t[0] + 0.001 + 24 * period)  # the hint's tempo


def test_start_without_stop_and_song_position_while_running_relocate():
    events = []
    follower = MidiClockFollower(now=lambda: 0.0, on_change=events.append)
    follower.on_message("start", 0.0)
    feed_ticks(follower, 120, 96, jitter=0)  # 4 beats
    follower.on_message("start", 2.0)  # Start again, no Stop: back to beat 0
    follower.on_message("clock", 2.0)
    assert follower.position == 0.0 and follower.time_of(1.0) == pytest.approx(2.5)
    follower.on_message("songpos", 2.2, song_position=16)  # while running: to beat 4
    follower.on_message("clock", 2.25)
    assert follower.position == 4.0 and follower.beat_at(2.75) == pytest.approx(5.0, abs=0.01)
    assert events == ["start", "running", "start", "running", "position", "running"]


def test_a_second_start_before_any_tick_stands_for_the_first_tick():
    """Over JACK the first tick after a Start was seen to arrive as a copy of the Start."""
    follower = MidiClockFollower(now=lambda: 0.0)
    period = 60 / 120 / 24
    follower.on_message("start", -0.001)
    follower.on_message("start", 0.0)  # was tick 0
    for i in range(1, 48):
        follower.on_message("clock", i * period)
    assert follower.position == pytest.approx(47 / 24) and follower.doubled_starts == 1
    follower.on_message("stop", 1.0)
    follower.on_message("start", 2.0)  # a real Start after ticks: back to beat 0
    follower.on_message("clock", 2.0)
    assert follower.position == 0.0 and follower.doubled_starts == 1


def test_the_first_tick_after_start_is_the_first_beat_with_no_pre_roll():
    """A master that sends no clock while stopped (most drum machines): the first tick after its
    Start sets the line running on beat 0 at once, with a guessed tempo the next ticks correct —
    not a tick later, when a first note on beat 0 would be too late to play."""
    events = []
    follower = MidiClockFollower(now=lambda: 1.0, on_change=events.append)
    follower.on_message("start", 0.999)
    follower.on_message("clock", 1.0)
    assert follower.running and follower.time_of(0.0) == 1.0 and events == ["start", "running"]
    period = 60 / 100 / 24
    for i in range(1, 25):
        follower.on_message("clock", 1.0 + i * period)
    assert follower.tempo == pytest.approx(100) and follower.time_of(1.0) == pytest.approx(1.0 + 24 * period)
    assert events == ["start", "running"]


@pytest.mark.parametrize("lost", [4, 5, 7])
def test_a_tick_lost_before_the_fit_settles_is_counted(lost):
    """Early in a session ticks are only counted; a tick lost there (once three intervals
    agree) is told by its interval, or the line would stay a tick behind for the whole tune."""
    follower = MidiClockFollower(now=lambda: 0.0)
    follower.on_message("start", 0.0)
    period = 60 / 150 / 24
    for i in range(24 * 4):
        if i != lost:
            follower.on_message("clock", i * period)
    assert follower.position == pytest.approx((24 * 4 - 1) / 24) and follower.dropped == 1


def test_a_tempo_change_at_a_later_bar_line_keeps_the_notes_before_it():
    """Tap tempo applies at the next bar line: beats before it keep their times."""
    clock = ManualClock(120.0)
    clock.advance(1.0)  # beat 2
    clock.set_tempo(60.0, at_beat=4.0)
    assert clock.time_of(3.0) == pytest.approx(1.5) and clock.time_of(4.0) == pytest.approx(2.0)
    assert clock.time_of(5.0) == pytest.approx(3.0)  # a second a beat from the bar line
    assert clock.beat_at(2.5) == pytest.approx(4.5) and clock.tempo == 120.0
    assert clock.tempo_at(4.0) == 60.0
    clock.set_tempo(90.0, at_beat=8.0)  # a second change: the first stands until it
    assert clock.time_of(8.0) == pytest.approx(6.0) and clock.time_of(9.0) == pytest.approx(6 + 2 / 3)


def test_a_rebase_renumbers_the_beats_at_the_same_times():
    """The next tune's beat 0 at the old beat 8, its session begun at its count-in (-4)."""
    clock = ManualClock(120.0)
    clock.set_tempo(60.0, at_beat=4.0)
    before = [clock.time_of(b) for b in (2.0, 6.0)]
    clock.rebase(8.0, -4.0)
    assert [clock.time_of(b) for b in (-6.0, -2.0)] == before
    assert clock.start_beat == -4.0 and clock.beat_at(before[1]) == pytest.approx(-2.0)
