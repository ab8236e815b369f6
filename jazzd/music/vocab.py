"""The vocabulary: token texts in sorted order (the model's one-hot order), counts, pruning.

Sorted by text, never built from a set, so the same corpus always gives the same indices.
Pruning keeps tokens seen at least `min_count` times and maps each rare token to the nearest
kept one (same type first, then duration, then interval window), so no training token is lost.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from jazzd.errors import JazzdError
from jazzd.music.grammar import Token


class Vocabulary:
    """Token texts sorted by text, with their counts; the index order is the one-hot order."""

    def __init__(self, counts: dict[str, int]) -> None:
        self.tokens: list[str] = sorted(counts)
        self.counts: list[int] = [counts[t] for t in self.tokens]
        self.index: dict[str, int] = {t: i for i, t in enumerate(self.tokens)}
        self.parsed: list[Token] = [Token.parse(t) for t in self.tokens]
        # masks for a restricted draw (Engine.sample): 1 where a token has the type / the length
        self.kinds: dict[str, np.ndarray] = {
            kind: np.array([t.type == kind for t in self.parsed], np.float32)
            for kind in dict.fromkeys(t.type for t in self.parsed)
        }
        self.lengths: dict[int, np.ndarray] = {
            ticks: np.array([t.ticks == ticks for t in self.parsed], np.float32)
            for ticks in dict.fromkeys(t.ticks for t in self.parsed)
        }

    @classmethod
    def from_sequences(cls, sequences: Iterable[Iterable[Token]], min_count: int = 1) -> Vocabulary:
        counts = Counter(t.text for seq in sequences for t in seq)
        kept = {t: n for t, n in counts.items() if n >= min_count}
        if not kept:
            raise JazzdError(f"no token occurs {min_count} times or more: lower the minimum count")
        vocab = cls(kept)
        for text, n in counts.items():  # a pruned token's count goes to its stand-in
            if n < min_count:
                vocab.counts[vocab.nearest(Token.parse(text))] += n
        return vocab

    def __len__(self) -> int:
        return len(self.tokens)

    def nearest(self, token: Token) -> int:
        """Index of `token`, or of the closest kept token when it was pruned."""
        exact = self.index.get(token.text)
        if exact is not None:
            return exact

        def distance(kept: Token) -> tuple:
            window = (
                0
                if kept.lo is None and token.lo is None
                else abs((kept.lo or 0) + (kept.hi or 0) - (token.lo or 0) - (token.hi or 0)) / 2
                if (kept.lo is None) == (token.lo is None)
                else 100
            )
            return (kept.type != token.type, window + abs(kept.ticks - token.ticks), kept.text)

        return min(range(len(self.parsed)), key=lambda i: distance(self.parsed[i]))

    def ids(self, tokens: Sequence[Token]) -> np.ndarray:
        """Token ids for a sequence, rare tokens mapped to their stand-ins."""
        cache: dict[str, int] = {}
        out = np.empty(len(tokens), dtype=np.int32)
        for i, token in enumerate(tokens):
            if token.text not in cache:
                cache[token.text] = self.nearest(token)
            out[i] = cache[token.text]
        return out

    def to_json(self) -> dict:
        return {"tokens": self.tokens, "counts": self.counts}

    @classmethod
    def from_json(cls, data: dict, where: str = "vocabulary") -> Vocabulary:
        """Rebuild from `to_json` output; every token must parse and counts must line up."""
        try:
            tokens, counts = data["tokens"], data["counts"]
            if len(tokens) != len(counts) or len(set(tokens)) != len(tokens) or not tokens:
                raise ValueError("tokens and counts differ in length, repeat, or are empty")
            return cls({str(t): int(c) for t, c in zip(tokens, counts, strict=True)})
        except (KeyError, TypeError, ValueError) as exc:
            raise JazzdError(f"{where}: not a valid vocabulary ({exc})") from exc

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> Vocabulary:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise JazzdError(f"{path}: cannot read vocabulary ({exc})") from exc
        return cls.from_json(data, str(path))


def windows(
    sequences: Sequence[np.ndarray], length: int, stride: int = 1, phases: Sequence[np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Training windows: inputs start with -1 (the zero vector x⟨1⟩) then the tokens shifted by
    one; targets are the tokens. Every window of `length` inside each sequence, every `stride`.
    With `phases` (each token's phase: its onset's position in the bar, and for models that read
    chord changes whether it is the first over a new chord), the third array holds, for each step,
    the phase of the token to predict: where it will start is known when it is chosen."""
    inputs, targets, phase_windows = [], [], []
    for k, seq in enumerate(sequences):
        for start in range(0, len(seq) - length + 1, stride):
            window = seq[start : start + length]
            targets.append(window)
            inputs.append(np.concatenate(([-1], window[:-1])))
            if phases is not None:
                phase_windows.append(phases[k][start : start + length])
    if not targets:
        raise JazzdError(f"no sequence is {length} tokens long: use a shorter window")
    return (
        np.asarray(inputs, dtype=np.int32),
        np.asarray(targets, dtype=np.int32),
        np.asarray(phase_windows, dtype=np.int32) if phases is not None else None,
    )
