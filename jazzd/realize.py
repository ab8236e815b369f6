"""The soloist: tokens from the engine, pitches realized over the chord in force.

Shared by the offline renderer and the live player. The token (rhythm and type) is decided
ahead; the pitch is decided only when `realize` is called, so in live play a chord change reaches
the very next note.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from jazzd.engine import Engine
from jazzd.music.chords import Chord
from jazzd.music.grammar import BAR_TICKS, DEFAULT_REGISTER, Note, Token, notes_of, realize_pitch

LANDING = Token("C", BAR_TICKS)  # the final note's kind: a chord tone (its length is set where it is played)


@dataclass
class Soloist:
    """Engine + realizer state: the previous pitch and a seeded generator for pitch choice."""

    engine: Engine
    register: tuple[int, int] = DEFAULT_REGISTER
    seed: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.prev_pitch: int | None = None
        self.chord: Chord | None = None  # the chord where the engine's next token starts

    def restart(self, position: int, chord: Chord | None = None) -> None:
        """A fresh line whose first token starts at tick `position` over `chord`."""
        self.engine.reset(position)
        self.prev_pitch, self.chord = None, chord

    def next_token(self, chord_at: Callable[[int], Chord] | None = None) -> Token:
        """The next token. With `chord_at` (the chords by tick) the engine learns, for the token
        after it, whether it starts over a new chord: as the chord sequence goes on, so a chord
        the keyboard player changes counts as new when the next token is chosen."""
        engine = self.engine
        token_id = engine.sample()
        token = engine.vocab.parsed[token_id]
        new_chord = False
        if chord_at is not None:
            chord = chord_at(engine.position + token.ticks)
            new_chord, self.chord = chord != self.chord, chord
        engine.feed(token_id, new_chord=new_chord)
        return token

    def realize(self, token: Token, chord: Chord) -> int:
        """The pitch for a note token over the chord in force now."""
        self.prev_pitch = realize_pitch(token, chord, self.prev_pitch, self.register, self.rng)
        return self.prev_pitch

    def land(self, chord: Chord) -> int:
        """The line's last pitch: a chord tone of the final chord, near the line."""
        return self.realize(LANDING, chord)

    def play(
        self, chord_at: Callable[[int], Chord], start: int, end: int, landing: int | None = None
    ) -> Iterator[Note]:
        """Notes from tick `start` until the line reaches `end` (the last note is cut there).
        With `landing` (a tick before `end`: a tune's final chord), the line stops there and
        ends on a chord tone held from `landing` to `end`."""
        self.chord = chord_at(start)
        stop = end if landing is None else landing
        yield from notes_of(
            self.tokens(chord_at), start, lambda token, at: self.realize(token, chord_at(at)), stop
        )
        if landing is not None:
            yield Note(landing, end - landing, self.land(chord_at(landing)), (landing - start) // BAR_TICKS)

    def tokens(self, chord_at: Callable[[int], Chord]) -> Iterator[Token]:
        """The engine's tokens, one after another, as long as they are asked for."""
        while True:
            yield self.next_token(chord_at)
