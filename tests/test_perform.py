"""The performer, beat-exact, with a manual clock and a recording port: the line, the lookahead,
chords reaching the next note, the turn-taking modes, the knobs, clock sessions, and the live line
being the rendered one. The parts are wired as the player wires them (live/wiring.py)."""

import mido
import pytest
from builders import Recorder, run_until, write_tiny_model

from jazzd.live.clock import ManualClock
from jazzd.live.config import PlayOptions
from jazzd.live.perform import MAX_AHEAD
from jazzd.live.wiring import wire
from jazzd.music.timeline import ChordTimeline
from jazzd.solo.engine import Engine
from jazzd.solo.feel import Feel
from jazzd.solo.soloist import Soloist


def test_swing_and_accents():
    feel = Feel(swing=2 / 3)
    assert feel.place(0.5) == pytest.approx(2 / 3) and feel.place(1.25) == pytest.approx(1 + 1 / 3)
    assert feel.place(2.0) == 2.0
    assert [feel.velocity(b) for b in (0, 1, 2, 3, 0.5)] == [100, 90, 100, 90, 76]


def performance(tmp_path, mode="solo", keyboard=False, chords="| C7 |", **settings):
    """The live parts wired as the player wires them, over a manual clock and a recording port."""
    clock = ManualClock(120.0)
    port = Recorder(clock)
    options = PlayOptions(
        port="synth",
        input="keys" if keyboard else None,
        model=str(write_tiny_model(tmp_path)),
        seed=1,
        register=(48, 84),
        chords=chords,
        mode=mode,
        **settings,
    )
    live = wire(options, clock, port.send)
    return clock, port, live.scheduler, live.performer, live.chords, live.keyboard if keyboard else None


def test_solo_plays_continuously_with_every_note_ended(tmp_path):
    clock, port, scheduler, performer, *_ = performance(tmp_path)
    run_until(clock, 20.0, performer.step, scheduler.process)
    assert performer.next_beat <= clock.beat_at(clock.t) + performer.lookahead + MAX_AHEAD  # bounded
    scheduler.flush()
    notes = port.notes()
    assert len(notes) > 40
    assert all(48 <= pitch <= 84 for *_, pitch, _ in notes)
    assert port.balance() == {}


def test_generation_stays_a_small_lookahead_ahead(tmp_path):
    clock, _, scheduler, performer, *_ = performance(tmp_path, lookahead=0.5)
    run_until(clock, 3.0, performer.step, scheduler.process)
    assert clock.beat_at(clock.t) + 0.5 <= performer.next_beat <= clock.beat_at(clock.t) + 0.5 + 1.0


def test_a_chord_change_reaches_the_next_note(tmp_path):
    """Every note starting a MIDI tick (1/24 beat) or more after a chord arrives is realized
    over that chord, although its token was generated before the chord came."""
    clock, _port, scheduler, performer, tracker, board = performance(tmp_path, keyboard=True)
    used = []  # (send time, chord the pitch was chosen over)
    chord_at = performer.chord_at
    performer.chord_at = lambda beat: used.append((clock.t, chord_at(beat))) or used[-1][1]
    changes = []
    for k in range(1, 40):
        run_until(clock, k * 0.377, performer.step, scheduler.process)  # off the grid
        chord = [(36, 40, 43, 46), (42, 46, 49, 52)][k % 2]
        for note in chord:
            board.handle(mido.Message("note_on", note=note, velocity=80))
        changes.append((clock.t, tracker.current))
        for note in chord:
            board.handle(mido.Message("note_off", note=note))
    checked = 0
    for t, chord in used:  # sent after a change (by a tick or by less): over the new chord
        earlier = [c for when, c in changes if when < t]  # at the same instant, the step came first
        if earlier:
            assert chord == earlier[-1], f"note at {t:.3f} s realized over the old chord"
            checked += 1
    assert checked > 30
    assert {c.symbol for _, c in changes} == {"C7", "Gb7"}


def test_trade_listens_then_answers_after_priming(tmp_path):
    clock, port, scheduler, performer, _tracker, board = performance(
        tmp_path, mode="trade", keyboard=True, trade_bars=1
    )
    primed = []
    prime = performer.soloist.engine.prime
    performer.soloist.engine.prime = lambda ids: primed.append(list(ids)) or prime(ids)
    for i in range(4):  # the player's bar (beats 0-4 = 0-2 s)
        run_until(clock, 0.2 + i * 0.4, performer.step, scheduler.process)
        board.handle(mido.Message("note_on", note=72 + i, velocity=90))
        run_until(clock, 0.4 + i * 0.4, performer.step, scheduler.process)
        board.handle(mido.Message("note_off", note=72 + i))
    run_until(clock, 4.0, performer.step, scheduler.process)  # jazzd's bar: beats 4-8
    scheduler.flush()
    notes = port.notes()
    assert notes and all(2.0 <= start < 4.0 for start, *_ in notes)
    assert len(primed) == 1 and len(primed[0]) >= 4  # the player's four notes (and rests), once


def test_answer_waits_for_silence_and_gives_way(tmp_path):
    clock, port, scheduler, performer, _tracker, board = performance(
        tmp_path, mode="answer", keyboard=True, answer_after=1.0, trade_bars=2
    )
    run_until(clock, 0.3, performer.step, scheduler.process)
    board.handle(mido.Message("note_on", note=72, velocity=90))
    run_until(clock, 0.8, performer.step, scheduler.process)
    board.handle(mido.Message("note_off", note=72))  # the player stops at beat 1.6
    run_until(clock, 1.2, performer.step, scheduler.process)
    assert port.sent == []  # still inside the 1-beat pause
    run_until(clock, 2.5, performer.step, scheduler.process)
    answered = len(port.sent)
    assert answered > 0  # the answer started on beat 3 (1.5 s)
    board.handle(mido.Message("note_on", note=74, velocity=90))  # the player comes back in
    run_until(clock, 2.6, performer.step, scheduler.process)
    assert port.sent[-1][1].type == "control_change"  # silenced
    run_until(clock, 3.5, performer.step, scheduler.process)
    assert not [m for t, m in port.sent if t > 2.6 and m.type == "note_on" and m.velocity > 0]
    assert port.balance() == {}


def test_control_changes(tmp_path):
    clock, port, scheduler, performer, _tracker, board = performance(tmp_path, keyboard=True)
    board.handle(mido.Message("control_change", control=71, value=127))
    assert performer.soloist.engine.temperature == pytest.approx(2.0)
    board.handle(mido.Message("control_change", control=73, value=0))
    assert performer.soloist.register == (36, 72)
    board.handle(mido.Message("control_change", control=72, value=0))
    run_until(clock, 2.0, performer.step, scheduler.process)
    assert not [m for _, m in port.sent if m.type == "note_on"]  # density 0: silence
    board.handle(mido.Message("control_change", control=72, value=127))
    run_until(clock, 4.0, performer.step, scheduler.process)
    assert [m for _, m in port.sent if m.type == "note_on"]
    board.handle(mido.Message("control_change", control=74, value=0))  # stop
    run_until(clock, 4.1, performer.step, scheduler.process)
    count = len(port.sent)
    run_until(clock, 6.0, performer.step, scheduler.process)
    assert len(port.sent) == count and port.balance() == {}
    board.handle(mido.Message("control_change", control=74, value=127))  # start
    run_until(clock, 8.0, performer.step, scheduler.process)
    assert len(port.sent) > count
    board.handle(mido.Message("control_change", control=75, value=127))  # panic
    run_until(clock, 8.01, performer.step, scheduler.process)
    assert port.sent[-1][1].is_cc(123) and port.balance() == {}


def test_the_performer_follows_a_clock_that_jumps_back(tmp_path):
    clock, port, scheduler, performer, *_ = performance(tmp_path)
    run_until(clock, 4.0, performer.step, scheduler.process)  # to beat 8
    scheduler.flush()
    clock.start(beat=0.0)  # a Start from the drum machine: back to beat 0
    sent = len(port.sent)
    run_until(clock, 5.0, performer.step, scheduler.process)
    assert len(port.sent) > sent  # playing again at once, not from beat 8
    assert performer.next_beat < clock.beat_at(clock.t) + performer.lookahead + 4


@pytest.mark.parametrize("model", ["seed-metheny", "wjazzd"])
def test_the_live_line_starts_on_the_bar_and_is_the_rendered_line(model):
    """Same seed, progression and tempo: the first 16 bars played live are the notes `jazzd
    render` writes (onset, length and pitch), from beat 0 of bar 1."""
    from jazzd.music.grammar import BAR_TICKS, TICKS_PER_BEAT

    chords, bpm, seed = "| F7 | Bb7 | F7 | Cm7 F7 | Bb7 | Bdim7 | F7 | D7 |", 180.0, 5
    timeline = ChordTimeline.looped(chords)
    rendered = list(Soloist(Engine(model, seed=seed), seed=seed).play(timeline.chord_at, 0, 17 * BAR_TICKS))
    clock = ManualClock(bpm)
    port = Recorder(clock)
    live = wire(PlayOptions(port="synth", model=model, seed=seed, chords=chords), clock, port.send)
    scheduler, performer = live.scheduler, live.performer
    run_until(clock, 16 * 4 * 60 / bpm, performer.step, scheduler.process)
    scheduler.flush()
    seconds_per_tick = 60 / bpm / TICKS_PER_BEAT
    live = sorted(
        (round(on / seconds_per_tick), round((off - on) / seconds_per_tick), pitch)
        for on, off, pitch, _ in port.notes()
    )
    expected = [
        (n.onset, n.duration, n.pitch) for n in rendered if n.onset + n.duration <= 16 * 4 * TICKS_PER_BEAT
    ]
    assert live[: len(expected)] == expected
    assert len(expected) > 40


def test_the_sixteenth_grid_moves_on_far_into_a_performance():
    from jazzd.live.perform import next_sixteenth

    for beat in (0.0, 0.1, 2.0**24, 2.0**24 + 0.25, 2.0**40):
        assert beat < next_sixteenth(beat) <= beat + 0.25


def test_trade_primes_with_the_players_phrase_before_its_first_token(tmp_path):
    clock, _port, scheduler, performer, _tracker, board = performance(
        tmp_path, mode="trade", keyboard=True, trade_bars=1
    )
    engine = performer.soloist.engine
    calls = []
    prime, sample = engine.prime, engine.sample
    engine.prime = lambda ids: calls.append("prime") or prime(ids)
    engine.sample = lambda: calls.append("sample") or sample()
    for i in range(4):  # the player's bar (beats 0-4 = 0-2 s)
        run_until(clock, 0.2 + i * 0.4, performer.step, scheduler.service)
        board.handle(mido.Message("note_on", note=72 + i, velocity=90))
        run_until(clock, 0.4 + i * 0.4, performer.step, scheduler.service)
        board.handle(mido.Message("note_off", note=72 + i))
    run_until(clock, 3.0, performer.step, scheduler.service)
    assert calls[0] == "prime" and "sample" in calls


def test_answer_mode_forgets_an_answer_when_the_clock_starts_again(tmp_path):
    clock, port, scheduler, performer, _tracker, board = performance(
        tmp_path, mode="answer", keyboard=True, answer_after=1.0, trade_bars=4
    )
    board.handle(mido.Message("note_on", note=72, velocity=90))
    run_until(clock, 0.3, performer.step, scheduler.service)
    board.handle(mido.Message("note_off", note=72))
    run_until(clock, 1.5, performer.step, scheduler.service)
    assert performer.turns.answering_until > clock.beat_at(clock.t)  # answering, for 16 beats
    clock.stop()
    run_until(clock, 1.6, performer.step, scheduler.service)
    scheduler.request_flush()
    clock.start(0.0)
    board.handle(mido.Message("note_on", note=74, velocity=90))  # the player plays at once
    restarted = len(port.sent)
    run_until(clock, 2.5, performer.step, scheduler.service)
    assert not [m for _, m in port.sent[restarted:] if m.type == "note_on" and m.velocity > 0]


def test_clock_sessions_in_random_orders_never_play_outside_a_session(tmp_path):
    """A master that clocks throughout while Start, Stop, Continue and Song Position come in
    random orders: every note-on falls inside a running session, and nothing is left sounding."""
    import random

    from jazzd.live.clock import MidiClockFollower

    rng = random.Random(8)
    t = [0.0]
    clock = MidiClockFollower(now=lambda: t[0])
    port = Recorder(clock)
    options = PlayOptions(port="synth", model=str(write_tiny_model(tmp_path)), seed=1, register=(48, 84))
    live = wire(options, clock, port.send)
    scheduler, performer = live.scheduler, live.performer
    # as the player does (daemon.Player._clock_changed): a new session silences the old one
    clock.on_change = lambda event: event in ("stop", "start", "position") and scheduler.request_flush()
    period = 60 / 150 / 24
    sessions, opened = [], None
    next_op = 0.5
    for tick in range(24 * 150):  # 150 beats of ticks
        now = tick * period
        while round(t[0] + 0.001, 9) <= now:  # the player's threads, a millisecond at a time
            t[0] = round(t[0] + 0.001, 9)
            performer.step(t[0])
            scheduler.service(t[0])
        t[0] = now  # the master's messages arrive now
        if now >= next_op:
            op = rng.choice(["start", "stop", "continue", "songpos"])
            if op in ("start", "continue") and opened is None:
                opened = now
            elif op == "stop" and opened is not None:
                sessions.append((opened, now))
                opened = None
            clock.on_message(op, now, rng.randrange(64))
            next_op = now + rng.uniform(0.2, 1.5)
        clock.on_message("clock", now, 0)
    if opened is not None:
        sessions.append((opened, t[0] + 1))
    scheduler.flush()
    ons = [when for when, m in port.sent if m.type == "note_on" and m.velocity > 0]
    assert len(ons) > 50 and len(sessions) >= 5
    outside = [when for when in ons if not any(a <= when <= b for a, b in sessions)]
    assert outside == [], outside[:5]
    assert port.balance() == {}


def tune_performance(tmp_path, text: str, choruses: int, **settings):
    """The live parts over a tune: its chords, its form, its end."""
    from jazzd.music.charts import chart_from_toml

    clock = ManualClock(120.0)  # half a second a beat
    port = Recorder(clock)
    options = PlayOptions(
        port="synth",
        model=str(write_tiny_model(tmp_path)),
        seed=1,
        tune="test",
        chart=chart_from_toml(text, "test.toml"),
        choruses=choruses,
        **settings,
    )
    live = wire(options, clock, port.send)
    return clock, port, live


def test_trading_turns_follow_the_forms_sections_and_alternate_across_choruses(tmp_path):
    text = "title = 't'\nform = 'AB'\n[sections]\nA = '| C7 | F7 | C7 |'\nB = '| G7 | F7 |'\n"
    clock, port, live = tune_performance(tmp_path, text, choruses=0, mode="trade", trade_bars=2)
    run_until(clock, 20.0, live.performer.step, live.scheduler.process)
    live.scheduler.flush()
    # turns (beats): [0, 8) [8, 12) [12, 20) | [20, 28) [28, 32) [32, 40): jazzd has the odd ones
    jazzd_turns = [(4.0, 6.0), (10.0, 14.0), (16.0, 20.0)]  # in seconds
    notes = port.notes()
    assert {next(i for i, (a, b) in enumerate(jazzd_turns) if a <= on < b) for on, *_ in notes} == {0, 1, 2}
    assert all(any(a <= on and off <= b + 1e-9 for a, b in jazzd_turns) for on, off, *_ in notes)


def test_the_last_chorus_lands_on_a_chord_tone_of_the_final_chord_held_to_the_bar_line(tmp_path):
    text = "title = 't'\n[sections]\nA = '| C7 | F7 | Dm7 G7 |'\n"
    clock, port, live = tune_performance(tmp_path, text, choruses=2)
    run_until(clock, 14.0, live.performer.step, live.scheduler.process)
    notes = port.notes()
    on, off, pitch, _ = notes[-1]
    assert on == pytest.approx(11.0, abs=0.002) and off == pytest.approx(12.0, abs=0.002)  # beats 22-24
    assert pitch % 12 in {7, 11, 2, 5}  # a chord tone of G7, the final chord
    assert all(b <= 11.0 + 1e-9 for _, b, *_ in notes[:-1])  # the line before it stops there
    assert live.performer.finished(24.0) and not live.performer.finished(23.9)
    assert port.balance() == {} and live.scheduler.pending() == 0


def test_a_count_in_clicks_every_beat_before_bar_one_with_the_downbeats_accented():
    from jazzd.live.perform import count_in
    from jazzd.live.scheduler import Scheduler

    clock = ManualClock(120.0)
    port = Recorder(clock)
    scheduler = Scheduler(clock, port.send)
    clock.start(-8.0, at=0.0)
    count_in(scheduler, 2, 9, 37)
    run_until(clock, 4.5, scheduler.process)
    clicks = [(round(t, 3), m.channel, m.note, m.velocity) for t, m in port.sent if m.type == "note_on"]
    assert [t for t, *_ in clicks] == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5], abs=0.002)
    assert {(c, n) for _, c, n, _ in clicks} == {(9, 37)} and len(clicks) == 8
    assert [v for *_, v in clicks] == [110, 80, 80, 80] * 2 and port.balance() == {}


def test_a_followed_clocks_first_tick_plays_the_first_beat_prepared_while_waiting():
    """A drum machine's Start and its first tick come together: the line's first notes are
    chosen while jazzd waits and held by the scheduler; the first tick releases them, so beat 1
    sounds on it with no step of the performer in between — the same notes the internal clock
    plays from beat 1 (a fresh line at the first tick was too slow on the emulated ALSA
    machine: its first note came a beat late). The Start's flush, asked for before the tick,
    does not take them back."""
    from jazzd.live.clock import MidiClockFollower

    t = [5.0]
    follower = MidiClockFollower(now=lambda: t[0])
    options = PlayOptions(port="synth", model="seed-metheny", seed=3)
    port = Recorder(follower)
    followed = wire(options, follower, port.send)
    followed.performer.step(t[0])  # stopped: the line is prepared, nothing is queued
    assert followed.scheduler.pending() == 0
    follower.on_message("start", 5.0)
    followed.scheduler.request_flush()  # what a Start asks for
    follower.on_message("clock", 5.001)
    t[0] = 5.001
    assert followed.scheduler.release(follower.start_beat)  # the first tick, on the reader's thread
    followed.scheduler.service(t[0])  # the timing thread, before the main thread steps
    first = [(when, m) for when, m in port.sent if m.type == "note_on"]
    assert first and first[0][0] == 5.001  # beat 1, at the tick
    followed.performer.step(t[0])  # the performer goes on after the held notes, not over them
    assert followed.performer.next_beat > 0

    internal = ManualClock(bpm=120)
    reference = Recorder(internal)
    line = wire(options, internal, reference.send)
    line.performer.step(internal.now())
    line.scheduler.service(internal.now())
    assert [m.note for _, m in reference.sent if m.type == "note_on"][:1] == [first[0][1].note]
