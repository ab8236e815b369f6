"""The motif memory: the soloist's recent notes, so that a line may restate its own figures and
develop them over moving harmony as soloists do (measured in models/README.md)."""

from __future__ import annotations

import random
from collections import defaultdict, deque

from jazzd.music.chords import Chord
from jazzd.music.grammar import Token
from jazzd.music.phrases import FIGURE

MOTIF_FOLLOW = 1.0  # the chance a note begins restating a figure: set on the validation solos
MEMORY = 48  # the notes a soloist remembers
LEAP = 12  # semitones: the farthest a restated figure starts from the line
LONGEST = 12  # notes in the longest figure restated
DEVELOP = 64  # notes a line plays before restating its figures (chosen on the training solos)
BALANCE = 1.0  # notes: how far ahead of the model in one kind of note restated figures may take the line


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
