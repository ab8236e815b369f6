"""`jazzd corpus inspect`, and the corpus options the learning commands share."""

from __future__ import annotations

import argparse
import json

from jazzd.music.corpus import read_corpus, summarize
from jazzd.music.midifile import SEED_FILE, SEED_PRESET, MidiSelection


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


def add_commands(commands, common: argparse.ArgumentParser) -> None:
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
