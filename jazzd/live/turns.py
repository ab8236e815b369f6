"""Turn-taking: when jazzd plays. Plain soloing plays throughout; trading takes turns of a few
bars with the keyboard player (beginning again at each section of a tune's form); answering
plays when the player has been quiet and gives way when they come back in. A performer asks
its strategy, at each token, whether the line is on and until when; a new strategy is one class
here and its name in `STRATEGIES`."""

from __future__ import annotations

import bisect
import math
from typing import Protocol

from jazzd.live.listen import Keyboard
from jazzd.live.scheduler import Scheduler
from jazzd.music.charts import Form
from jazzd.music.grammar import BEATS_PER_BAR


class Performer(Protocol):
    """What a strategy acts through: the performer that asks it."""

    keyboard: Keyboard
    scheduler: Scheduler
    next_beat: float | None

    def prime_with_phrase(self, since: float) -> None: ...

    def move_to(self, beat: float) -> None: ...


class Solo:
    """jazzd plays throughout."""

    def __init__(self, bars: int, form: Form | None, answer_after: float):
        self.length = bars * BEATS_PER_BAR  # beats of a turn (trading, answering)

    def reset(self) -> None:
        """A new session: turns of an earlier one are forgotten."""

    def until(self, beat: float) -> float:
        """If jazzd's turn is on at `beat`, the beat it ends (inf: no end); else -1."""
        return math.inf

    def listen(self, performer: Performer, playhead: float) -> None:
        """React to the keyboard player at the playhead."""

    def entering(self, performer: Performer, beat: float) -> None:
        """The line is about to be generated at `beat`, in jazzd's turn."""


class Trade(Solo):
    """Turns of `bars` bars, the keyboard's first; in a tune they begin again at each section
    (the last turn of a section may be shorter) and alternate across sections and choruses; an
    intro is one turn of its own, the keyboard's."""

    def __init__(self, bars: int, form: Form | None, answer_after: float):
        super().__init__(bars, form, answer_after)
        self.form = form
        self._starts = form.turn_beats(bars) if form else []
        self.started = -math.inf  # where the current jazzd turn began

    def reset(self) -> None:
        self.started = -math.inf

    def turn(self, beat: float) -> tuple[int, float, float]:
        """The number, start and end beat of the turn at `beat` (-1: the intro's)."""
        if not self._starts:
            number = math.floor(beat / self.length)
            return number, number * self.length, (number + 1) * self.length
        intro = self.form.intro_beats
        if beat < intro:
            return -1, 0.0, intro
        chorus_beats = self.form.chorus_beats
        chorus, within = divmod(beat - intro, chorus_beats)
        i = bisect.bisect_right(self._starts, within) - 1
        offset = intro + chorus * chorus_beats
        following = self._starts[i + 1] if i + 1 < len(self._starts) else chorus_beats
        return int(chorus) * len(self._starts) + i, offset + self._starts[i], offset + following

    def until(self, beat: float) -> float:
        number, _, end = self.turn(beat)
        return end if number >= 0 and number % 2 == 1 else -1.0

    def entering(self, performer: Performer, beat: float) -> None:
        """At a new turn, first prime the LSTM with the player's phrase — all of it but the last
        `lookahead` beats, which are still to be played when jazzd's first tokens are chosen."""
        _, start, _ = self.turn(beat)
        if start != self.started:
            self.started = start
            performer.prime_with_phrase(self.turn(start - 1e-9)[1])
            performer.move_to(performer.next_beat)


class Answer(Solo):
    """Answer once the player has been quiet for `answer_after` beats (for a turn's length);
    stop if they come back in."""

    def __init__(self, bars: int, form: Form | None, answer_after: float):
        super().__init__(bars, form, answer_after)
        self.after = answer_after
        self.answering_until = -1.0
        self.started = -math.inf  # the playhead when the answer began

    def reset(self) -> None:
        self.answering_until, self.started = -1.0, -math.inf

    def until(self, beat: float) -> float:
        return self.answering_until if beat < self.answering_until else -1.0

    def listen(self, performer: Performer, playhead: float) -> None:
        phrase = performer.keyboard.phrase
        if self.answering_until > playhead:  # answering
            if phrase.last_activity > self.started:  # the player came back in
                self.answering_until = -1.0
                performer.scheduler.request_flush()
            return
        quiet = not phrase.sounding and phrase.last_activity <= playhead - self.after
        if quiet and phrase.notes:
            start = math.ceil(playhead)
            self.started, self.answering_until = playhead, start + self.length
            performer.prime_with_phrase(-math.inf)
            performer.move_to(float(start))


STRATEGIES: dict[str, type[Solo]] = {"solo": Solo, "trade": Trade, "answer": Answer}
MODES = tuple(STRATEGIES)  # what the config, the setlist and the page accept
