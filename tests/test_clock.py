"""Clocks: the internal clock's continuity, and the MIDI clock follower on jittered ticks."""

import random

import pytest

from jazzd.clock import InternalClock, ManualClock, MidiClockFollower


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
    for burst in range(16):  # 6 ticks arrive at once, every 6 periods (a congested USB hub)
        for _ in range(6):
            follower.on_message("clock", (burst + 1) * 6 * period)
    assert follower.position == pytest.approx(95 / 24)
    assert 100 < follower.tempo < 145
    assert follower.beat_at(100 * period) > follower.beat_at(96 * period)


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
    assert events == ["start", "start", "position"]
