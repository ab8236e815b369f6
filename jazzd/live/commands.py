"""Playing (`jazzd` with no command), `jazzd ports` and `jazzd doctor`."""

from __future__ import annotations

import argparse
import json

from jazzd.live.config import SYSTEM_CONFIG
from jazzd.live.outputs import BACKENDS, DEFAULT_BACKEND
from jazzd.options import add_model_options, channel_number, setting


def cmd_play(args: argparse.Namespace) -> int:
    from jazzd.live.config import build_options
    from jazzd.live.daemon import play

    overrides = {
        "port": args.port,
        "input": args.input,
        "clock": args.clock,
        "bpm": args.bpm,
        "chords": args.chords,
        "model": args.model,
        "channel": args.channel,
        "midi_api": args.midi_api,
        "seed": args.seed,
        "temperature": args.temperature,
        "top_p": args.top_p,
        "motifs": args.motifs,
        "virtual": args.virtual or None,
        "mode": args.mode,
        "midi_log": args.midi_log,
        "realtime_priority": args.realtime_priority,
        "tune": args.tune,
        "charts": args.charts,
        "choruses": args.choruses,
        "count_in": args.count_in,
        "count_in_channel": args.count_in_channel,
        "clock_out": args.clock_out or None,
    }

    return play(lambda: build_options(args.config, overrides))


def cmd_ports(args: argparse.Namespace) -> int:
    from jazzd.live.ports import PortLister

    lister = PortLister(args.midi_api)
    try:
        ports = {"api": args.midi_api, "outputs": lister.outputs(), "inputs": lister.inputs()}
    finally:
        lister.close()
    if args.json:
        print(json.dumps(ports, indent=1))
        return 0
    for kind in ("outputs", "inputs"):
        print(f"{kind} ({args.midi_api}):")
        for name in ports[kind] or ["(none)"]:
            print(f"  {name}")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from jazzd.live.doctor import run_checks

    findings = run_checks()
    if args.json:
        print(json.dumps([asdict(f) for f in findings], indent=1))
    else:
        for f in findings:
            print(f"{f.status:5} {f.check}: {f.detail}")
    return 1 if any(f.status == "fail" for f in findings) else 0


def add_play_options(parser: argparse.ArgumentParser) -> None:
    """Flags for playing; unset ones (None) leave the config file's value."""
    play = parser.add_argument_group("playing (jazzd with no command)")
    play.add_argument("--config", metavar="FILE", help=f"TOML settings (default {SYSTEM_CONFIG} if present)")
    play.add_argument(
        "--port", metavar="NAME", help="the synth's MIDI output port (exact name or part of it)"
    )
    play.add_argument("--input", metavar="NAME", help="keyboard / MIDI clock input port")
    play.add_argument(
        "--clock", choices=["internal", "midi"], help="own tempo, or follow MIDI clock on --input"
    )
    play.add_argument("--bpm", type=setting("clock.bpm"), metavar="B", help="internal clock tempo (120)")
    over = play.add_mutually_exclusive_group()
    over.add_argument("--chords", metavar="PROGRESSION", help="progression to follow (default: a blues in F)")
    over.add_argument(
        "--tune", metavar="NAME", help="a tune to play (jazzd tunes lists them) or a chart file"
    )
    play.add_argument("--charts", metavar="DIR", help="a folder of your charts (TOML, iReal Pro exports)")
    play.add_argument(
        "--choruses",
        type=setting("tune.choruses"),
        metavar="N",
        help="choruses, then end together (0: until stopped)",
    )
    play.add_argument(
        "--count-in", type=setting("tune.count_in"), metavar="BARS", help="bars counted in, 0-2 (0)"
    )
    play.add_argument(
        "--count-in-channel",
        type=setting("tune.count_in_channel"),
        metavar="CH",
        help="channel of the count-in clicks (10); 0: silent",
    )
    play.add_argument(
        "--clock-out", action="store_true", help="send MIDI clock (Start, ticks, Stop) on the output port"
    )
    play.add_argument("--channel", type=channel_number, metavar="1-16", help="MIDI channel (1)")
    play.add_argument(
        "--midi-api", choices=list(BACKENDS), help=f"{' or '.join(BACKENDS)} ({DEFAULT_BACKEND})"
    )
    play.add_argument("--mode", choices=["solo", "trade", "answer"], help="solo (default), trade or answer")
    play.add_argument("--virtual", action="store_true", help="create virtual ports named --port/--input")
    play.add_argument(
        "--realtime-priority",
        type=int,
        metavar="N",
        help="SCHED_FIFO priority of the timing thread, 1-99, below JACK's (3); 0: normal scheduling",
    )
    play.add_argument(
        "--midi-log",
        metavar="FILE",
        help="write every message sent (with the time it was due) and received (with its arrival "
        "time) to FILE, as JSON lines: for judging timing at a receiver",
    )
    add_model_options(play, defaults=False)


def add_commands(commands, common: argparse.ArgumentParser) -> None:
    ports = commands.add_parser("ports", help="list MIDI input and output ports", parents=[common])
    ports.add_argument("--midi-api", choices=list(BACKENDS), default=DEFAULT_BACKEND)
    ports.add_argument("--json", action="store_true")
    ports.set_defaults(handler=cmd_ports)

    doctor = commands.add_parser(
        "doctor", help="what to check before a gig: architecture, packages, MIDI, real-time, CPU governor"
    )
    doctor.add_argument("--json", action="store_true")
    doctor.set_defaults(handler=cmd_doctor)
