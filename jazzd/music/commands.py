"""`jazzd corpus inspect`, and the corpus options the learning commands share."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from jazzd.music.charts import ChartError, chart_to_toml
from jazzd.music.corpus import read_corpus, summarize
from jazzd.music.ireal import charts_from_text
from jazzd.music.library import available_charts, slug
from jazzd.music.midifile import SEED_FILE, SEED_PRESET, MidiSelection

log = logging.getLogger(__name__)


def selection(args: argparse.Namespace) -> MidiSelection:
    """The MIDI track/window choice from flags, on top of a preset when one is named."""
    base = SEED_PRESET if args.preset == "seed" else MidiSelection()
    return MidiSelection(
        melody=args.melody_track if args.melody_track is not None else base.melody,
        chords=tuple(args.chord_track) if args.chord_track else base.chords,
        start_beat=args.start_beat if args.start_beat is not None else base.start_beat,
        end_beat=args.end_beat if args.end_beat is not None else base.end_beat,
    )


def add_corpus_options(parser: argparse.ArgumentParser, paths_required: bool = True) -> None:
    """Options shared by every command that reads a corpus."""
    parser.add_argument(
        "paths",
        nargs="+" if paths_required else "*",
        metavar="PATH",
        help="MIDI files, WJazzD CSV files, folders or glob patterns",
    )
    parser.add_argument(
        "--melody-track", metavar="T", help="MIDI melody track: index, name (or part of it), or program:N"
    )
    parser.add_argument(
        "--chord-track",
        metavar="T",
        action="append",
        help="MIDI chord track (repeatable); the melody's own track splits off its top line",
    )
    parser.add_argument("--start-beat", type=float, metavar="B", help="first beat to read (MIDI)")
    parser.add_argument("--end-beat", type=float, metavar="B", help="beat to stop reading at (MIDI)")
    parser.add_argument("--strict", action="store_true", help="stop at the first unreadable file")


def cmd_corpus_inspect(args: argparse.Namespace) -> int:
    solos, skipped = read_corpus(args.paths, selection(args), strict=args.strict)
    summary = summarize(solos, skipped)
    if args.json:
        print(json.dumps(summary, indent=1))
        return 0
    tokens = max(1, summary["tokens"])
    rt = summary["roundtrip"]
    print(f"solos      {summary['solos']}  ({summary['chords_inferred']} without chord annotations)")
    print(
        f"notes      {summary['notes']:,}  ({summary['dropped_in_quantization']:,} lost to grid collisions)"
    )
    print(f"tokens     {summary['tokens']:,}  (vocabulary {summary['vocab_size']:,})")
    print("types      " + "  ".join(f"{t} {n:,} ({n / tokens:.1%})" for t, n in summary["types"].items()))
    print(f"round trip rhythm exact {rt['rhythm_exact']:.2%}, type preserved {rt['type_preserved']:.2%}")
    print(
        f"skipped    {len(summary['skipped'])} file(s)" + (" (reasons above)" if summary["skipped"] else "")
    )
    return 0


def cmd_tunes(args: argparse.Namespace) -> int:
    """The tunes jazzd can play: built in, and in a charts folder (bad charts: one line each)."""
    charts, problems = available_charts(Path(args.charts) if args.charts else None)
    for problem in problems:
        log.error("%s", problem)
    if args.json:
        print(json.dumps({name: chart.describe() for name, chart in sorted(charts.items())}, indent=1))
    else:
        for name, chart in sorted(charts.items()):
            info = chart.describe()
            tempo = f"{info['tempo']:g} bpm" if info["tempo"] else ""
            title, key, form = info["title"][:34], info["key"], info["form"]
            print(f"{name:24} {title:34} {key:4} {info['bars']:3} bars  {form:12} {tempo}")
    return 2 if problems else 0


def cmd_tunes_import(args: argparse.Namespace) -> int:
    """iReal Pro links (or exported pages) into jazzd TOML charts in a folder; every tune that
    cannot be read is one line, and the rest are written."""
    charts, problems = [], []
    for source in args.sources:
        path = Path(source)
        if source.startswith(("irealb://", "irealbook://")):
            found, bad = charts_from_text(source, "link")
        else:
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError as exc:
                raise ChartError(f"{path}: cannot read it ({exc.strerror or exc})") from exc
            found, bad = charts_from_text(text, str(path))
        charts.extend(found)
        problems.extend(bad)
    for problem in problems:
        log.error("%s", problem)
    folder = Path(args.to)
    if folder.exists() and not folder.is_dir():
        raise ChartError(f"--to {folder}: is a file; name a folder for the charts")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ChartError(f"--to {folder}: cannot make the charts folder ({exc.strerror or exc})") from exc
    written: set[str] = set()
    replaced = 0
    for chart in charts:
        name = _free_name(slug(chart.title), written)
        if name != slug(chart.title):
            log.warning(
                "%r: another tune of the same name was imported first; written as %s.toml", chart.title, name
            )
        path = folder / f"{name}.toml"
        replaced += path.exists()
        try:
            path.write_text(chart_to_toml(chart), encoding="utf-8")
        except OSError as exc:
            raise ChartError(f"{path}: cannot write the chart ({exc.strerror or exc})") from exc
        written.add(name)
    again = f" ({replaced} replaced an earlier import)" if replaced else ""
    log.info("imported %d of %d tunes into %s%s", len(written), len(charts) + len(problems), folder, again)
    return 2 if problems else 0


def _free_name(name: str, taken: set[str]) -> str:
    """`name`, or `name-2`, `name-3`, … when an earlier tune of this import has it."""
    number, free = 1, name
    while free in taken:
        number += 1
        free = f"{name}-{number}"
    return free


def add_commands(commands, common: argparse.ArgumentParser) -> None:
    tunes = commands.add_parser(
        "tunes", help="the tunes jazzd can play (built in and yours)", parents=[common]
    )
    tunes.add_argument("--charts", metavar="DIR", help="a folder of your charts (TOML, iReal Pro exports)")
    tunes.add_argument("--json", action="store_true", help="one JSON object on stdout")
    tunes.set_defaults(handler=cmd_tunes)
    tunes_commands = tunes.add_subparsers(dest="tunes_command", metavar="ACTION")
    add = tunes_commands.add_parser(
        "import", help="iReal Pro links or exported playlists into jazzd charts", parents=[common]
    )
    add.add_argument(
        "sources", nargs="+", metavar="LINK_OR_FILE", help="irealb:// links, or .html/.txt files"
    )
    add.add_argument("--to", required=True, metavar="DIR", help="the charts folder to write the tunes to")
    add.set_defaults(handler=cmd_tunes_import)

    corpus = commands.add_parser("corpus", help="read and examine a training corpus", parents=[common])
    corpus_commands = corpus.add_subparsers(dest="corpus_command", metavar="ACTION", required=True)
    inspect = corpus_commands.add_parser(
        "inspect", help="how a corpus tokenizes, with the round trip", parents=[common]
    )
    add_corpus_options(inspect)
    inspect.add_argument(
        "--preset",
        choices=["seed"],
        help=f"seed: the course's slice of {SEED_FILE} (guitar over piano, beats 476-548)",
    )
    inspect.add_argument("--json", action="store_true", help="one JSON object on stdout")
    inspect.set_defaults(handler=cmd_corpus_inspect)
