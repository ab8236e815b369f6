"""What a model reads beside each token: its conditioning, as named features, in one place.

A feature is a one-hot input of the ONNX step, fed by its name, computed from where the next
token starts: `bar_position` (where in the bar, BAR_TICKS values) or `bar_position_and_new_chord`
(the same, in a second half when it is the first token over a new chord). The sidecar records
each feature (name, size, what it reads); training builds the indexes from a corpus, export names
and sizes the inputs, and the engine sets each one-hot at every step: all through this module.
A sidecar from before features (`phase_size`) reads as the one feature `phase`. A new feature is
one entry in `READS` (its size and how its index is computed) and its name in a model's list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from jazzd.music.chords import Chord
from jazzd.music.grammar import BAR_TICKS, Token

# What a feature can read: (its size, its hot index from the bar position and the new-chord flag).
READS: dict[str, tuple[int, Callable[[int, bool], int]]] = {
    "bar_position": (BAR_TICKS, lambda position, new_chord: position % BAR_TICKS),
    "bar_position_and_new_chord": (
        2 * BAR_TICKS,
        lambda position, new_chord: position % BAR_TICKS + (BAR_TICKS if new_chord else 0),
    ),
}
PHASE = "phase"  # the input's name in every model so far


@dataclass(frozen=True)
class Feature:
    """One named one-hot input beside the token."""

    name: str
    reads: str  # a key of READS

    @property
    def size(self) -> int:
        return READS[self.reads][0]

    def index(self, position: int, new_chord: bool) -> int:
        """The hot index for a token starting `position` ticks into its bar."""
        return READS[self.reads][1](position, new_chord)

    def describe(self) -> dict:
        return {"name": self.name, "size": self.size, "reads": self.reads}


@dataclass(frozen=True)
class Conditioning:
    features: tuple[Feature, ...] = ()

    @classmethod
    def of(
        cls, bar_position: bool = False, chord_changes: bool = False, extra: Sequence[str] = ()
    ) -> Conditioning:
        """What training's flags ask for: the bar position (the `phase` input), on top of it the
        chord changes, and any further features by what they read (each its own input)."""
        if chord_changes and not bar_position:
            raise ValueError("chord changes are read beside the bar position, never alone")
        unknown = [name for name in extra if name not in READS]
        if unknown:
            raise ValueError(f"no feature reads {unknown[0]!r} (features: {', '.join(READS)})")
        phase = Feature(PHASE, "bar_position_and_new_chord" if chord_changes else "bar_position")
        return cls(((phase,) if bar_position else ()) + tuple(Feature(name, name) for name in extra))

    @property
    def size(self) -> int:
        """The one-hot inputs' total length (0: the model reads the token alone)."""
        return sum(f.size for f in self.features)

    @classmethod
    def from_sidecar(cls, sidecar: dict) -> Conditioning:
        """The features a sidecar records (ValueError saying what is wrong); a sidecar from
        before features gives `phase_size`, read as the one feature `phase`."""
        if "conditioning" not in sidecar:
            size = sidecar.get("phase_size", 0)
            for flags in ((False, False), (True, False), (True, True)):
                if cls.of(*flags).size == size and not isinstance(size, bool):
                    return cls.of(*flags)
            raise ValueError(f"key 'phase_size' must be one of 0, {BAR_TICKS}, {2 * BAR_TICKS}")
        listed = sidecar["conditioning"]
        if not isinstance(listed, list) or not all(isinstance(f, dict) for f in listed):
            raise ValueError("key 'conditioning' must be a list of features")
        features = []
        for entry in listed:
            name, reads, size = entry.get("name"), entry.get("reads"), entry.get("size")
            if not isinstance(name, str) or reads not in READS or READS[reads][0] != size:
                known = ", ".join(f"{k} ({v[0]})" for k, v in READS.items())
                raise ValueError(f"key 'conditioning': feature {entry!r} must read one of {known}")
            features.append(Feature(name, reads))
        return cls(tuple(features))

    def sidecar(self) -> list[dict]:
        return [f.describe() for f in self.features]

    def indexes(
        self,
        tokens: Sequence[Token],
        start: int,
        bar_position: Callable[[int], int],
        chord_at: Callable[[int], Chord],
    ) -> list[tuple[int, ...]]:
        """The hot indexes of each token of a line starting at tick `start`, one per feature."""
        return [
            tuple(feature.index(p, n) for feature in self.features)
            for p, n in zip(
                onset_phases(tokens, start, bar_position),
                new_chord_flags(tokens, start, chord_at),
                strict=True,
            )
        ]


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
