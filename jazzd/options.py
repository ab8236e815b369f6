"""Argument types and option groups the subcommands share: every range in one place (the
config's, for the settings a config can also give)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from jazzd.solo.memory import MOTIF_FOLLOW

MAX_BARS = 100_000  # a rendered line's longest (hours at any tempo; memory stays small)


def positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, not {text}")
    return value


def bar_count(text: str) -> int:
    value = int(text)
    if not 0 < value <= MAX_BARS:
        raise argparse.ArgumentTypeError(f"must be a whole number of bars 1-{MAX_BARS:,}, not {text}")
    return value


def setting(key: str) -> Callable[[str], Any]:
    """An argparse type that holds a flag to a config key's range: one place for the ranges."""
    from jazzd.live.config import KEYS

    spec = KEYS[key]
    convert = float if spec.kind == (int, float) else spec.kind

    def parse(text: str):
        value = convert(text)
        if (spec.choices is not None and value not in spec.choices) or (
            spec.check is not None and not spec.check(value)
        ):
            raise argparse.ArgumentTypeError(f"must be {spec.allowed}, not {text}")
        return value

    return parse


def seed_number(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number 0 or more, not {text}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text}")
    return value


def probability(text: str) -> float:
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 0 and below 1, not {text}")
    return value


def share(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be a share from 0 to 1, not {text}")
    return value


def channel_number(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 16:
        raise argparse.ArgumentTypeError(f"MIDI channels are 1-16, not {text}")
    return value


def add_model_options(parser, defaults: bool = True) -> None:
    """--model, --seed, --temperature, --top-p, --motifs; without defaults, unset flags leave the
    config's."""
    parser.add_argument(
        "--model", metavar="M", help="a shipped model's name or an .onnx path (default wjazzd)"
    )
    parser.add_argument(
        "--seed", type=seed_number, default=0 if defaults else None, metavar="S", help="random seed (0)"
    )
    parser.add_argument(
        "--temperature",
        type=setting("solo.temperature"),
        default=1.0 if defaults else None,
        metavar="T",
        help="sampling temperature (1.0)",
    )
    parser.add_argument(
        "--top-p",
        type=setting("solo.top_p"),
        default=1.0 if defaults else None,
        metavar="P",
        help="nucleus sampling mass, (0, 1] (1.0)",
    )
    parser.add_argument(
        "--motifs",
        type=setting("solo.motifs"),
        default=MOTIF_FOLLOW if defaults else None,
        metavar="P",
        help=f"chance a note begins restating one of the line's figures, 0-1 (0: never; {MOTIF_FOLLOW:g})",
    )
