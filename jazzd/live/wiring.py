"""The live parts of one performance, wired together the one way the player, the benches and the
tests all build them: engine → soloist → performer → scheduler, with the chord tracker and the
keyboard, whose knobs and switches act through the `ACTIONS` table.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import mido

from jazzd.live.clock import Clock
from jazzd.live.config import PlayOptions
from jazzd.live.listen import ChordTracker, Keyboard
from jazzd.live.perform import Performer
from jazzd.live.scheduler import Scheduler
from jazzd.live.stage import Stage
from jazzd.live.turns import STRATEGIES
from jazzd.music.charts import Chart
from jazzd.solo.engine import Engine
from jazzd.solo.feel import Feel
from jazzd.solo.soloist import Soloist


@dataclass
class Live:
    """One performance's parts; `options` are the settings they were built from."""

    options: PlayOptions
    engine: Engine
    soloist: Soloist
    scheduler: Scheduler
    chords: ChordTracker
    keyboard: Keyboard
    performer: Performer
    stage: Stage


def temperature(live: Live, value: int) -> None:
    live.engine.temperature = 0.2 + 1.8 * value / 127


def density(live: Live, value: int) -> None:
    live.performer.density = value / 127


def register(live: Live, value: int) -> None:
    """Moves the configured register's width between MIDI 36 and 96, never outside 0-127."""
    low, high = live.options.register
    width = high - low
    low = min(max(round(36 + (96 - 36 - width) * value / 127), 0), 127 - width)
    live.soloist.register = (low, low + width)


def start_stop(live: Live, value: int) -> None:
    live.performer.paused = value < 64
    if live.performer.paused:
        live.scheduler.request_flush()


def panic(live: Live, value: int) -> None:
    if value >= 64:
        live.scheduler.request_flush()


def call(live: Live, program: int) -> None:
    """A Program Change: setlist entry `program` + 1 (programs as keyboards count them)."""
    live.stage.ask("call", program, "keyboard")


def next_tune(live: Live, value: int) -> None:
    if value >= 64:
        live.stage.ask("step", 1, "keyboard")


def previous_tune(live: Live, value: int) -> None:
    if value >= 64:
        live.stage.ask("step", -1, "keyboard")


def tap(live: Live, value: int) -> None:
    if value >= 64:
        live.stage.tap(live.keyboard.arrival, "keyboard")


ACTIONS: dict[str, Callable[[Live, int], None]] = {
    "temperature": temperature,
    "density": density,
    "register": register,
    "start_stop": start_stop,
    "panic": panic,
    "call": call,
    "next": next_tune,
    "previous": previous_tune,
    "tap": tap,
}


def wire(
    options: PlayOptions,
    clock: Clock,
    send: Callable[[mido.Message, float | None], None],
    record_lateness: bool = False,
    stage: Stage | None = None,
    carried: Live | None = None,
) -> Live:
    """Every part of a performance over `clock`, sending through `send`; the keyboard feeds the
    performer's turn-taking only when an input is named in `options`. The next tune of a run
    (`carried`: the one before) goes on with its engine and its scheduler (and the notes still
    sounding in it); its line starts afresh."""
    if carried is not None:
        engine, scheduler = carried.engine, carried.scheduler
        engine.temperature = options.temperature
    else:
        engine = Engine(
            options.model, seed=options.seed, temperature=options.temperature, top_p=options.top_p
        )
        scheduler = Scheduler(
            clock, send, record_lateness=record_lateness, realtime_priority=options.realtime_priority
        )
    soloist = Soloist(engine, register=options.register, seed=options.seed, motifs=options.motifs)
    chart = options.chart or Chart.of_progression(options.chords)
    choruses = options.choruses or None
    timeline = chart.timeline(choruses)
    engine.bar_position = timeline.bar_position  # the chart's bars, at their lengths
    chords = ChordTracker(timeline)
    keyboard = Keyboard(chords, options.split, options.controls, {}, lambda: clock.beat_at(clock.now()))
    form = chart.form_of(choruses) if options.tune or choruses else None
    performer = Performer(
        soloist,
        scheduler,
        chords.chord_at,
        channel=options.channel - 1,
        feel=Feel(swing=options.swing),
        turns=STRATEGIES[options.mode](options.trade_bars, form, options.answer_after),
        keyboard=keyboard if options.input else None,
        lookahead=options.lookahead,
        seed=options.seed,
        form=form,
    )
    live = Live(
        options, engine, soloist, scheduler, chords, keyboard, performer, stage or Stage(options.setlist)
    )
    keyboard.actions = {name: functools.partial(action, live) for name, action in ACTIONS.items()}
    return live
