"""The stage: what the musician asks for while playing — a tune from the setlist, the next or
previous one, a tapped tempo, a mode, start/stop, panic — from the keyboard or the phone page,
and what jazzd shows back.

Requests come from the input and web threads and are only queued here; the main thread acts
on them at its next turn (daemon.py: a tune or a tempo at a bar line), so a request never
waits on the timing thread nor holds it up. Both sources go through `ask`, so a change from
the page is logged and applied exactly like one from the keyboard.
"""

from __future__ import annotations

import logging
import queue
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jazzd.live.turns import MODES
from jazzd.music.charts import Chart, ChartError
from jazzd.music.library import available_charts, find_chart

log = logging.getLogger(__name__)

TAPS = 4  # the tempo is read from the last four taps (three intervals)
TAP_GAP = 2.0  # seconds: a longer gap begins a new tapping (20-400 bpm is 3 s to 0.15 s a beat)
KINDS = ("call", "step", "tempo", "mode", "start_stop", "panic")


@dataclass(frozen=True)
class Entry:
    """One tune of the setlist, with what it plays at (None: the tune's own, or the config's)."""

    name: str
    chart: Chart
    bpm: float | None = None
    choruses: int | None = None
    mode: str | None = None


ENTRY_FIELDS: dict[str, tuple[type | tuple[type, ...], str, Callable[[Any], bool]]] = {
    "tune": (str, "a tune's name or a chart file", lambda v: bool(v.strip())),
    "bpm": ((int, float), "20-400 beats per minute", lambda v: 20 <= v <= 400),
    "choruses": (int, "0-999 (0: until the next call)", lambda v: 0 <= v <= 999),
    "mode": (str, " or ".join(f'"{m}"' for m in MODES), lambda v: v in MODES),
}


def read_setlist(entries: list, charts: str | None) -> list[Entry]:
    """The setlist's entries — each a tune's name or chart file, or a table with `tune` and any
    of bpm, choruses, mode — their charts found now, so a call on stage reads no file. A bad
    entry raises ChartError naming it ("entry 3: ...")."""
    library = None
    setlist = []
    for number, item in enumerate(entries, 1):
        where = f"entry {number}"
        spec = {"tune": item} if isinstance(item, str) else item
        if not isinstance(spec, dict) or "tune" not in spec:
            raise ChartError(f"{where}: give a tune's name, or a table with tune = NAME (not {item!r})")
        for key, value in spec.items():
            if key not in ENTRY_FIELDS:
                raise ChartError(f"{where}: unknown key {key!r} (known: {', '.join(ENTRY_FIELDS)})")
            kind, allowed, check = ENTRY_FIELDS[key]
            if isinstance(value, bool) or not isinstance(value, kind) or not check(value):
                raise ChartError(f"{where}: {key} must be {allowed}, not {value!r}")
        name = spec["tune"]
        if library is None and not Path(name).suffix:
            library = available_charts(Path(charts) if charts else None)[0]
        try:
            chart = find_chart(name, Path(charts) if charts else None, library)
        except ChartError as exc:
            raise ChartError(f"{where}: {exc}") from exc
        setlist.append(Entry(name, chart, spec.get("bpm"), spec.get("choruses"), spec.get("mode")))
    return setlist


class TapTempo:
    """A tempo from taps: the mean beat of the last `TAPS` taps, from the second tap on."""

    def __init__(self) -> None:
        self._taps: deque[float] = deque(maxlen=TAPS)

    def tap(self, t: float) -> float | None:
        """A tap at `t` (seconds); the tempo tapped so far (bpm, 20-400), or None."""
        if self._taps and not 0 < t - self._taps[-1] <= TAP_GAP:
            self._taps.clear()
        self._taps.append(t)
        if len(self._taps) < 2:
            return None
        bpm = 60.0 * (len(self._taps) - 1) / (self._taps[-1] - self._taps[0])
        return min(max(bpm, 20.0), 400.0)


@dataclass(frozen=True)
class Request:
    kind: str  # one of KINDS
    value: Any
    source: str  # "keyboard" or "page"


@dataclass
class Stage:
    """The setlist, the requests waiting for the main thread, and the state it last published
    (for the page). One for the whole run of jazzd: it outlives each tune's performance."""

    setlist: list[Entry] = field(default_factory=list)
    current: int | None = None  # the setlist entry playing (index)
    wake: Callable[[], None] = lambda: None  # the main thread's, so a request is acted on at once
    state: dict = field(default_factory=dict)  # the last published state, replaced whole
    watchers: list[Callable[[], None]] = field(default_factory=list)  # told when it changes
    _requests: queue.SimpleQueue = field(default_factory=queue.SimpleQueue)
    _taps: TapTempo = field(default_factory=TapTempo)

    def ask(self, kind: str, value: Any, source: str) -> None:
        """Any thread: queue a request for the main thread."""
        self._requests.put(Request(kind, value, source))
        self.wake()

    def tap(self, t: float, source: str) -> None:
        bpm = self._taps.tap(t)
        if bpm is not None:
            self.ask("tempo", round(bpm, 2), source)

    def take(self) -> list[Request]:
        """The main thread: every request waiting, oldest first."""
        taken = []
        while True:
            try:
                taken.append(self._requests.get_nowait())
            except queue.Empty:
                return taken

    def entry_called(self, request: Request) -> int | None:
        """The setlist index a call or step asks for, or None (logged) when there is none."""
        if request.kind == "call":
            index = request.value
        else:
            index = (self.current if self.current is not None else -1) + request.value
        if not self.setlist:
            log.warning("tune %s from the %s: there is no [setlist]", _which(request), request.source)
            return None
        if not 0 <= index < len(self.setlist):
            log.warning(
                "tune %s from the %s: the setlist has %d tunes",
                _which(request),
                request.source,
                len(self.setlist),
            )
            return None
        return index

    @property
    def watched(self) -> bool:
        return bool(self.watchers)

    def publish(self, state: dict) -> None:
        """The main thread: a new state for the page (only while a page is open)."""
        self.state = state
        for watcher in self.watchers:  # replaced whole by the web thread, never changed in place
            watcher()


def _which(request: Request) -> str:
    if request.kind == "call":
        return f"{request.value + 1}"
    return "next" if request.value > 0 else "previous"
