"""iReal Pro charts: `irealb://` and `irealbook://` links, one tune or a playlist, as the app's
"share as HTML / link" writes them, read into jazzd charts and played as the app plays them.

Decoded here rather than with a library: the Python readers found (pyRealParser 0.1, 2019) are
unmaintained, and the format is small — a URL-encoded, `=`-separated record per tune whose chord
string (irealb only) is scrambled in 50-character blocks. The chord string is a row of cells:
a chord or a space is one cell, `,` separates, `XyQ` is three empty cells. What jazzd reads:

- bars (`| [ ] { } Z`), rehearsal marks (`*A`; `*i` an intro, played once), time signatures
  (a tune in 4/4 or 2/2, with brief bars of 1-7 quarter notes at their length; a tune in
  another metre is refused by name);
- chords with their cells: a chord lasts one beat and the empty cells after it, fitted to the
  bar as the app does (spaces taken back from the first chord on, or beats handed out from
  the first chord on; a small chord `s` keeps one beat); `W/bass` goes on with the chord over
  the new bass; `x` and `r` repeat one and two bars; `n` is no chord (the chord goes on);
- repeats, endings, segno, coda, Fine and the D.C./D.S. texts, unrolled as the app plays them
  in `music/irealform.py`.

Alternate chords `( )`, staff text other than the form's, fermatas and `3x` counts are read
past. A tune that cannot be read is one line naming the file, the tune and the written bar; the
rest of the playlist loads.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from jazzd.errors import ChordError
from jazzd.music.charts import Bars, Chart, ChartError
from jazzd.music.chords import Bar, Chord, parse_chord
from jazzd.music.grammar import BEATS_PER_BAR
from jazzd.music.irealform import Form, WrittenBar, play_form

MUSIC_PREFIX = "1r34LbKcu7"
# In a page, a link is a whole href (titles keep their apostrophes); elsewhere it ends where the
# text around it does: whitespace, a double quote, a tag.
HREF = re.compile(r"""href\s*=\s*(?:"(irealb(?:ook)?://[^"]*)"|'(irealb(?:ook)?://[^']*)')""", re.I)
LINK = re.compile(r"irealb(?:ook)?://[^\"\s<>]+")
TOKEN = re.compile(
    r"\*(?P<mark>[A-Za-z])"
    r"|T(?P<time>\d\d)"
    r"|N(?P<ending>\d)"
    r"|<(?P<comment>[^>]*)>?"
    r"|(?P<chord>(?P<root>[A-G][b#]?)(?P<quality>[^\s,|\[\]{}()<>*/A-Zpf]*)(?:\*[^*]*\*)?(?P<bass>/[A-G][b#]?)?)"
    r"(?:\([^)]*\))?"
    r"|(?P<cell>(?P<other>[ Wp])(?P<obass>/[A-G][b#]?)?(?P<alternate>\([^)]*\))?)"
    r"|(?P<bar>[|\[\]{}Z])"
    r"|(?P<one>.)",
    re.S,
)
# iReal quality spellings that jazzd's chord reader spells otherwise (the first that matches).
QUALITIES = [("h7", "m7b5"), ("h9", "m9b5"), ("h", "m7b5"), ("7susadd3", "7")]
TIME_NAMES = {"12": "12/8"}  # iReal writes 12/8 as T12


def _quarters(time: str) -> int | None:
    """Quarter notes in a bar of iReal's time `T44`-style signature (2/2 counted in quarters);
    None for a metre counted in eighths."""
    if time == "22":
        return 4
    return int(time[0]) if time[1] == "4" and time[0] != "0" else None


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
    links = [double or single for double, single in HREF.findall(text)] or LINK.findall(text)
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
        tempo = float(bpm) if bpm.isdigit() and 20 <= int(bpm) <= 400 else None  # 0: the app's default
        records.append((fields[0], key, tempo, unscramble(music[len(MUSIC_PREFIX) :])))
    return records


def _irealbook_records(body: str) -> list[tuple[str, str, float | None, str]]:
    """The older plain format: `Title=Composer=Style=Key=n=MUSIC`, six fields per tune."""
    fields = body.split("=")
    return [(fields[i], fields[i + 3], None, fields[i + 5]) for i in range(0, len(fields) - 5, 6)]


def chart_from_music(title: str, key: str, bpm: float | None, music: str, where: str) -> Chart:
    title = title.strip()
    if not title:
        raise ChartError(f"{where}: a tune without a title")
    where = f"{where}, chart {title!r}"
    music = music.replace("XyQ", "   ").replace("LZ", " |").replace("Kcl", "| x")
    bars = _bars(music, where)
    if not any(b.chords for b in bars):
        raise ChartError(f"{where}: no bars with chords")
    other = [b for b in bars if b.beats != BEATS_PER_BAR]
    if len(other) * 2 > len(bars):  # not brief bars: the tune changes metre
        raise ChartError(f"{where}, bar {other[0].number}: mostly {_metre(f'{other[0].beats}4')}")
    return _chart(title, key, bpm, play_form(bars, where))


# -- reading the cells ------------------------------------------------------------------------------


def _bars(music: str, where: str) -> list[WrittenBar]:
    """The written bars, in order, with their cells, marks and signs (ChartError naming the
    bar of the first chord or metre jazzd cannot play)."""
    bars = [WrittenBar(1)]
    metre = BEATS_PER_BAR
    previous: Chord | None = None
    small = False
    unknown: list[str] = []
    for token in TOKEN.finditer(music):
        bar, kind = bars[-1], token.lastgroup
        text = token.group(kind)
        if kind == "bar":
            if text == "}":
                bar.repeat_end = True
            bar.closes = bar.closes or text in "]Z"
            if bar.cells or bar.repeat_end or (text == "{" and bar.repeat_start):
                bars.append(WrittenBar(bar.number + 1, metre))
            if text == "{":
                bars[-1].repeat_start = True
        elif kind == "mark":
            bar.mark = text
        elif kind == "time":
            quarters = _quarters(text)
            if quarters is None or (bar.number == 1 and quarters != BEATS_PER_BAR):
                raise ChartError(f"{where}, bar {bar.number}: {_metre(text)}")
            bar.beats = metre = quarters
        elif kind == "ending":
            bar.ending = int(text)
        elif kind == "comment":
            _comment(bar, text)
        elif kind == "chord":
            symbol = _jazzd_symbol(token["root"], token["quality"], token["bass"])
            try:
                chord = parse_chord(symbol)
            except ChordError:
                unknown.append(f"{token['chord']} (bar {bar.number})")
                bar.cells.append(None)  # the bar is there, and counted
                continue
            _add(bar, chord, small)
            previous = chord
        elif kind == "cell" and previous is not None and _goes_on(bar, token):  # the chord goes on
            bass = token["obass"]
            chord = parse_chord(_with_bass(previous.symbol, bass)) if bass else previous
            _add(bar, chord, small)
        elif kind in ("cell", "one"):
            small = _sign(bars, token["other"] or text, previous, small)
    if unknown:
        raise ChartError(f"{where}: chord symbols jazzd cannot read: {', '.join(dict.fromkeys(unknown))}")
    return [b for b in bars if b.chords or b.repeat_end or b.ending is not None]


def _goes_on(bar: WrittenBar, token: re.Match) -> bool:
    """Whether a cell without a chord of its own plays the chord before it there: `W` (an
    invisible root, often over a new bass), or a bar that begins with a slash or holds only an
    alternate chord (the chord goes on through that bar)."""
    return token["other"] == "W" or (
        not bar.cells and (token["other"] == "p" or token["alternate"] is not None)
    )


def _metre(time: str) -> str:
    name = TIME_NAMES.get(time, f"{time[0]}/{time[1]}")
    return f"time {name}: jazzd plays 4/4 (with brief bars of 1-7 quarter notes)"


def _add(bar: WrittenBar, chord: Chord, small: bool) -> None:
    if small:
        bar.short.add(len(bar.cells))
    bar.cells.append(chord)


def _sign(bars: list[WrittenBar], text: str, previous: Chord | None, small: bool) -> bool:
    """A one-character sign: an empty cell, a repeated bar, N.C., segno, coda, small/large
    chords. Returns whether chords are small from here."""
    bar = bars[-1]
    if text in " p" and bar.cells:  # an empty cell (a slash: the chord goes on)
        bar.cells.append(None)
    elif text == "x":
        earlier = next((b for b in reversed(bars[:-1]) if b.cells), None)
        if earlier is not None:
            bar.cells, bar.short = list(earlier.cells), set(earlier.short)
    elif text == "r":
        earlier = [b for b in bars[:-1] if b.cells][-2:]
        if len(earlier) == 2:
            bar.cells = list(earlier[0].cells)
            bars.append(WrittenBar(bar.number + 1, earlier[1].beats, list(earlier[1].cells)))
    elif text == "n" and previous is not None:
        bar.cells.append(previous)
    elif text == "S":
        bar.segno = True
    elif text == "Q":
        bar.coda = True
    elif text in "sl":
        return text == "s"
    return small


def _comment(bar: WrittenBar, text: str) -> None:
    """Staff text the form obeys: D.C./D.S. al Coda / al Fine, Fine."""
    words = re.sub(r"^\*\d\d|XyQ", "", text).strip().lower()
    if words == "fine":
        bar.fine = True
    elif (jump := re.match(r"(d\.c\.|d\.s\.) al (coda|fine|(\d)\w* end)", words)) is not None:
        bar.jump, bar.jump_to = jump[1].upper(), jump[3] or jump[2]


def _jazzd_symbol(root: str, quality: str, bass: str | None) -> str:
    for ireal, jazzd in QUALITIES:
        if quality.startswith(ireal):
            quality = jazzd + quality[len(ireal) :]
            break
    quality = quality.replace("^", "maj")  # ^7, -^7, o^7
    if quality == "maj":
        quality = ""  # iReal's "^" alone is the major triad
    return root + quality + (bass or "")


def _with_bass(symbol: str, bass: str) -> str:
    return symbol.split("/")[0] + bass


def _beats(bar: WrittenBar) -> list[Chord]:
    """The bar's chords, one per beat where the cells say how long each lasts: one beat and
    the empty cells after it (a small chord keeps one), then fitted to the bar as the app
    does: spaces taken back from the first chord on, or beats handed out from the first
    chord on. Written shortest: a 4/4 bar of one chord is one chord, 2+2 is two."""
    chords: list[Chord] = []
    lengths: list[int] = []
    small: list[bool] = []
    for i, cell in enumerate(bar.cells):
        if cell is not None:
            chords.append(cell)
            lengths.append(1)
            small.append(i in bar.short)
        elif lengths and not small[-1]:
            lengths[-1] += 1
    size = bar.beats
    if len(chords) > size:
        beats = chords  # more chords than beats: they share the bar evenly
    else:
        grow = [i for i, s in enumerate(small) if not s] or list(range(len(chords)))
        turn = 0
        while sum(lengths) > size:
            if lengths[turn % len(chords)] > 1:
                lengths[turn % len(chords)] -= 1
            turn += 1
        turn = 0
        while sum(lengths) < size:
            lengths[grow[turn % len(grow)]] += 1
            turn += 1
        beats = [chord for chord, n in zip(chords, lengths, strict=True) for _ in range(n)]
        for parts in (1, 2):
            step = size // parts
            if size % parts == 0 and all(beats[i] == beats[i - i % step] for i in range(size)):
                beats = beats[::step]
                break
    return beats if size == BEATS_PER_BAR else Bar(beats, size)


def _chart(title: str, key: str, bpm: float | None, form: Form) -> Chart:
    """Sections from the rehearsal marks: a pass whose bars differ from an earlier pass under
    the same mark becomes a section of its own (A, A2, …)."""
    passes: list[tuple[str, Bars]] = []
    for bar in form.chorus:
        if (bar.mark and bar.mark != "i") or not passes:
            passes.append((bar.mark if bar.mark and bar.mark != "i" else "A", []))
        passes[-1][1].append(_beats(bar))
    sections: dict[str, Bars] = {}
    names = []
    for mark, section in passes:
        name = next((n for n, b in sections.items() if n.rstrip("0123456789") == mark and b == section), None)
        if name is None:
            count = sum(1 for n in sections if n.rstrip("0123456789") == mark)
            name = mark if count == 0 else f"{mark}{count + 1}"
            sections[name] = section
        names.append(name)
    return Chart(
        title,
        sections,
        tuple(names),
        {},
        [],
        key,
        bpm,
        "iReal Pro",
        intro=[_beats(b) for b in form.intro],
        coda=[_beats(b) for b in form.coda],
        coda_after=form.coda_after,
    )
