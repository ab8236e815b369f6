"""Chords: symbols (common and Jazzomat notation) and held notes → root, chord tones, scale.

A `Chord` answers one question fast, used by both the encoder and the live realizer: what type
(C chord tone, S scale tone, A approach tone, X other) a pitch has over it. Chord tones are the
root, 3rd, 5th and 6th/7th (plus a slash bass); tensions (9, 11, 13) are scale tones. Each chord's
scale comes from its quality and is then made to contain its written tensions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

from jazzd.errors import ChordError

PITCH_CLASS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
NOTE_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
NOTE_TYPES = ("C", "S", "A", "X")

IONIAN = (0, 2, 4, 5, 7, 9, 11)
DORIAN = (0, 2, 3, 5, 7, 9, 10)
MIXOLYDIAN = (0, 2, 4, 5, 7, 9, 10)
MELODIC_MINOR = (0, 2, 3, 5, 7, 9, 11)
LOCRIAN = (0, 1, 3, 5, 6, 8, 10)
WHOLE_HALF = (0, 2, 3, 5, 6, 8, 9, 11)
HALF_WHOLE = (0, 1, 3, 4, 6, 7, 9, 10)
WHOLE_TONE = (0, 2, 4, 6, 8, 10)
ALTERED = (0, 1, 3, 4, 6, 8, 10)
PHRYGIAN_DOMINANT = (0, 1, 4, 5, 7, 8, 10)
LYDIAN_DOMINANT = (0, 2, 4, 6, 7, 9, 10)
LYDIAN_AUGMENTED = (0, 2, 4, 6, 8, 9, 11)

# Tension text (either notation, accidental first) → interval above the root.
TENSIONS = {"9": 2, "b9": 1, "#9": 3, "11": 5, "#11": 6, "b11": 4, "13": 9, "b13": 8, "#13": 10}
# What `add` may add → interval above the root.
ADDED = {**TENSIONS, "2": 2, "4": 5, "6": 9, "b6": 8, "#5": 8, "b5": 6, "#4": 6}
# A written tension pushes the natural degree it alters out of the scale.
DISPLACES = {1: 2, 3: 2, 6: 5, 4: 5, 8: 9, 10: 9, 2: 1, 5: 6, 9: 8}

DEFAULT_PROGRESSION = "| F7 | Bb7 | F7 | Cm7 F7 | Bb7 | Bdim7 | F7 | D7 | Gm7 | C7 | F7 D7 | Gm7 C7 |"
NO_CHORD = {"NC", "N.C.", "N.C", "X", ""}

_ROOT = re.compile(r"^([A-G])([#b]?)(.*)$")
_JAZZOMAT = re.compile(
    r"^(?P<kind>-|\+|o|sus|m7b5)?(?P<sev>j7|7|6)?"
    r"(?P<ext>(?:(?:9|11|13)[#b]?)*)(?P<alt>alt)?$"
)
_COMMON_TOKEN = re.compile(
    r"maj|ma(?!dd)|Maj|M|Δ|min|mi|m|-|dim|°|o|ø|aug|\+|sus2|sus4|sus|add|alt|"
    r"[#b+-]?(?:13|11|9|7|6|5|4|2)|[(),/ ]"
)


@dataclass(frozen=True)
class Chord:
    """A chord in force: root pitch class, chord tones and scale as pitch-class sets."""

    symbol: str
    root: int
    tones: frozenset[int]
    scale: frozenset[int]
    types: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "types", tuple(self._type_of(pc) for pc in range(12)))

    def _type_of(self, pc: int) -> str:
        if pc in self.tones:
            return "C"
        if pc in self.scale:
            return "S"
        if (pc - 1) % 12 in self.tones or (pc + 1) % 12 in self.tones:
            return "A"
        return "X"

    def note_type(self, pitch: int) -> str:
        """C, S, A or X for a MIDI pitch over this chord."""
        return self.types[pitch % 12]


def _build(
    symbol: str,
    root: int,
    third: int | None,
    fifth: int | None,
    seventh: int | None,
    tensions: Iterable[int],
    alt: bool,
    bass: int | None,
) -> Chord:
    """Assemble a Chord from its parts (intervals above the root) and choose its scale."""
    tensions = set(tensions)
    if alt:
        seventh, fifth = 10, None
    tones = {0, third, seventh} | ({fifth} if fifth is not None else set())
    tones.discard(None)
    minor, dim5, aug5 = third == 3, fifth == 6, fifth == 8
    if alt:
        scale = ALTERED
    elif minor and dim5:
        scale = LOCRIAN if seventh == 10 else WHOLE_HALF
    elif aug5:
        if seventh == 11:
            scale = LYDIAN_AUGMENTED
        elif seventh == 10 and tensions & {1, 3}:
            scale = ALTERED
        else:
            scale = WHOLE_TONE
    elif minor:
        scale = MELODIC_MINOR if seventh == 11 else DORIAN
    elif seventh == 10:
        if tensions & {1, 3}:
            scale = PHRYGIAN_DOMINANT if 8 in tensions and 3 not in tensions else HALF_WHOLE
            if 8 in tensions and 3 in tensions:
                scale = ALTERED
        elif 6 in tensions:
            scale = LYDIAN_DOMINANT
        else:
            scale = MIXOLYDIAN
    elif third == 5:
        scale = MIXOLYDIAN
    else:
        scale = IONIAN
    scale_set = set(scale)
    for t in tensions:
        natural = DISPLACES.get(t)
        if natural is not None and natural not in tones and natural not in tensions:
            scale_set.discard(natural)
    if fifth != 7 and not alt:
        scale_set.discard(7)
    scale_set |= tones | tensions
    if bass is not None:
        tones.add((bass - root) % 12)
        scale_set.add((bass - root) % 12)
    return Chord(
        symbol=symbol,
        root=root,
        tones=frozenset((root + i) % 12 for i in tones),
        scale=frozenset((root + i) % 12 for i in scale_set),
    )


def _pitch_class(letter: str, accidental: str) -> int:
    return (PITCH_CLASS[letter] + {"#": 1, "b": -1, "": 0}[accidental]) % 12


def _parse_jazzomat(symbol: str, root: int, quality: str, bass: int | None) -> Chord | None:
    """Jazzomat (WJazzD) notation: `-7`, `j7`, `79b`, `7911#`, `o7`, `m7b5`, `sus7`, `7alt`."""
    m = _JAZZOMAT.match(quality)
    if m is None or (m["ext"] and not m["sev"] and m["kind"] != "m7b5"):
        return None
    kind, sev = m["kind"] or "", m["sev"] or ""
    third, fifth = {"-": (3, 7), "+": (4, 8), "o": (3, 6), "sus": (5, 7), "m7b5": (3, 6)}.get(kind, (4, 7))
    seventh = {"j7": 11, "7": 10, "6": 9, "": None}[sev]
    if kind == "m7b5":
        seventh = 10
    elif kind == "o" and sev == "7":
        seventh = 9
    tensions = [
        TENSIONS[(t[-1] if t[-1] in "#b" else "") + t.rstrip("#b")]
        for t in re.findall(r"(?:9|11|13)[#b]?", m["ext"])
    ]
    return _build(symbol, root, third, fifth, seventh, tensions, bool(m["alt"]), bass)


def _common_tokens(symbol: str, quality: str) -> list[str]:
    """The quality's words and numbers (`m`, `maj`, `7`, `b9`, ...), separators dropped."""
    pos, tokens = 0, []
    while pos < len(quality):
        m = _COMMON_TOKEN.match(quality, pos)
        if m is None:
            raise ChordError(f"unknown chord symbol {symbol!r} (cannot read {quality[pos:]!r})")
        tokens.append(m.group())
        pos = m.end()
    return [t for t in tokens if t not in "(),/ "]


@dataclass
class _Parts:
    """A chord being read: intervals above the root (None: left out)."""

    third: int | None = 4
    fifth: int = 7
    seventh: int | None = None
    tensions: set[int] = field(default_factory=set)
    alt: bool = False


def _parse_common(symbol: str, root: int, quality: str, bass: int | None) -> Chord:
    """Common notation: `m7`, `maj7`, `7b9`, `7#11`, `m7b5`, `dim7`, `aug`, `sus4`, `6/9`, `add9`."""
    tokens = _common_tokens(symbol, quality)
    parts = _Parts()
    add_next = major_seventh = False
    for i, tok in enumerate(tokens):
        if tok in ("m", "mi", "min") or (tok == "-" and i == 0):
            parts.third = 3
        elif tok in ("maj", "ma", "Maj", "M", "Δ"):
            major_seventh = True
            parts.seventh = 11
        elif tok in ("dim", "°", "o"):
            parts.third, parts.fifth = 3, 6
            if i + 1 < len(tokens) and tokens[i + 1] == "7":
                parts.seventh = 9
        elif tok == "ø":
            parts.third, parts.fifth, parts.seventh = 3, 6, 10
        elif tok in ("aug", "+"):
            parts.fifth = 8
        elif tok in ("sus", "sus4"):
            parts.third = 5
        elif tok == "sus2":
            parts.third = 2
        elif tok == "add":
            add_next = True
        elif tok == "alt":
            parts.alt = True
        elif add_next:
            acc, num = _accidental(tok)
            if acc + num not in ADDED:
                raise ChordError(f"unknown chord symbol {symbol!r} (cannot add {tok!r})")
            parts.tensions.add(ADDED[acc + num])
            add_next = False
        else:
            _number(parts, tok, symbol, alone=len(tokens) == 1, major_seventh=major_seventh)
            major_seventh = False
    return _build(symbol, root, parts.third, parts.fifth, parts.seventh, parts.tensions, parts.alt, bass)


def _accidental(tok: str) -> tuple[str, str]:
    """A number token's accidental (`#`, `b`, or none; `+` and `-` read as `#` and `b`) and number."""
    acc, num = (tok[0], tok[1:]) if tok[0] in "#b+-" else ("", tok)
    return {"+": "#", "-": "b"}.get(acc, acc), num


def _number(parts: _Parts, tok: str, symbol: str, alone: bool, major_seventh: bool) -> None:
    """A number in a common-notation quality: a fifth, a sixth, a seventh, a suspension or a
    tension (a bare 9, 11 or 13 names a seventh chord with its tensions)."""
    acc, num = _accidental(tok)
    if num == "5" and not acc and alone:
        parts.third = None  # a power chord: root and fifth
    elif num == "5":
        parts.fifth = {"#": 8, "b": 6, "": 7}[acc]
    elif num == "6" and acc == "b":
        parts.tensions.add(8)  # m(b6): the minor sixth over a triad
    elif num in ("2", "4") and not acc:
        parts.third = 2 if num == "2" else 5
    elif num == "6" and not acc:
        parts.seventh = 9 if parts.seventh is None else parts.seventh
        if parts.seventh != 9:
            parts.tensions.add(9)
    elif num == "7" and not acc:
        if parts.seventh is None or (parts.seventh == 11 and not major_seventh):
            parts.seventh = 10  # (the 7 of dim7 was taken with "dim")
    elif acc or parts.seventh not in (None, 9) or (parts.seventh == 9 and num == "9"):
        if num not in ("9", "11", "13"):
            raise ChordError(f"unknown chord symbol {symbol!r} (cannot read {tok!r})")
        parts.tensions.add(TENSIONS[acc + num])
    else:
        parts.seventh = 11 if major_seventh else 10
        parts.tensions.update({"9": [2], "11": [2, 5], "13": [2, 9]}[num])
        if num == "11" and parts.third == 4:
            parts.third = 5  # an eleventh chord leaves the major third out (C11 is C9sus4)


@cache
def parse_chord(symbol: str) -> Chord | None:
    """Read a chord symbol in common or Jazzomat notation; None for no chord (`NC`)."""
    text = symbol.strip()
    if text.upper() in NO_CHORD:
        return None
    m = _ROOT.match(text)
    if m is None:
        raise ChordError(f"unknown chord symbol {symbol!r} (no root A-G)")
    root = _pitch_class(m[1], m[2])
    quality, bass = m[3], None
    slash = re.search(r"/([A-G])([#b]?)$", quality)
    if slash:
        bass = _pitch_class(slash[1], slash[2])
        quality = quality[: slash.start()]
    chord = _parse_jazzomat(text, root, quality, bass)
    if chord is None:
        chord = _parse_common(text, root, quality, bass)
    return chord


RECOGNIZED_QUALITIES = (
    "",
    "m",
    "7",
    "maj7",
    "m7",
    "m7b5",
    "dim",
    "dim7",
    "aug",
    "sus4",
    "6",
    "m6",
    "7sus4",
    "mmaj7",
    "7b9",
    "7#9",
)


@cache
def _templates() -> tuple[Chord, ...]:
    return tuple(
        parse_chord(NOTE_NAMES[root] + quality) for root in range(12) for quality in RECOGNIZED_QUALITIES
    )


def recognize_chord(pitches: Iterable[int]) -> Chord | None:
    """The chord a set of held MIDI notes spells, or None for fewer than two pitch classes.

    Scores each template by tones held, tones missing and notes outside it; the lowest held note
    breaks ties as the root (so C-E-G-A is C6, A-C-E-G is Am7).
    """
    pitches = sorted(set(pitches))
    held = frozenset(p % 12 for p in pitches)
    if len(held) < 2:
        return None
    bass = pitches[0] % 12
    best, best_score = None, float("-inf")
    for chord in _templates():
        score = (
            2.0 * len(held & chord.tones)
            - 1.5 * len(chord.tones - held)
            - 1.0 * len(held - chord.tones)
            - 1.0 * len(held - chord.scale)
            + (0.75 if chord.root == bass else 0.0)
            - 0.01 * len(chord.symbol)
        )
        if score > best_score:
            best, best_score = chord, score
    return best


class Bar(list):
    """A bar of another length than the tune's 4/4 (`| 2/4 C7 |`): its chords, sharing its
    `beats` quarter notes evenly. Other bars are plain lists."""

    def __init__(self, chords: Iterable[Chord], beats: int):
        super().__init__(chords)
        self.beats = beats


METRE = re.compile(r"^([1-7])/4$|^(2)/2$")  # a bar's own length, in quarter notes


def parse_progression(text: str) -> list[list[Chord]]:
    """Bars of chords from `| Dm7 G7 | Cmaj7 | % |`: `|` separates bars, chords in a bar share
    it evenly, `%` repeats the previous bar, `NC` keeps the chord before it; a bar may begin
    with its own length (`| 2/4 C7 |`)."""
    bars: list[list[Chord]] = []
    previous: Chord | None = None
    cells = [cell.split() for cell in text.strip().strip("|").split("|")]
    for number, symbols in enumerate(cells, start=1):
        metre = METRE.match(symbols[0]) if symbols else None
        if metre:
            symbols = symbols[1:]
        if not symbols:
            raise ChordError(f"progression {text!r}: bar {number} is empty")
        if symbols == ["%"]:
            if not bars:
                raise ChordError(f"progression {text!r}: bar 1 cannot repeat a previous bar")
            bars.append(_sized(bars[-1], metre))
            continue
        bar = []
        for symbol in symbols:
            try:
                chord = parse_chord(symbol) or previous
            except ChordError as exc:
                raise ChordError(f"progression {text!r}, bar {number}: {exc}") from exc
            if chord is None:
                raise ChordError(f"progression {text!r}: starts with NC, so no chord is in force")
            bar.append(chord)
            previous = chord
        bars.append(_sized(bar, metre))
    return bars


def _sized(chords: list[Chord], metre: re.Match | None) -> list[Chord]:
    beats = 4 if metre is None else int(metre[1] or 4)
    return list(chords) if beats == 4 else Bar(chords, beats)
