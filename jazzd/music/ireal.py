"""iReal Pro charts: `irealb://` and `irealbook://` links, one tune or a playlist, as the app's
"share as HTML / link" writes them, read into jazzd charts.

Decoded here rather than with a library: the Python readers found (pyRealParser 0.1, 2019) are
unmaintained, and the format is small — a URL-encoded, `=`-separated record per tune whose chord
string (irealb only) is scrambled in 50-character blocks. What jazzd reads of the chord string:
bars (`| [ ] { } Z`), rehearsal marks (`*A`), first and second endings (`N1 N2`), repeats,
`x` (repeat the bar), `r` (repeat two bars), `n` (no chord), time signatures (`T44`; only 4/4 and
2/2 play). Alternate chords `( )`, staff text `< >`, segno, coda and fermata are read past: a
D.S. or a coda is not followed. A tune that cannot be read — another metre, a chord quality jazzd
does not know — is reported in one line naming the link or file and the tune, and the rest load.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote

from jazzd.errors import ChordError
from jazzd.music.charts import Bars, Chart, ChartError
from jazzd.music.chords import Chord, parse_chord

MUSIC_PREFIX = "1r34LbKcu7"
LINK = re.compile(r"irealb(?:ook)?://[^\"'\s<>]+")
# One chord: root, quality in iReal's spelling (up to a delimiter, a capital, a slash p or a
# fermata f), optional bass.
CHORD = re.compile(r"([A-G][b#]?)([^\s,|\[\]{}()<>*/A-Zpf]*)(?:/([A-G][b#]?))?")
# iReal quality spellings that jazzd's chord reader spells otherwise.
QUALITIES = [("-^", "-maj"), ("^", "maj"), ("h7", "m7b5"), ("h9", "m9b5"), ("h", "m7b5"), ("7susadd3", "7")]
PLAYABLE_TIME = {"T44", "T22"}  # bars of four quarter notes (2/2 counted in quarters)


@dataclass
class _Bar:
    chords: list[Chord] = field(default_factory=list)
    mark: str | None = None  # a rehearsal mark begins here
    repeat_start: bool = False
    repeat_end: bool = False
    ending: int = 0  # the first bar of ending N


def unscramble(music: str) -> str:
    """The chord string of an irealb:// tune: every full 50-character block but the last is
    scrambled (its ends swapped), the tail is plain."""
    out = []
    while len(music) > 50:
        block, music = music[:50], music[50:]
        out.append(block if len(music) < 2 else _unscramble_block(block))
    return "".join(out) + music


def _unscramble_block(block: str) -> str:
    chars = list(block)
    for i in (*range(5), *range(10, 24)):
        chars[i], chars[49 - i] = block[49 - i], block[i]
    return "".join(chars)


def charts_from_text(text: str, where: str) -> tuple[list[Chart], list[str]]:
    """Every tune of every iReal link in `text` (a link, or an exported HTML page); and one
    line for each tune that could not be read."""
    links = LINK.findall(text)
    if not links:
        return [], [f"{where}: no irealb:// or irealbook:// link found"]
    charts, problems = [], []
    for number, link in enumerate(links, 1):
        place = where if len(links) == 1 else f"{where}, link {number}"
        found, bad = charts_from_link(link, place)
        charts.extend(found)
        problems.extend(bad)
    return charts, problems


def charts_from_link(link: str, where: str) -> tuple[list[Chart], list[str]]:
    scheme, _, body = link.partition("://")
    body = unquote(body)
    records = _irealb_records(body) if scheme == "irealb" else _irealbook_records(body)
    charts, problems = [], []
    for title, key, bpm, music in records:
        try:
            charts.append(chart_from_music(title, key, bpm, music, where))
        except ChartError as exc:
            problems.append(str(exc))
    if not records:
        problems.append(f"{where}: the link holds no tune")
    return charts, problems


def _irealb_records(body: str) -> list[tuple[str, str, float | None, str]]:
    """(title, key, bpm, chord string) per tune: `Title=Composer==Style=Key==MUSIC=Comp=BPM=…`,
    tunes separated by `===` (a playlist's name last)."""
    records = []
    for song in body.split("==="):
        fields = song.split("=")
        music = next((f for f in fields if f.startswith(MUSIC_PREFIX)), None)
        if music is None:
            continue  # the playlist's name, or an empty tail
        at = fields.index(music)
        bpm = fields[at + 2] if len(fields) > at + 2 else ""
        key = fields[at - 2] if at >= 2 else ""
        records.append(
            (
                fields[0],
                key,
                float(bpm) if bpm.isdigit() and int(bpm) else None,
                unscramble(music[len(MUSIC_PREFIX) :]),
            )
        )
    return records


def _irealbook_records(body: str) -> list[tuple[str, str, float | None, str]]:
    """The older plain format: `Title=Composer=Style=Key=n=MUSIC`, six fields per tune."""
    fields = body.split("=")
    return [(fields[i], fields[i + 3], None, fields[i + 5]) for i in range(0, len(fields) - 5, 6)]


def chart_from_music(title: str, key: str, bpm: float | None, music: str, where: str) -> Chart:
    where = f"{where}, chart {title!r}"
    music = music.replace("XyQ", "   ").replace("LZ", " |").replace("Kcl", "| x")
    bars = _unroll(_bars(music, where), where)
    if not bars:
        raise ChartError(f"{where}: no bars with chords")
    return _chart(title, key, bpm, bars)


def _bars(music: str, where: str) -> list[_Bar]:
    """The written bars, in order, with their marks; chords converted (or ChartError listing
    every unknown quality)."""
    bars, unknown = [_Bar()], []
    previous: Chord | None = None
    i = 0
    while i < len(music):
        c = music[i]
        bar = bars[-1]
        if c in "|[]{}Z":
            if c == "}":
                bar.repeat_end = True
            if bar.chords or bar.repeat_end:
                bars.append(_Bar())
            if c == "{":
                bars[-1].repeat_start = True
            i += 1
        elif c in "<(":  # staff text, alternate chord: read past
            close = music.find(">" if c == "<" else ")", i)
            i = len(music) if close < 0 else close + 1
        elif c == "*" and i + 1 < len(music):
            bar.mark, i = music[i + 1], i + 2
        elif c == "T" and music[i + 1 : i + 3].isdigit():
            if music[i : i + 3] not in PLAYABLE_TIME:
                raise ChartError(f"{where}: time {music[i + 1]}/{music[i + 2]}: jazzd plays 4/4 only")
            i += 3
        elif c == "N" and music[i + 1 : i + 2].isdigit():
            bar.ending, i = int(music[i + 1]) or 1, i + 2
        elif c == "x" and len(bars) > 1:
            bar.chords, i = list(_last_with_chords(bars[:-1]).chords), i + 1
        elif c == "r" and len(bars) > 2:
            bar.chords = list(bars[-3].chords)
            bars.append(_Bar(list(bars[-2].chords)))
            i += 1
        elif c == "W" and (slash := re.match(r"W/[A-G][b#]?", music[i:])) and previous is not None:
            bar.chords.append(previous)  # an invisible root: the chord goes on over a new bass
            i += slash.end()
        elif c == "n" and previous is not None:
            bar.chords.append(previous)
            i += 1
        elif (match := CHORD.match(music, i)) is not None:
            symbol = _jazzd_symbol(*match.groups())
            try:
                chord = parse_chord(symbol)
            except ChordError:
                unknown.append(match.group(0))
                chord = None
            if chord is not None:
                bar.chords.append(chord)
                previous = chord
            i = match.end()
        else:  # spaces, commas, slashes (p), segno, coda, fermata, spacers
            i += 1
    if unknown:
        qualities = ", ".join(dict.fromkeys(unknown))
        raise ChartError(f"{where}: chord symbols jazzd cannot read: {qualities}")
    return [b for b in bars if b.chords or b.repeat_end]


def _last_with_chords(bars: list[_Bar]) -> _Bar:
    return next(b for b in reversed(bars) if b.chords)


def _jazzd_symbol(root: str, quality: str, bass: str | None) -> str:
    for ireal, jazzd in QUALITIES:
        if quality.startswith(ireal):
            quality = jazzd + quality[len(ireal) :]
            break
    if quality == "maj":
        quality = ""  # iReal's "^" alone is the major triad
    return root + quality + (f"/{bass}" if bass else "")


def _unroll(bars: list[_Bar], where: str) -> list[_Bar]:
    """The bars as played: each repeat twice, the first ending the first time, the second
    ending the second time."""
    out: list[_Bar] = []
    start, repeated, second_pass, i = 0, set(), False, 0
    while i < len(bars):
        bar = bars[i]
        if bar.repeat_start:
            start = i
        if second_pass and bar.ending == 1:
            i = next((k for k in range(i + 1, len(bars)) if bars[k].ending >= 2), -1)
            if i < 0:
                raise ChartError(f"{where}: a first ending without a second")
            second_pass = False
            continue
        if bar.chords:
            out.append(bar)
        if bar.repeat_end and i not in repeated:
            repeated.add(i)
            i, second_pass = start, True
            continue
        if bar.repeat_end:
            second_pass = False
        i += 1
    return out


def _chart(title: str, key: str, bpm: float | None, bars: list[_Bar]) -> Chart:
    """Sections from the rehearsal marks: a pass whose bars differ from an earlier pass under
    the same mark becomes a section of its own (A, A2, …)."""
    passes: list[tuple[str, Bars]] = []
    for bar in bars:
        if bar.mark or not passes:
            passes.append((bar.mark or "A", []))
        passes[-1][1].append(bar.chords)
    sections: dict[str, Bars] = {}
    form = []
    for mark, section in passes:
        name = next((n for n, b in sections.items() if n.rstrip("0123456789") == mark and b == section), None)
        if name is None:
            count = sum(1 for n in sections if n.rstrip("0123456789") == mark)
            name = mark if count == 0 else f"{mark}{count + 1}"
            sections[name] = section
        form.append(name)
    return Chart(title, sections, tuple(form), {}, [], key, bpm, "iReal Pro")
