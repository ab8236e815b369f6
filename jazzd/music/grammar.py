"""The token grammar: a solo as chord-relative tokens, and tokens back to notes (README.md, "The
token grammar").

Time is counted in integer ticks of 1/12 beat, the finest step of the union of the 1/4- and
1/3-beat grids, so durations add up exactly and never drift. Token text `TYPE,DUR[,<LO,HI>]`
keeps DUR in beats with three decimals, as the course's grammar did.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from jazzd.music.chords import Chord

TICKS_PER_BEAT = 12
GRID_TICKS = (0, 3, 4, 6, 8, 9, 12)  # grid points inside one beat: quarters and thirds
MIN_REST_TICKS = 3  # a gap shorter than a quarter beat is legato, not a rest
BEATS_PER_BAR = 4  # jazzd plays in 4/4: the one place the bar length is set
BAR_TICKS = BEATS_PER_BAR * TICKS_PER_BEAT
MAX_TOKEN_TICKS = 4 * TICKS_PER_BEAT
WINDOW_HALF_WIDTH = 3
DEFAULT_REGISTER = (55, 84)  # MIDI notes a line is realized within, unless set otherwise
TOKEN_TYPES = ("C", "S", "A", "X", "R")


@dataclass(frozen=True, slots=True)
class Note:
    """A melody note in grid ticks; `bar` is the bar it starts in (for window resets)."""

    onset: int
    duration: int
    pitch: int
    bar: int = 0


@dataclass(frozen=True, slots=True)
class Token:
    """One note or rest: type, length in ticks and the optional interval window."""

    type: str
    ticks: int
    lo: int | None = None
    hi: int | None = None

    @property
    def text(self) -> str:
        head = f"{self.type},{self.ticks / TICKS_PER_BEAT:.3f}"
        return head if self.lo is None else f"{head},<{self.lo},{self.hi}>"

    @classmethod
    def parse(cls, text: str) -> Token:
        """Read `TYPE,DUR` or `TYPE,DUR,<LO,HI>`; raises ValueError on anything else."""
        parts = text.split(",", 2)
        if len(parts) < 2 or parts[0] not in TOKEN_TYPES:
            raise ValueError(f"not a grammar token: {text!r}")
        ticks = round(float(parts[1]) * TICKS_PER_BEAT)
        if ticks <= 0 or ticks > MAX_TOKEN_TICKS:
            raise ValueError(f"token duration out of range: {text!r}")
        if len(parts) == 2:
            return cls(parts[0], ticks)
        window = parts[2]
        if not (window.startswith("<") and window.endswith(">")) or parts[0] == "R":
            raise ValueError(f"bad interval window in token: {text!r}")
        lo, hi = (int(v) for v in window[1:-1].split(","))
        return cls(parts[0], ticks, lo, hi)


def quantize(beats: float) -> int:
    """Nearest point of the 1/4 + 1/3 beat grid, in ticks."""
    whole = int(beats // 1)
    frac = (beats - whole) * TICKS_PER_BEAT
    return whole * TICKS_PER_BEAT + min(GRID_TICKS, key=lambda g: abs(g - frac))


def next_grid_point(ticks: int) -> int:
    """The first grid point strictly after `ticks`."""
    whole, frac = divmod(ticks, TICKS_PER_BEAT)
    return whole * TICKS_PER_BEAT + next(g for g in GRID_TICKS if g > frac)


def _rests(ticks: int) -> list[Token]:
    """A silence split into rest tokens of at most MAX_TOKEN_TICKS."""
    out = []
    while ticks > 0:
        step = min(ticks, MAX_TOKEN_TICKS)
        out.append(Token("R", step))
        ticks -= step
    return out


def encode(notes: Sequence[Note], chord_at: Callable[[int], Chord]) -> list[Token]:
    """Tokens for a normalized monophonic line (see `solo.normalize_line`).

    Notes must be sorted, non-overlapping and at most MAX_TOKEN_TICKS long; the gap after each
    note becomes rest tokens. The first note and the first note of each bar get no window.
    """
    tokens: list[Token] = []
    prev: Note | None = None
    for i, note in enumerate(notes):
        kind = chord_at(note.onset).note_type(note.pitch)
        if prev is None or note.bar != prev.bar:
            tokens.append(Token(kind, note.duration))
        else:
            d = note.pitch - prev.pitch
            tokens.append(Token(kind, note.duration, d - WINDOW_HALF_WIDTH, d + WINDOW_HALF_WIDTH))
        if i + 1 < len(notes):
            tokens.extend(_rests(notes[i + 1].onset - note.onset - note.duration))
        prev = note
    return tokens


def realize_pitch(
    token: Token,
    chord: Chord,
    prev_pitch: int | None,
    register: tuple[int, int],
    rng: random.Random,
) -> int:
    """The pitch for a note token over `chord` (README.md, "The token grammar": realizing).

    Inside the window around the previous pitch when there is one; else the matching pitch
    nearest the previous pitch (or the register centre). The register is a hard bound.
    """
    low, high = register
    if prev_pitch is not None and token.lo is not None:
        window = [
            p
            for p in range(max(low, prev_pitch + token.lo), min(high, prev_pitch + token.hi) + 1)
            if chord.note_type(p) == token.type
        ]
        if len(window) > 1 and prev_pitch in window:
            window.remove(prev_pitch)
        if window:
            return rng.choice(window)
    anchor = prev_pitch if prev_pitch is not None else (low + high) // 2
    matching = [p for p in range(low, high + 1) if chord.note_type(p) == token.type]
    if len(matching) > 1 and prev_pitch in matching:
        matching.remove(prev_pitch)
    if not matching:
        return min(max(anchor, low), high)
    nearest = min(abs(p - anchor) for p in matching)
    return rng.choice([p for p in matching if abs(p - anchor) == nearest])


def notes_of(
    tokens: Iterable[Token], start: int, pitch: Callable[[Token, int], int], end: int | None = None
) -> Iterator[Note]:
    """The notes a token sequence plays from tick `start`: each token but a rest sounds for its
    length, at the pitch `pitch(token, onset)` chooses. With `end`, no token is taken once the
    line reaches it, and the last note is cut there. The one token→notes loop: realizing a
    corpus line, the soloist's live and rendered lines, and evaluation all go through it."""
    tokens = iter(tokens)
    at = start
    while end is None or at < end:
        token = next(tokens, None)
        if token is None:
            return
        if token.type != "R":
            length = token.ticks if end is None else min(token.ticks, end - at)
            yield Note(at, length, pitch(token, at), (at - start) // BAR_TICKS)
        at += token.ticks


def realize(
    tokens: Iterable[Token],
    chord_at: Callable[[int], Chord],
    start: int,
    register: tuple[int, int],
    rng: random.Random,
    prev_pitch: int | None = None,
) -> list[Note]:
    """Notes for a token sequence starting at tick `start`, over the chords `chord_at` gives."""
    previous = [prev_pitch]

    def pitch(token: Token, at: int) -> int:
        previous[0] = realize_pitch(token, chord_at(at), previous[0], register, rng)
        return previous[0]

    return list(notes_of(tokens, start, pitch))
