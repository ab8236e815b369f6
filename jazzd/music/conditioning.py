"""What a model reads beside each token: its conditioning input, in one place.

A model may read, as a one-hot beside the token, where in the bar the next token starts
(`bar_position`, BAR_TICKS values) and, on top of that, whether it is the first token over a new
chord (`chord_changes`: the bar position again in a second half). Training builds the indexes
from a corpus, export sizes the ONNX input by it, the sidecar records its size, and the engine
sets the one-hot at each step: all through this object.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from jazzd.music.chords import Chord
from jazzd.music.grammar import BAR_TICKS, Token


@dataclass(frozen=True)
class Conditioning:
    bar_position: bool = False
    chord_changes: bool = False

    def __post_init__(self) -> None:
        if self.chord_changes and not self.bar_position:
            raise ValueError("chord changes are read beside the bar position, never alone")

    @property
    def size(self) -> int:
        """Length of the one-hot input (0: the model reads the token alone)."""
        return (2 if self.chord_changes else 1) * BAR_TICKS if self.bar_position else 0

    @classmethod
    def of_size(cls, size: object) -> Conditioning:
        """The conditioning a sidecar's `phase_size` stands for (ValueError for any other)."""
        for known in SIZES:
            if known.size == size:
                return known
        raise ValueError(f"must be one of {', '.join(str(c.size) for c in SIZES)}")

    def index(self, position: int, new_chord: bool) -> int:
        """The hot index for a token starting at tick `position` (bar-aligned ticks)."""
        return position % BAR_TICKS + (BAR_TICKS if new_chord and self.chord_changes else 0)

    def indexes(
        self,
        tokens: Sequence[Token],
        start: int,
        bar_position: Callable[[int], int],
        chord_at: Callable[[int], Chord],
    ) -> list[int]:
        """The hot index of each token of a line starting at tick `start`."""
        return [
            self.index(p, n)
            for p, n in zip(
                onset_phases(tokens, start, bar_position),
                new_chord_flags(tokens, start, chord_at),
                strict=True,
            )
        ]


SIZES = (Conditioning(), Conditioning(True), Conditioning(True, True))


def onset_phases(tokens: Sequence[Token], start: int, bar_position: Callable[[int], int]) -> list[int]:
    """Where each token starts in its bar, in ticks (0 = the downbeat; bars longer than 4/4
    wrap), for tokens from tick `start`."""
    phases, at = [], start
    for token in tokens:
        phases.append(bar_position(at) % BAR_TICKS)
        at += token.ticks
    return phases


def new_chord_flags(tokens: Sequence[Token], start: int, chord_at: Callable[[int], Chord]) -> list[bool]:
    """For each token from tick `start`: is it the first over a new chord? (The first token of
    a line is: the soloist has not played over that chord yet.)"""
    flags, at, previous = [], start, None
    for token in tokens:
        chord = chord_at(at)
        flags.append(chord != previous)
        previous = chord
        at += token.ticks
    return flags
