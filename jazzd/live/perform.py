"""The performer: keeps generation a little ahead of the playhead and hands notes to the
scheduler, with swing, accents, density and the turn-taking of the `trade` and `answer` modes.

Tokens (rhythm and type) are decided up to `lookahead` beats ahead; each note's pitch is
realized by the scheduler at its send time over the chord in force then.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable

from jazzd.live.config import PlayOptions
from jazzd.live.listen import Keyboard
from jazzd.live.scheduler import LATE_LIMIT, Scheduler
from jazzd.live.turns import Solo
from jazzd.music.charts import Form
from jazzd.music.chords import Chord
from jazzd.music.grammar import BEATS_PER_BAR, TICKS_PER_BEAT
from jazzd.solo.feel import Feel
from jazzd.solo.soloist import Soloist

log = logging.getLogger(__name__)

COUNT_IN_ACCENT, COUNT_IN_VELOCITY = 110, 80
MAX_AHEAD = 4.0  # beats: one token (at most 4 beats) may end this far past the lookahead


def next_sixteenth(beat: float) -> float:
    """The first point of the 16th-note grid after `beat` (exact as long as floats hold the
    grid, 2^51 beats; a `ceil(beat + epsilon)` stops moving past 2^24)."""
    return (math.floor(beat * 4) + 1) / 4


def count_in(scheduler: Scheduler, bars: int, channel: int, note: int) -> None:
    """A click on every beat of the `bars` before beat 0, the downbeats accented."""
    for beat in range(-bars * BEATS_PER_BAR, 0):
        velocity = COUNT_IN_ACCENT if beat % BEATS_PER_BAR == 0 else COUNT_IN_VELOCITY
        scheduler.note(float(beat), 0.25, channel, velocity, lambda at: note)


def begin_counting(
    scheduler: Scheduler,
    options: PlayOptions,
    end: float,
    first: float,
    resume: bool = False,
    next_tune: bool = False,
) -> None:
    """From `first`: the clock out (Start before anything else on the first beat; for the next
    tune Stop, the top and Start) to the tune's last bar line `end`, and the count-in's clicks
    (none when resuming)."""
    if options.clock_out:
        if next_tune:
            scheduler.restart_clock_out(first)
        else:
            scheduler.start_clock_out(first, resume=resume)
        if math.isfinite(end):
            scheduler.stop_clock_out(end)
    if not resume and options.count_in and options.count_in_channel:
        count_in(scheduler, options.count_in, options.count_in_channel - 1, options.count_in_note)


class Performer:
    """Feeds the scheduler from the soloist; call `step(now)` every few milliseconds."""

    def __init__(
        self,
        soloist: Soloist,
        scheduler: Scheduler,
        chord_at: Callable[[float], Chord],
        channel: int = 0,
        feel: Feel | None = None,
        turns: Solo | None = None,
        keyboard: Keyboard | None = None,
        lookahead: float = 0.5,
        seed: int = 0,
        form: Form | None = None,
    ):
        self.soloist = soloist
        self.scheduler = scheduler
        self.chord_at = chord_at
        self.channel = channel
        self.feel = feel or Feel()
        self.turns = turns or Solo(4, form, 2.0)  # when jazzd plays
        self.keyboard = keyboard
        self.lookahead = lookahead
        self.density = 1.0
        self.paused = False
        self.next_beat: float | None = None
        self.form = form
        end = form.end_beat if form else None
        self.end = math.inf if end is None else float(end)  # the tune's last bar line
        self.landing = math.inf if form is None or form.landing is None else form.landing / TICKS_PER_BEAT
        self.landed = False
        self._dice = random.Random(seed + 1)
        self._held: list[tuple] | None = None  # notes being prepared for a session not yet begun
        self._prepared: tuple[float, float] | None = None  # (its first beat, where generation goes on)

    # -- turns ---------------------------------------------------------------------------------

    def _turn_end(self, beat: float) -> float:
        """If jazzd's turn is on at `beat`, the beat it ends (inf: no end); else -1."""
        return -1.0 if self.paused else self.turns.until(beat)

    def _playing_until(self, beat: float) -> float:
        """If jazzd plays at `beat`, the beat it stops (its turn's end, or where a tune's line
        lands); else -1."""
        until = self._turn_end(beat)
        return -1.0 if until < 0 or beat >= self.landing else min(until, self.landing)

    def finished(self, playhead: float) -> bool:
        """A tune with a number of choruses has reached its last bar line."""
        return playhead >= self.end

    def _land(self) -> None:
        """The last chorus's last note: a chord tone of the final chord, held to the bar line
        (if the line is jazzd's then)."""
        self.landed = True
        if self._turn_end(self.landing) < 0:
            return
        start, end = self.feel.place(self.landing), self.end
        self.scheduler.note(
            start,
            end - start,
            self.channel,
            self.feel.velocity(self.landing),
            lambda at: self.soloist.land(self.chord_at(round(at * TICKS_PER_BEAT))),
        )

    def prime_with_phrase(self, since: float) -> None:
        """Feed the LSTM the keyboard player's phrase since `since`, so jazzd answers it."""
        tokens = self.keyboard.take_phrase(since)
        if tokens:
            self.soloist.engine.prime(self.soloist.engine.vocab.ids(tokens))
            log.debug("primed with the player's %d tokens", len(tokens))

    # -- generation ----------------------------------------------------------------------------

    def move_to(self, beat: float) -> None:
        """Generation continues from `beat` (the engine learns where in the bar that is)."""
        self.next_beat = beat
        self.soloist.engine.align(round(beat * TICKS_PER_BEAT))

    def _first_beat(self, now: float, playhead: float) -> float:
        """Where the session's line starts: where the session starts (beat 0 of bar 1, or the
        position a Continue or Song Position gave), if that is not past; else the next beat."""
        clock = self.scheduler.clock
        start = max(clock.start_beat, 0.0)  # a count-in runs before beat 0
        if playhead <= start or clock.time_of(start) >= now - LATE_LIMIT:
            return start
        return float(math.ceil(playhead))

    def _start_line(self, beat: float) -> None:
        """A fresh line from `beat`, as `jazzd render` starts one: the same seed, progression
        and tempo give the same tokens. Turns of an earlier session are forgotten."""
        tick = round(beat * TICKS_PER_BEAT)
        self.next_beat = beat
        self.turns.reset()
        self.landed = False
        self.soloist.restart(tick, self.chord_at(tick))

    def step(self, now: float) -> None:
        clock = self.scheduler.clock
        if not clock.running:
            self.next_beat = None
            start = clock.next_start
            if start is not None and (self._prepared is None or self._prepared[0] != start):
                self._prepare(start)
            return
        playhead = clock.beat_at(now)
        fresh = self.next_beat is None
        if fresh:  # a new session (a start, a Start, a Continue): a fresh line
            self._begin(self._first_beat(now, playhead))
        elif self.landed:  # the tune is over: nothing more until a new session
            return
        if self.keyboard is not None:
            self.turns.listen(self, playhead)
        if not fresh and not playhead <= self.next_beat <= playhead + self.lookahead + MAX_AHEAD:
            # behind (after a stop or a stall), or far ahead (the clock jumped back: Start, Song
            # Position): go on from the playhead
            self.move_to(math.ceil(playhead * TICKS_PER_BEAT) / TICKS_PER_BEAT)
        self._generate(playhead)

    def _prepare(self, beat: float) -> None:
        """Before a followed clock starts: the line's first notes, chosen now and held by the
        scheduler, which the session's first tick releases — choosing them then came too late
        for the first beat (a note skipped, the line entering a beat late)."""
        self._start_line(beat)
        self._held = []
        self._generate(beat)
        self.scheduler.hold(beat, self._held)
        self._held, self._prepared, self.next_beat = None, (beat, self.next_beat), None

    def _begin(self, beat: float) -> None:
        """A session begins at `beat`: the line prepared for it goes on, or a fresh line."""
        prepared, self._prepared = self._prepared, None
        if prepared is not None and self.scheduler.release(prepared[0]):
            self.next_beat = prepared[1]
            return
        self._start_line(beat)

    def _note(self, *note) -> None:
        if self._held is not None:
            self._held.append(note)
        else:
            self.scheduler.note(*note)

    def _generate(self, playhead: float) -> None:
        """Tokens from `next_beat` until the lookahead past `playhead` is covered."""
        while self.next_beat < playhead + self.lookahead:
            if self.next_beat >= self.landing:
                self._land()
                return
            until = self._playing_until(self.next_beat)
            if until < 0:  # listen, on a 16th grid
                self.move_to(next_sixteenth(self.next_beat))
                continue
            if self.keyboard is not None:
                self.turns.entering(self, self.next_beat)
            token = self.soloist.next_token(self.chord_at)
            planned = self.soloist.planned
            beat, length = self.next_beat, min(token.ticks / TICKS_PER_BEAT, until - self.next_beat)
            self.next_beat += token.ticks / TICKS_PER_BEAT
            if token.type == "R" or self._dice.random() >= self.density:
                continue
            start, end = self.feel.place(beat), self.feel.place(beat + length)
            self._note(
                start,
                end - start,
                self.channel,
                self.feel.velocity(beat),
                lambda at, token=token, planned=planned: self.soloist.realize(
                    token,
                    self.chord_at(round(at * TICKS_PER_BEAT)),
                    planned,  # a tick: beats add up in floats
                ),
            )
