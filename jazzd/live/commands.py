"""Playing (`jazzd` with no command), `jazzd ports` and `jazzd doctor`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from jazzd.live.config import KEYS, SYSTEM_CONFIG
from jazzd.live.outputs import BACKENDS, DEFAULT_BACKEND
from jazzd.options import add_model_options, setting


def cmd_play(args: argparse.Namespace) -> int:
    from jazzd.live.config import build_options
    from jazzd.live.daemon import play

    overrides = {spec.field: getattr(args, spec.field) for spec in KEYS.values() if spec.field in PLAY_FLAGS}
    overrides |= {name: None for name, value in overrides.items() if value is False}  # a switch not given
    overrides["midi_log"] = args.midi_log
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

    findings = run_checks(Path(args.config) if args.config else SYSTEM_CONFIG)
    if args.json:
        print(json.dumps([asdict(f) for f in findings], indent=1))
    else:
        for f in findings:
            print(f"{f.status:5} {f.check}: {f.detail}")
    return 1 if any(f.status == "fail" for f in findings) else 0


def cmd_web_token(args: argparse.Namespace) -> int:
    """Print the page's link with its token; --new makes the token first."""
    from jazzd.live.config import PlayOptions, read_config
    from jazzd.live.web import page_link, read_token, write_token

    path = Path(args.config) if args.config else SYSTEM_CONFIG
    values = {**vars(PlayOptions()), **(read_config(path) if path.is_file() else {})}
    token = write_token(values["web_token_file"]) if args.new else read_token(values["web_token_file"])
    print(page_link(values["web_address"], values["web_port"], token))
    return 0


MODEL_FLAGS = ("model", "seed", "temperature", "top_p", "motifs")  # shared with render (options.py)
PLAY_FLAGS = {spec.field for spec in KEYS.values() if spec.help} | set(MODEL_FLAGS)


def add_play_options(parser: argparse.ArgumentParser) -> None:
    """Flags for playing, made from the config's keys; unset ones (None) leave the config
    file's value."""
    play = parser.add_argument_group("playing (jazzd with no command)")
    play.add_argument("--config", metavar="FILE", help=f"TOML settings (default {SYSTEM_CONFIG} if present)")
    groups: dict[str, argparse._MutuallyExclusiveGroup] = {}
    for key, spec in KEYS.items():
        if not spec.help:
            continue
        where = play
        if spec.exclusive:
            if spec.exclusive not in groups:
                groups[spec.exclusive] = play.add_mutually_exclusive_group()
            where = groups[spec.exclusive]
        if spec.kind is bool:
            where.add_argument(spec.flag, action="store_true", help=spec.help)
        elif spec.choices:
            where.add_argument(spec.flag, choices=spec.choices, help=spec.help)
        else:  # numbers are read (and ranged) by argparse; names and progressions by the config's check
            kind = None if spec.kind is str else setting(key)
            where.add_argument(spec.flag, type=kind, metavar=spec.metavar, help=spec.help)
    play.add_argument(
        "--midi-log",
        metavar="FILE",
        help="write every message sent (with the time it was due) and received (with its arrival "
        "time) to FILE, as JSON lines: for judging timing at a receiver",
    )
    add_model_options(play, defaults=False)


def controls_help() -> str:
    """What the keyboard can do (the --help epilog), with the shipped numbers."""
    from jazzd.live.listen import WHAT_CONTROLS_DO, Controls

    lines = ['keyboard controls ([controls] in the config: a CC number, or "note N" for a pad):']
    for name, value in vars(Controls()).items():
        given = f"CC {value}" if isinstance(value, int) else "not set"
        lines.append(f"  {name:<12} {given:<8} {WHAT_CONTROLS_DO[name]}")
    lines.append(
        "  Program Change n (counted from 1): the [setlist]'s tune n, counted in at the next bar line"
    )
    lines.append("the [web] page (off by default) does the same from a phone: see the README")
    return "\n".join(lines)


def add_commands(commands, common: argparse.ArgumentParser) -> None:
    ports = commands.add_parser("ports", help="list MIDI input and output ports", parents=[common])
    ports.add_argument("--midi-api", choices=list(BACKENDS), default=DEFAULT_BACKEND)
    ports.add_argument("--json", action="store_true")
    ports.set_defaults(handler=cmd_ports)

    doctor = commands.add_parser(
        "doctor", help="what to check before a gig: architecture, packages, MIDI, real-time, CPU governor"
    )
    doctor.add_argument("--json", action="store_true")
    doctor.add_argument("--config", metavar="FILE", help=f"the config to check ({SYSTEM_CONFIG})")
    doctor.set_defaults(handler=cmd_doctor)

    token = commands.add_parser(
        "web-token", help="the phone page's link with its token ([web]); --new makes a new token"
    )
    token.add_argument("--new", action="store_true", help="make a new token (the old link stops working)")
    token.add_argument("--config", metavar="FILE", help=f"the config naming [web] ({SYSTEM_CONFIG})")
    token.set_defaults(handler=cmd_web_token)
