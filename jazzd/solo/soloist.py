"""The soloist: tokens from the engine, pitches realized over the chord in force.

Shared by the offline renderer and the live player. A note's pitch is planned when its token is
chosen, over the chord expected at its onset (in the order tokens are chosen, so the live line is
the rendered one); `realize` plays it at send time, or chooses afresh if the chord in force no
longer fits it, so in live play a chord change still reaches the very next note.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from jazzd.music.chords import Chord
from jazzd.music.grammar import (
    BAR_TICKS,
    DEFAULT_REGISTER,
    Note,
    Token,
    notes_of,
    realize_pitch,
)
from jazzd.solo.memory import BALANCE, MOTIF_FOLLOW, MotifMemory

if TYPE_CHECKING:  # the realizer runs on any engine; importing it would load onnxruntime for the CLI
    from jazzd.solo.engine import Engine

LANDING = Token("C", BAR_TICKS)  # the final note's kind: a chord tone (its length is set where it is played)


class Planned(NamedTuple):
    """A note's pitch as planned when its token was chosen, over the chord expected then."""

    pitch: int
    chord: Chord


@dataclass
class Soloist:
    """Engine + realizer state: the previous pitch and a seeded generator for pitch choice."""

    engine: Engine
    register: tuple[int, int] = DEFAULT_REGISTER
    seed: int = 0
    motifs: float = MOTIF_FOLLOW  # the chance a phrase restates an earlier figure (0: no motif memory)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.prev_pitch: int | None = None
        self.chord: Chord | None = None  # the chord where the engine's next token starts
        self.memory = MotifMemory(self.motifs, self.seed)
        self.planned: Planned | None = None  # the last note token's planned pitch: pass it to `realize`

    def restart(self, position: int, chord: Chord | None = None) -> None:
        """A fresh line whose first token starts at tick `position` over `chord`."""
        self.engine.reset(position)
        self.prev_pitch, self.chord = None, chord
        self.memory.forget()

    def next_token(self, chord_at: Callable[[int], Chord] | None = None) -> Token:
        """The next token. With `chord_at` (the chords by tick) the engine learns, for the token
        after it, whether it starts over a new chord: as the chord sequence goes on, so a chord
        the keyboard player changes counts as new when the next token is chosen. And a note's
        pitch is planned over the chord expected at its onset (`self.planned`): from a figure
        the motif memory restates, else the realizer's choice — here, in the order the tokens
        are chosen, so the live line (chosen ahead, played later) is the rendered one."""
        engine = self.engine
        token_id = engine.sample()
        self.planned = planned = None
        if chord_at is not None:
            onset_chord = chord_at(engine.position)
            token_id, planned = self._plan(token_id, onset_chord)
        token = engine.vocab.parsed[token_id]
        if chord_at is not None and token.type != "R":
            pitch = (
                planned
                if planned is not None
                else realize_pitch(token, onset_chord, self.prev_pitch, self.register, self.rng)
            )
            self.planned = Planned(pitch, onset_chord)
            self._played(token, pitch, onset_chord)
        new_chord = False
        if chord_at is not None:
            chord = chord_at(engine.position + token.ticks)
            new_chord, self.chord = chord != self.chord, chord
        engine.feed(token_id, new_chord=new_chord)
        return token

    def _plan(self, token_id: int, chord: Chord) -> tuple[int, int | None]:
        """The motif memory's part in choosing a token starting over `chord`: a note may begin
        restating a figure; the notes after it follow it while they can. Returns the token id
        and the pitch the figure gives it (None: none)."""
        parsed, memory = self.engine.vocab.parsed, self.memory
        drawn = parsed[token_id]
        if not memory.follow or drawn.type == "R":
            return token_id, None
        if not memory.plan:
            memory.begin(drawn, chord, self.register)
        shares = self._note_shares()
        planned = memory.next_note(chord, self.register) if memory.plan else None
        if planned is not None and planned[1] != drawn.type and memory.excess[planned[1]] > BALANCE:
            memory.plan, planned = [], None  # the line is ahead of the model in the figure's kind
        if planned is not None:
            memory.last_pitch = planned[0]
            if planned[1] != drawn.type:
                token_id = self._draw_as(planned[1], drawn.ticks)
        memory.count(parsed[token_id].type, shares)
        return token_id, None if planned is None else planned[0]

    def _draw_as(self, kind: str, ticks: int) -> int:
        """A token of `kind` from the model's distribution, as long as the token it drew (if
        the vocabulary has one such): the figure sets the kind, the rhythm stays the model's."""
        vocab = self.engine.vocab
        among = vocab.kinds[kind] * vocab.lengths[ticks]
        return self.engine.sample(among if among.any() else vocab.kinds[kind])

    def _note_shares(self) -> dict[str, float]:
        """The model's chances now of each kind of note (C, S, A, X), given a note."""
        distribution = self.engine.distribution()
        shares = {k: float(distribution @ m) for k, m in self.engine.vocab.kinds.items() if k != "R"}
        total = sum(shares.values())
        return {k: share / total for k, share in shares.items()}

    def realize(self, token: Token, chord: Chord, planned: Planned | None = None) -> int:
        """The pitch for a note token over the chord in force now: the one `planned` when the
        token was chosen, if the chord is the one expected then or the pitch still fits it (else
        the keyboard player moved meanwhile: the realizer chooses afresh)."""
        if planned is not None and (planned.chord == chord or chord.note_type(planned.pitch) == token.type):
            return planned.pitch
        pitch = realize_pitch(token, chord, self.prev_pitch, self.register, self.rng)
        self._played(token, pitch, chord)
        return pitch

    def _played(self, token: Token, pitch: int, chord: Chord) -> None:
        self.prev_pitch = pitch
        self.memory.remember(pitch, token.type, chord.root)

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
            self.tokens(chord_at),
            start,
            lambda token, at: self.realize(token, chord_at(at), self.planned),
            stop,
        )
        if landing is not None:
            yield Note(landing, end - landing, self.land(chord_at(landing)), (landing - start) // BAR_TICKS)

    def tokens(self, chord_at: Callable[[int], Chord]) -> Iterator[Token]:
        """The engine's tokens, one after another, as long as they are asked for."""
        while True:
            yield self.next_token(chord_at)
