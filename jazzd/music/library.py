"""The tune library: where charts come from — the built-in ones, a charts folder of jazzd's
TOML charts and iReal Pro exports — and finding one by file, name or title."""

from __future__ import annotations

import re
from pathlib import Path

from jazzd.music.charts import Chart, ChartError, read_chart
from jazzd.music.ireal import charts_from_text


def builtin_dir() -> Path:
    """The built-in charts: installed as `jazzd/charts`, or `charts/` in a checkout."""
    installed = Path(__file__).resolve().parents[1] / "charts"
    return installed if installed.is_dir() else Path(__file__).resolve().parents[2] / "charts"


def load_charts(folder: Path) -> tuple[dict[str, Chart], list[str]]:
    """Every chart in a folder — jazzd's TOML charts, and iReal Pro exports (.html or .txt files
    holding irealb:// links) — by name; and one line for each that could not be read."""
    charts: dict[str, Chart] = {}
    problems: list[str] = []
    for path in sorted(folder.glob("*")):
        if path.suffix == ".toml":
            try:
                charts[path.stem] = read_chart(path)
            except ChartError as exc:
                problems.append(str(exc))
        elif path.suffix in (".html", ".txt"):
            found, bad = charts_from_text(path.read_text(encoding="utf-8", errors="replace"), str(path))
            charts.update({slug(c.title): c for c in found})
            problems.extend(bad)
    return charts, problems


def slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "chart"


def find_chart(spec: str, folder: Path | None = None, charts: dict[str, Chart] | None = None) -> Chart:
    """A chart by file path, else by name (file name or title, any case) among the charts
    folder's and the built-in ones (or `charts`, read once for many lookups); ChartError listing
    the names when there is none."""
    path = Path(spec)
    if path.suffix == ".toml" or path.is_file():
        if path.suffix != ".toml":
            raise ChartError(f"{path}: a chart file must be jazzd's TOML (.toml); import iReal links first")
        return read_chart(path)
    if charts is None:
        charts = available_charts(folder)[0]
    wanted = slug(spec)
    for name, chart in charts.items():
        if wanted in (name, slug(chart.title)):
            return chart
    raise ChartError(f"no tune named {spec!r}; tunes: {', '.join(sorted(charts))} (jazzd tunes lists them)")


def available_charts(folder: Path | None = None) -> tuple[dict[str, Chart], list[str]]:
    """The built-in charts, then the folder's (a folder chart of the same name wins)."""
    charts, problems = load_charts(builtin_dir())
    if folder is not None:
        if not folder.is_dir():
            return charts, [*problems, f"{folder}: the charts folder does not exist"]
        mine, bad = load_charts(folder)
        charts.update(mine)
        problems.extend(bad)
    return charts, problems
