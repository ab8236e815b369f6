"""Tunes: chord charts with a form — sections, first and second endings, a final ending — and
the bars they unroll to over a number of choruses.

A chart is jazzd's own TOML file (see charts/README.md), a built-in one (`charts/` beside the
package), or an iReal Pro chart (music/ireal.py); music/library.py finds them. Everything
downstream sees bars of chords: the chord timeline follows `Chart.bars(choruses)`, and the
performer's turns and ending follow `Form`.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

from jazzd.errors import ChordError, JazzdError
from jazzd.music.chords import Chord, parse_progression
from jazzd.music.grammar import BEATS_PER_BAR, TICKS_PER_BEAT
from jazzd.music.timeline import ChordTimeline, bar_ticks

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

Bars = list[list[Chord]]
CHART_KEYS = {
    *("title", "key", "tempo", "time", "form", "sections", "endings", "ending", "composer", "style"),
    *("intro", "coda", "coda_after"),
}


class ChartError(JazzdError, ValueError):
    """A chart that cannot be read: the message names the file or link and the chart."""

    exit_code = 2


@dataclass(frozen=True)
class Form:
    """Where one chorus's sections begin (bar numbers) and how many choruses are played (None:
    until stopped): what trading and ending need to know. Beats count bars at their length."""

    bars: int
    section_starts: tuple[int, ...]
    choruses: int | None = None
    landing: int | None = None  # tick where the last chorus's line lands on the final chord
    intro: int = 0  # bars played once before the first chorus
    lengths: tuple[int, ...] = ()  # beats of each bar of the intro and one chorus, if not all 4
    end_beat: float | None = None  # where the tune ends, intro and coda included (with `choruses`)

    def _beats(self, bars: range) -> int:
        return sum(self.lengths[b] if b < len(self.lengths) else BEATS_PER_BAR for b in bars)

    @property
    def intro_beats(self) -> int:
        return self._beats(range(self.intro))

    @property
    def chorus_beats(self) -> int:
        return self._beats(range(self.intro, self.intro + self.bars))

    def turns(self, trade_bars: int) -> list[int]:
        """The bars where turns begin in one chorus (counted from the chorus's first bar): every
        `trade_bars` from each section's start."""
        ends = [*self.section_starts[1:], self.bars]
        return [
            bar
            for start, end in zip(self.section_starts, ends, strict=True)
            for bar in range(start, end, trade_bars)
        ]

    def turn_beats(self, trade_bars: int) -> list[int]:
        """`turns`, as beats from the chorus's first beat."""
        return [self._beats(range(self.intro, self.intro + bar)) for bar in self.turns(trade_bars)]


@dataclass(frozen=True)
class Chart:
    """A tune: sections of bars, the form that orders them, and the endings. The nth pass through
    a section in a chorus takes its nth ending (the last one for later passes); `ending` replaces
    the chorus's last bars on the last chorus (the tune's final cadence). An `intro` is played
    once before the first chorus; a `coda` once after the last, which leaves for it after its
    first `coda_after` bars (all of them when None)."""

    title: str
    sections: dict[str, Bars]
    form: tuple[str, ...]
    endings: dict[str, list[Bars]]
    ending: Bars
    key: str = ""
    bpm: float | None = None
    source: str = ""
    intro: Bars = field(default_factory=list)
    coda: Bars = field(default_factory=list)
    coda_after: int | None = None

    @classmethod
    def of_progression(cls, progression: str, title: str = "progression") -> Chart:
        return cls(title, {"A": parse_progression(progression)}, ("A",), {}, [])

    def passes(self) -> list[tuple[str, Bars]]:
        """One chorus: each section pass in form order, with its ending."""
        seen: dict[str, int] = {}
        out = []
        for name in self.form:
            seen[name] = seen.get(name, 0) + 1
            endings = self.endings.get(name, [])
            ending = endings[min(seen[name], len(endings)) - 1] if endings else []
            out.append((name, self.sections[name] + ending))
        return out

    def chorus(self) -> Bars:
        return [bar for _, bars in self.passes() for bar in bars]

    def bars(self, choruses: int) -> Bars:
        """The intro, `choruses` choruses, the last ending with the final cadence (or leaving
        for the coda), and the coda."""
        chorus = self.chorus()
        last = list(chorus)
        if self.ending:
            last[len(last) - len(self.ending) :] = self.ending
        if self.coda_after is not None:
            last = last[: self.coda_after]
        return self.intro + chorus * (choruses - 1) + last + self.coda

    def timeline(self, choruses: int | None) -> ChordTimeline:
        """The chords by tick over `choruses` choruses (None: after the intro, the chorus
        repeating)."""
        if choruses is None:
            return ChordTimeline.looped(self.chorus(), intro=self.intro)
        return ChordTimeline.of_bars(self.bars(choruses))

    def form_of(self, choruses: int | None) -> Form:
        starts, at = [], 0
        for _, bars in self.passes():
            starts.append(at)
            at += len(bars)
        lengths = tuple(bar_ticks([bar]) // TICKS_PER_BEAT for bar in self.intro + self.chorus())
        lengths = lengths if any(n != BEATS_PER_BAR for n in lengths) else ()
        if not choruses:
            return Form(at, tuple(starts), choruses, None, len(self.intro), lengths)
        bars = self.bars(choruses)
        end = bar_ticks(bars) / TICKS_PER_BEAT
        return Form(at, tuple(starts), choruses, landing_tick(bars), len(self.intro), lengths, end)

    def describe(self) -> dict:
        return {
            "title": self.title,
            "key": self.key,
            "tempo": self.bpm,
            "form": " ".join(self.form),
            "bars": len(self.chorus()),
            "intro": len(self.intro),
            "coda": len(self.coda),
            "source": self.source,
        }


def landing_tick(bars: Bars) -> int:
    """Where a line over these bars lands on its final chord: where the last bar's last chord
    begins (each bar is shared evenly by its chords; a chord written again goes on)."""
    last = bars[-1]
    first = len(last) - 1
    while first > 0 and last[first - 1] == last[-1]:
        first -= 1
    return bar_ticks(bars[:-1]) + round(first * bar_ticks([last]) / len(last))


# -- jazzd's TOML chart --------------------------------------------------------------------------


def chart_from_toml(text: str, where: str) -> Chart:
    """A chart from jazzd's TOML format; ChartError naming `where` and what is wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ChartError(f"{where}: not valid TOML ({exc})") from exc
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        raise ChartError(f"{where}: key 'title' must be the tune's name")
    where = f"{where}, chart {title!r}"
    unknown = sorted(set(data) - CHART_KEYS)
    if unknown:
        raise ChartError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(CHART_KEYS))})")
    if data.get("time", "4/4") != "4/4":
        raise ChartError(f"{where}: key 'time' must be \"4/4\" (jazzd plays 4/4 only), not {data['time']!r}")
    bpm = data.get("tempo")
    if bpm is not None and (
        isinstance(bpm, bool) or not isinstance(bpm, int | float) or not 20 <= bpm <= 400
    ):
        raise ChartError(f"{where}: key 'tempo' must be beats per minute, 20-400, not {bpm!r}")
    sections = data.get("sections")
    if not isinstance(sections, dict) or not sections:
        raise ChartError(f'{where}: [sections] must name at least one section: A = "| C | F |"')
    parsed = {name: _bars(text, f"{where}, section {name!r}") for name, text in sections.items()}
    form = _form(data.get("form", list(sections)), parsed, where)
    endings = {}
    endings_table = data.get("endings", {})
    if not isinstance(endings_table, dict):
        raise ChartError(
            f'{where}: [endings] must map sections to lists of progressions: A = ["| G7 |", "| C |"]'
        )
    for name, texts in endings_table.items():
        if name not in parsed:
            raise ChartError(f"{where}: [endings] names section {name!r}, which [sections] does not")
        if not isinstance(texts, list) or not texts:
            raise ChartError(f"{where}: endings of {name!r} must be a list of progressions")
        endings[name] = [_bars(t, f"{where}, ending {i} of {name!r}") for i, t in enumerate(texts, 1)]
    ending, intro, coda = (
        _bars(data[k], f"{where}, key {k!r}") if k in data else [] for k in ("ending", "intro", "coda")
    )
    chart = Chart(title, parsed, form, endings, ending, str(data.get("key", "")), bpm, intro=intro, coda=coda)
    if len(ending) > len(chart.chorus()):
        raise ChartError(f"{where}: key 'ending' is longer than the chorus")
    after = data.get("coda_after")
    if after is not None:
        if isinstance(after, bool) or not isinstance(after, int) or not 1 <= after <= len(chart.chorus()):
            raise ChartError(
                f"{where}: key 'coda_after' must be a bar of the chorus, 1-{len(chart.chorus())}"
            )
        if not coda:
            raise ChartError(f"{where}: key 'coda_after' needs a 'coda'")
        chart = replace(chart, coda_after=after)
    return chart


def _bars(text: object, where: str) -> Bars:
    if not isinstance(text, str):
        raise ChartError(f'{where}: must be a progression like "| Dm7 G7 | Cmaj7 |", not {text!r}')
    try:  # a progression may go on over several lines, each framed by bar lines
        return parse_progression(re.sub(r"\|[ \t]*\n\s*\|", "|", text.strip()))
    except ChordError as exc:
        raise ChartError(f"{where}: {exc}") from exc


def _form(form: object, sections: dict[str, Bars], where: str) -> tuple[str, ...]:
    """The form: a string of one-letter section names ("AABA") or a list of names."""
    names = list(re.sub(r"\s+", "", form)) if isinstance(form, str) else form
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ChartError(f'{where}: key \'form\' must be like "AABA" or ["A1", "A2", "B", "A2"]')
    missing = [n for n in names if n not in sections]
    if missing:
        raise ChartError(f"{where}: the form names section {missing[0]!r}, which [sections] does not")
    unused = [n for n in sections if n not in names]
    if unused:
        raise ChartError(f"{where}: section {unused[0]!r} is not in the form {' '.join(names)}")
    return tuple(names)


def chart_to_toml(chart: Chart) -> str:
    """A chart in jazzd's TOML format (what `jazzd tunes import` writes)."""

    def text(bars: Bars) -> str:
        def written(bar: list[Chord]) -> str:
            beats = bar_ticks([bar]) // TICKS_PER_BEAT
            return " ".join([*([f"{beats}/4"] if beats != BEATS_PER_BAR else []), *(c.symbol for c in bar)])

        return "| " + " | ".join(written(bar) for bar in bars) + " |"

    lines = [f"title = {json.dumps(chart.title, ensure_ascii=False)}"]
    if chart.key:
        lines.append(f"key = {json.dumps(chart.key)}")
    if chart.bpm:
        lines.append(f"tempo = {chart.bpm:g}")
    lines.append(f"form = {json.dumps(list(chart.form))}")
    for name in ("intro", "ending", "coda"):
        if getattr(chart, name):
            lines.append(f"{name} = {json.dumps(text(getattr(chart, name)))}")
    if chart.coda_after is not None:
        lines.append(f"coda_after = {chart.coda_after}")
    lines += [
        "",
        "[sections]",
        *(f"{json.dumps(n)} = {json.dumps(text(b))}" for n, b in chart.sections.items()),
    ]
    if chart.endings:
        lines += ["", "[endings]"]
        lines += [f"{json.dumps(n)} = {json.dumps([text(e) for e in es])}" for n, es in chart.endings.items()]
    return "\n".join(lines) + "\n"


def read_chart(path: Path) -> Chart:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ChartError(f"{path}: cannot read the chart ({exc})") from exc
    chart = chart_from_toml(text, str(path))
    return replace(chart, source=str(path))
