"""The `jazzd` command line: each side adds its own subcommands, each parser next to its
handler (music/, learn/, live/ and measure/commands.py); here the top: logging, one-line errors,
and `render`."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from jazzd.errors import JazzdError
from jazzd.learn import commands as learn_commands
from jazzd.live import commands as live_commands
from jazzd.measure import commands as measure_commands
from jazzd.music import commands as music_commands
from jazzd.music.chords import DEFAULT_PROGRESSION
from jazzd.options import add_model_options, bar_count, setting

log = logging.getLogger("jazzd")
DEFAULT_BPM = 120.0


def cmd_render(args: argparse.Namespace) -> int:
    from jazzd.music.charts import Chart
    from jazzd.music.grammar import BAR_TICKS, TICKS_PER_BEAT
    from jazzd.music.library import find_chart
    from jazzd.music.timeline import ChordTimeline, bar_ticks
    from jazzd.solo.engine import Engine
    from jazzd.solo.render import render
    from jazzd.solo.soloist import Soloist

    if args.tune:
        chart = find_chart(args.tune, Path(args.charts) if args.charts else None)
        choruses = args.choruses or 1
        timeline, end = chart.timeline(choruses), bar_ticks(chart.bars(choruses))
        landing = chart.form_of(choruses).landing
    elif args.bars is None:
        raise JazzdError("render needs --bars N (over --chords) or --tune NAME")
    else:
        chart = Chart.of_progression(args.chords or DEFAULT_PROGRESSION)
        timeline, end, landing = ChordTimeline.looped(chart.chorus()), args.bars * BAR_TICKS, None
    bpm = args.bpm or chart.bpm or DEFAULT_BPM
    engine = Engine(args.model, seed=args.seed, temperature=args.temperature, top_p=args.top_p)
    soloist = Soloist(engine, seed=args.seed, motifs=args.motifs)
    notes = render(soloist, timeline, end, bpm, Path(args.output), landing)
    log.info(
        "wrote %s: %d notes over %g beats at %g bpm (model %s)",
        args.output,
        len(notes),
        end / TICKS_PER_BEAT,
        bpm,
        engine.files.name,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="debug logging"
    )
    parser = argparse.ArgumentParser(
        prog="jazzd",
        description="Improvise jazz lines over chords.",
        parents=[common],
        epilog=live_commands.controls_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    live_commands.add_play_options(parser)
    parser.set_defaults(handler=live_commands.cmd_play)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for side in (live_commands, music_commands, learn_commands, measure_commands):
        side.add_commands(commands, common)
    render = commands.add_parser(
        "render", help="an offline solo over a progression or a tune, as a MIDI file", parents=[common]
    )
    over = render.add_mutually_exclusive_group()
    over.add_argument(
        "--chords",
        metavar="PROGRESSION",
        help="bars separated by |, %% repeats a bar (default: a jazz blues in F)",
    )
    over.add_argument("--tune", metavar="NAME", help="a tune (jazzd tunes lists them) or a chart file")
    render.add_argument("--bars", type=bar_count, metavar="N", help="bars to play over --chords")
    render.add_argument(
        "--choruses",
        type=setting("tune.choruses"),
        metavar="N",
        help="choruses of --tune (1); the last lands on its final chord",
    )
    render.add_argument("--charts", metavar="DIR", help="a folder of your charts (TOML, iReal Pro exports)")
    render.add_argument("--bpm", type=setting("clock.bpm"), metavar="B", help="tempo (the tune's, else 120)")
    add_model_options(render)
    render.add_argument("-o", "--output", required=True, metavar="OUT.mid")
    render.set_defaults(handler=cmd_render)
    return parser


SYSLOG_PRIORITY = {
    logging.DEBUG: 7,
    logging.INFO: 6,
    logging.WARNING: 4,
    logging.ERROR: 3,
    logging.CRITICAL: 2,
}


class JournalFormatter(logging.Formatter):
    """Under systemd, stderr goes to the journal: a `<N>` prefix gives each line its priority
    (so `journalctl -p warning` works) and journald adds the time and the unit itself. A
    traceback goes with its record, every line at the record's priority."""

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.exc_info:
            text = f"{text}\n{self.formatException(record.exc_info)}"
        priority = SYSLOG_PRIORITY.get(record.levelno, 6)
        return "\n".join(f"<{priority}>{line}" for line in text.splitlines())


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JournalFormatter()
        if os.environ.get("JOURNAL_STREAM")
        else logging.Formatter("jazzd: %(levelname)s: %(message)s")
    )
    logging.basicConfig(
        level=logging.DEBUG if getattr(args, "verbose", False) else logging.INFO, handlers=[handler]
    )
    try:
        return args.handler(args)
    except JazzdError as exc:
        prefix = "<3>" if os.environ.get("JOURNAL_STREAM") else ""
        for line in str(exc).splitlines():
            print(f"{prefix}jazzd: error: {line}", file=sys.stderr)
        if exc.__cause__ is not None:  # the library's own error, for -v
            log.debug("caused by %r", exc.__cause__, exc_info=exc.__cause__)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader of our output left (`jazzd tunes | head`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
