"""The soloist: tokens from the engine, pitches realized over the chord in force.

Shared by the offline renderer and the live player. A note's pitch is planned when its token is
chosen, over the chord expected at its onset (in the order tokens are chosen, so the live line is
the rendered one); `realize` plays it at send time, or chooses afresh if the chord in force no
longer fits it, so in live play a chord change still reaches the very next note.
"""

from __future__ import annotations

import random
from collections import defaultdict, deque
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
from jazzd.music.phrases import FIGURE

if TYPE_CHECKING:  # the realizer runs on any engine; importing it would load onnxruntime for the CLI
    from jazzd.engine import Engine

MOTIF_FOLLOW = 1.0  # the chance a note begins restating a figure: set on the validation solos
MEMORY = 48  # the notes a soloist remembers
LEAP = 12  # semitones: the farthest a restated figure starts from the line
LONGEST = 12  # notes in the longest figure restated
DEVELOP = 64  # notes a line plays before restating its figures (chosen on the training solos)
BALANCE = 1.0  # notes: how far ahead of the model in one kind of note restated figures may take the line
LANDING = Token("C", BAR_TICKS)  # the final note's kind: a chord tone (its length is set where it is played)


class MotifMemory:
    """The soloist's recent notes, so that the line may restate one of its own figures.

    Soloists state ideas before they develop them (the real solos repeat 7 % of their 4-note
    figures in their first 16 bars, 17 % over the whole solo): a line plays `DEVELOP` notes of
    its own first. Then at a note token, when no figure is being restated, with chance `follow`
    the soloist picks a figure of 4 to 12 of its last notes that starts with a note of the
    token's kind, and plans the notes to come on it: where the chord now allows the figure's
    first four pitches, the same pitches (an exact repeat); else the same intervals from the
    nearest pitch of the token's kind (a sequence). The figure's rhythm (the model's draws) and
    contour are the idea; each note is judged against the chord sounding at its onset. The chord
    allows a pitch in the role it had in the figure (chord tone, scale tone, approach note) or in
    its scale; else the note moves to the nearest pitch of its role within a whole tone, or of
    the pitch moved as the roots moved (a sequence by the harmony); where nothing fits, the plan
    ends and the model's draw is played. Each later note token is drawn from the model's own
    distribution restricted to the planned note's kind and to the length the model drew, so the
    tokens the model is fed say what is played and rhythm and rests stay the model's.

    Restated figures copy the line, so any lean in which figures are kept would grow with each
    restatement: `excess` tallies each kind of note played against the model's own expectation,
    and where the model drew another kind than the figure's and the line is already more than
    `BALANCE` notes ahead in the figure's kind, the plan ends and the model's draw is played.

    A plan also ends with its figure, or where the register holds no pitch of a note's role;
    rests the model draws pass while the plan waits. At send time a planned pitch that no longer
    fits the chord in force (the keyboard player moved) is chosen afresh.
    """

    def __init__(self, follow: float, seed: int):
        self.follow = follow
        self.rng = random.Random(seed + 2)  # its own draws: without plans, the line is the same
        self.notes: deque[tuple[int, str, int]] = deque(maxlen=MEMORY)  # (pitch, kind, chord root) played
        self.plan: list[tuple[int, str, int]] = []  # the planned notes still to come, likewise
        self.last_pitch: int | None = None  # the last pitch planned or played
        self.excess: defaultdict[str, float] = defaultdict(float)  # notes of each kind, played - expected
        self.age = 0  # notes played since the line began

    def forget(self) -> None:
        self.notes.clear()
        self.age = 0
        self.plan, self.last_pitch = [], None
        self.excess.clear()

    def begin(self, token: Token, chord: Chord, register: tuple[int, int]) -> None:
        """Maybe plan the notes from `token` on on a figure of the line's."""
        if not self.follow or self.age < DEVELOP or self.rng.random() >= self.follow:
            return
        notes = list(self.notes)
        starts = [  # figures that end before the last figure played, of three pitches or more
            i
            for i in range(len(notes) - 2 * FIGURE + 1)
            if notes[i][1] == token.type and len({p for p, _, _ in notes[i : i + FIGURE]}) >= FIGURE - 1
        ]
        if not starts:
            return
        exact = [  # figures whose first notes the chord now allows in the roles they had
            i
            for i in starts
            if self.near(token, notes[i][0])
            and all(_allows(chord, p, k) for p, k, _ in notes[i : i + FIGURE])
        ]
        start = self.rng.choice(exact or starts)
        figure = notes[start : start + self.rng.randint(FIGURE, LONGEST)]
        first = figure[0][0]
        low, high = register
        shift = 0
        if not exact:  # a sequence: from the nearest pitch of the token's kind
            anchor = self.last_pitch if self.last_pitch is not None else first
            pitches = [
                p
                for p in range(low, high + 1)
                if chord.note_type(p) == token.type and p != first and self.near(token, p)
            ]
            if not pitches:
                return
            shift = min(pitches, key=lambda p: (abs(p - anchor), p)) - first
        if all(low <= p + shift <= high for p, _, _ in figure):
            self.plan = [(p + shift, kind, (root + shift) % 12) for p, kind, root in figure]

    def near(self, token: Token, pitch: int) -> bool:
        """A figure may start on `pitch` where the token's window holds it, or (without one) a
        fifth from the line at most: restating a figure is no reason to leap."""
        if self.last_pitch is None:
            return True
        return self.fits(token, pitch) and 0 < abs(pitch - self.last_pitch) <= LEAP

    def fits(self, token: Token, pitch: int) -> bool:
        """The token's interval window holds the pitch (or the token has none)."""
        interval = None if self.last_pitch is None else pitch - self.last_pitch
        return token.lo is None or interval is None or token.lo <= interval <= token.hi

    def next_note(self, chord: Chord, register: tuple[int, int]) -> tuple[int, str] | None:
        """The plan's next note (pitch, kind) over `chord`, taken from the plan: the planned
        pitch where the chord allows it; else the nearest pitch of its role within a whole tone
        of it, or of it moved with the roots; None where nothing fits (the plan ends)."""
        pitch, kind, root = self.plan.pop(0)
        if _allows(chord, pitch, kind):
            return pitch, chord.note_type(pitch)
        moved = self.nearest(pitch, kind, chord, register)
        if moved is None:
            moved = self.nearest(pitch + _motion(root, chord.root), kind, chord, register)
        if moved is None:
            self.plan = []
            return None
        return moved, kind

    def nearest(
        self, pitch: int, kind: str, chord: Chord, register: tuple[int, int], reach: int = 2
    ) -> int | None:
        """The pitch of `kind` over `chord` nearest `pitch`, within `reach` semitones and the
        register (a tie drawn); None if there is none."""
        low, high = register
        near = [
            p
            for p in range(pitch - reach, pitch + reach + 1)
            if low <= p <= high and chord.note_type(p) == kind
        ]
        if not near:
            return None
        distance = min(abs(p - pitch) for p in near)
        return self.rng.choice([p for p in near if abs(p - pitch) == distance])

    def count(self, kind: str, shares: dict[str, float]) -> None:
        """Keep the line's tally of each kind of note against what the model expected: a
        figure restated whatever the model draws would otherwise tip the line's balance of
        chord tones, scale tones and approach notes, since restated figures copy the line."""
        for other, share in shares.items():
            self.excess[other] -= share
        self.excess[kind] += 1

    def remember(self, pitch: int, kind: str, root: int) -> None:
        self.notes.append((pitch, kind, root))
        self.age += 1
        if not self.plan:  # while a plan runs, the planned pitches (chosen ahead) are the line's
            self.last_pitch = pitch


def _allows(chord: Chord, pitch: int, kind: str) -> bool:
    """The chord allows a figure's pitch where it has its role, or lies in the chord's scale."""
    now = chord.note_type(pitch)
    return now == kind or now in "CS"


def _motion(root: int, to: int) -> int:
    """The roots' motion from `root` to `to`, in semitones, the shorter way (-6 to 5)."""
    return (to - root + 6) % 12 - 6


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
