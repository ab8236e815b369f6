"""The TOML configuration: every player setting, checked key by key.

Looked up from `--config FILE`, else /etc/jazzd/jazzd.toml, else the built-in defaults; flags on
the command line win over the file. Every wrong key, type or range is one line naming the file,
the key and what is allowed, and exit code 78 (EX_CONFIG), which systemd is told not to restart.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from jazzd.errors import ChordError, JazzdError, ModelError
from jazzd.live.listen import Controls, valid_control
from jazzd.live.outputs import BACKENDS, DEFAULT_BACKEND
from jazzd.live.stage import Entry, read_setlist
from jazzd.live.turns import MODES
from jazzd.music.charts import Chart, ChartError
from jazzd.music.chords import DEFAULT_PROGRESSION, parse_progression
from jazzd.music.grammar import DEFAULT_REGISTER
from jazzd.music.library import find_chart
from jazzd.solo.memory import MOTIF_FOLLOW
from jazzd.solo.modelfile import load_model_files

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

SYSTEM_CONFIG = Path("/etc/jazzd/jazzd.toml")
EX_CONFIG = 78


@dataclass
class PlayOptions:
    """Everything the player needs; filled from the config file and the command line."""

    port: str = ""  # must be given: on the command line or in the config
    input: str | None = None
    clock: str = "internal"
    bpm: float = 120.0
    chords: str = DEFAULT_PROGRESSION
    model: str | None = None
    channel: int = 1
    midi_api: str = DEFAULT_BACKEND
    seed: int = 0
    temperature: float = 1.0
    top_p: float = 1.0
    motifs: float = MOTIF_FOLLOW  # the motif memory's chance to begin restating a figure
    virtual: bool = False
    split: int = 60
    mode: str = "solo"
    trade_bars: int = 4
    answer_after: float = 2.0
    swing: float = 0.5
    register: tuple[int, int] = DEFAULT_REGISTER
    controls: Controls = field(default_factory=Controls)
    lookahead: float = 0.5
    midi_log: str | None = None  # a file: every message sent and received, timed (JSON lines)
    realtime_priority: int = 3  # the timing thread's SCHED_FIFO priority (0: normal), below JACK's 5
    tune: str | None = None  # a tune's name or chart file (then `chords` is not used)
    charts: str | None = None  # a folder of the musician's charts
    choruses: int = 0  # 0: until stopped
    count_in: int = 0  # bars
    count_in_channel: int = 10  # 1-16; 0: a silent count-in (the clock out counts)
    count_in_note: int = 37
    clock_out: bool = False
    setlist: list[Entry] = field(default_factory=list)  # [setlist] tunes, their charts read
    web: bool = False  # the phone page ([web])
    web_address: str = "127.0.0.1"
    web_port: int = 8080
    web_token_file: str = "/etc/jazzd/web-token"
    chart: Chart | None = None  # the tune (or the progression) read: set by build_options
    fixed_bpm: float | None = None  # a tempo the config or command line set (else each tune's)


class ConfigError(JazzdError, ValueError):
    exit_code = EX_CONFIG


@dataclass(frozen=True)
class Key:
    """One setting, declared once: where it goes in PlayOptions, its type, what values are
    allowed — and, for a setting the command line may give too, its flag (`--` and the field's
    name; a bool is a switch) with its help. The flags, the overrides and the checks of both
    are made from these (`live/commands.py`)."""

    field: str
    kind: type | tuple[type, ...]
    allowed: str
    check: Any = None  # value -> bool
    help: str | None = None  # the flag's help; None: the config file only
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    exclusive: str | None = None  # flags of one group exclude each other

    @property
    def flag(self) -> str:
        return "--" + self.field.replace("_", "-")


def _between(low: float, high: float):
    return lambda v: low <= v <= high


def _model(value: str) -> bool:
    load_model_files(value)  # a ModelError says what is wrong with it
    return True


def _progression(value: str) -> bool:
    try:
        parse_progression(value)
    except ChordError:
        return False
    return True


CLOCKS = ("internal", "midi")

KEYS: dict[str, Key] = {
    "midi.port": Key(
        "port",
        str,
        "a port name or part of one",
        lambda v: bool(v.strip()),
        "the synth's MIDI output port (exact name or part of it)",
        "NAME",
    ),
    "midi.input": Key(
        "input",
        str,
        'a port name or part of one ("" for none)',
        None,
        "keyboard / MIDI clock input port",
        "NAME",
    ),
    "midi.api": Key(
        "midi_api",
        str,
        " or ".join(f'"{name}"' for name in BACKENDS),
        None,
        f"the MIDI system: {' or '.join(BACKENDS)} ({DEFAULT_BACKEND})",
        choices=tuple(BACKENDS),
    ),
    "midi.channel": Key("channel", int, "a whole number 1-16", _between(1, 16), "MIDI channel (1)", "1-16"),
    "midi.virtual": Key("virtual", bool, "true or false", None, "create virtual ports named --port/--input"),
    "clock.source": Key(
        "clock",
        str,
        '"internal" or "midi"',
        None,
        "own tempo, or follow MIDI clock on --input",
        choices=CLOCKS,
    ),
    "clock.bpm": Key(
        "bpm",
        (int, float),
        "a number of beats per minute, 20-400",
        _between(20, 400),
        "internal clock tempo (the tune's, else 120)",
        "B",
    ),
    "clock.realtime_priority": Key(
        "realtime_priority",
        int,
        "0 (normal scheduling) or a SCHED_FIFO priority 1-99",
        _between(0, 99),
        "SCHED_FIFO priority of the timing thread, 1-99, below JACK's (3); 0: normal scheduling",
        "N",
    ),
    "clock.swing": Key("swing", (int, float), "a ratio 0.5 (straight) to 0.75", _between(0.5, 0.75)),
    "clock.out": Key(
        "clock_out", bool, "true or false", None, "send MIDI clock (Start, ticks, Stop) on the output port"
    ),
    "solo.model": Key("model", str, "a shipped model's name or an .onnx path with its sidecar", _model),
    "solo.chords": Key(
        "chords",
        str,
        'a progression like "| Dm7 G7 | Cmaj7 | % |"',
        _progression,
        "progression to follow (default: a blues in F)",
        "PROGRESSION",
        exclusive="what",
    ),
    "solo.temperature": Key("temperature", (int, float), "a number 0.05-3", _between(0.05, 3)),
    "solo.top_p": Key("top_p", (int, float), "a number above 0, at most 1", lambda v: 0 < v <= 1),
    "solo.motifs": Key("motifs", (int, float), "a share 0-1 (0: no motif memory)", _between(0, 1)),
    "solo.seed": Key("seed", int, "a whole number", lambda v: v >= 0),
    "solo.register": Key(
        "register",
        list,
        "[low, high]: MIDI notes 0-127, at least 12 apart",
        lambda v: (
            len(v) == 2
            and all(isinstance(p, int) for p in v)
            and v[0] >= 0
            and v[1] <= 127
            and v[1] - v[0] >= 12
        ),
    ),
    "solo.lookahead": Key("lookahead", (int, float), "beats, 0.1-4", _between(0.1, 4)),
    "tune.name": Key(
        "tune",
        str,
        'a tune\'s name (jazzd tunes), a chart file, or "" for [solo] chords',
        None,
        "a tune to play (jazzd tunes lists them) or a chart file",
        "NAME",
        exclusive="what",
    ),
    "tune.charts": Key(
        "charts",
        str,
        'a folder of charts (TOML, iReal Pro exports), or ""',
        None,
        "a folder of your charts (TOML, iReal Pro exports)",
        "DIR",
    ),
    "tune.choruses": Key(
        "choruses",
        int,
        "a whole number of choruses 0-999 (0: until stopped)",
        _between(0, 999),
        "choruses, then end together (0: until stopped)",
        "N",
    ),
    "tune.count_in": Key(
        "count_in", int, "0, 1 or 2 bars", _between(0, 2), "bars counted in, 0-2 (0)", "BARS"
    ),
    "tune.count_in_channel": Key(
        "count_in_channel",
        int,
        "a MIDI channel 1-16, or 0 for a silent count-in",
        _between(0, 16),
        "channel of the count-in clicks (10); 0: silent",
        "CH",
    ),
    "tune.count_in_note": Key("count_in_note", int, "a MIDI note 0-127", _between(0, 127)),
    "keyboard.split": Key("split", int, "a MIDI note 0-127 (chords below it)", _between(0, 127)),
    "keyboard.mode": Key(
        "mode",
        str,
        " or ".join(f'"{m}"' for m in MODES),
        None,
        "solo (default), trade or answer",
        choices=MODES,
    ),
    "keyboard.trade_bars": Key("trade_bars", int, "a whole number of bars 1-32", _between(1, 32)),
    "keyboard.answer_after": Key("answer_after", (int, float), "beats of silence, 0.5-16", _between(0.5, 16)),
    **{
        f"controls.{name}": Key(
            f"controls.{name}",
            (int, str),
            'a CC number 0-127, "note N" (a pad sending note N), or -1 for none',
            valid_control,
        )
        for name in Controls.__dataclass_fields__
    },
    "setlist.tunes": Key(
        "setlist",
        list,
        "a list of tunes: names, chart files, or tables {tune, bpm, choruses, mode}",
    ),
    "web.enabled": Key("web", bool, "true or false"),
    "web.address": Key("web_address", str, 'an address to listen on ("127.0.0.1": this machine only)'),
    "web.port": Key("web_port", int, "a TCP port 1-65535", _between(1, 65535)),
    "web.token_file": Key("web_token_file", str, "a file holding the page's token"),
}


def _problem(spec: Key, value: Any) -> str | None:
    """What is wrong with `value` for `spec` ("must be ..."), or None."""
    ok_type = isinstance(value, spec.kind) and not (isinstance(value, bool) and spec.kind is not bool)
    try:
        chosen = spec.choices is None or value in spec.choices
        if ok_type and chosen and (spec.check is None or spec.check(value)):
            return None
        reason = ""
    except ModelError as exc:
        reason = f" ({exc})"
    return f"must be {spec.allowed}, not {value!r}{reason}"


def _flatten(data: dict, path: Path, prefix: str = "") -> dict[str, Any]:
    flat = {}
    for name, value in data.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            if prefix:
                raise ConfigError(f"{path}: key {key!r} is a table; only [section] key = value is read")
            flat.update(_flatten(value, path, f"{key}."))
        else:
            flat[key] = value
    return flat


def read_config(path: Path) -> dict[str, Any]:
    """The settings a TOML file gives, checked; {field: value} for PlayOptions."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config ({exc.strerror or exc})") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    values: dict[str, Any] = {}
    problems = []
    for key, value in _flatten(data, path).items():
        spec = KEYS.get(key)
        if spec is None:
            problems.append(f"{path}: unknown key {key!r} (known keys: {', '.join(KEYS)})")
            continue
        problem = _problem(spec, value)
        if problem:
            problems.append(f"{path}: key {key!r} {problem}")
            continue
        values[spec.field] = value
    if problems:
        raise ConfigError("\n".join(problems))  # one line for each bad key
    return values


def _check_flags(overrides: dict[str, Any]) -> None:
    """Command-line values obey the config's ranges: one line for each bad flag."""
    by_field = {spec.field: spec for spec in KEYS.values()}
    problems = [
        f"--{name.replace('_', '-')} {problem}"
        for name, value in overrides.items()
        if name in by_field and (problem := _problem(by_field[name], value))
    ]
    if problems:
        raise ConfigError("\n".join(problems))


def build_options(config_path: str | None, overrides: dict[str, Any]) -> PlayOptions:
    """Defaults ← the config file (given, else the system one if present) ← command-line flags."""
    if config_path is None and SYSTEM_CONFIG.is_file():
        config_path = str(SYSTEM_CONFIG)
    values = read_config(Path(config_path)) if config_path is not None else {}
    overrides = {k: v for k, v in overrides.items() if v is not None}
    _check_flags(overrides)
    values.update(overrides)
    controls = {k.split(".", 1)[1]: values.pop(k) for k in list(values) if k.startswith("controls.")}
    for name in ("input", "tune", "charts"):
        if values.get(name) == "":
            values[name] = None
    if "register" in values:
        values["register"] = tuple(values["register"])
    options = PlayOptions(**values)
    options.fixed_bpm = values.get("bpm")
    defaults = vars(Controls())
    options.controls = Controls(**{k: None if v == -1 else v for k, v in {**defaults, **controls}.items()})
    _read_setlist(options, config_path)
    if not options.port:
        raise ConfigError("name the synth's output port: jazzd --port NAME, or [midi] port in the config")
    if options.clock == "midi" and not options.input:
        raise ConfigError("the MIDI clock needs an input port: --input NAME, or [midi] input in the config")
    if options.clock == "midi" and (options.count_in or options.clock_out):
        raise ConfigError("a count-in and clock out need jazzd's own clock, not --clock midi")
    _read_tune(options, config_path if "tune" not in overrides and "charts" not in overrides else None)
    if options.tune is None and options.setlist and "chords" not in overrides:
        return tune_options(options, options.setlist[0])  # the setlist's first tune opens
    if "bpm" not in values and options.chart.bpm:
        options.bpm = options.chart.bpm  # the tune's tempo, unless one is set
    return options


def tune_options(options: PlayOptions, entry: Entry) -> PlayOptions:
    """The settings to play a setlist entry with: its tempo (else a tempo set, else the tune's),
    choruses and mode where it gives them."""
    return replace(
        options,
        tune=entry.name,
        chart=entry.chart,
        bpm=entry.bpm or options.fixed_bpm or entry.chart.bpm or PlayOptions.bpm,
        choruses=options.choruses if entry.choruses is None else entry.choruses,
        mode=entry.mode or options.mode,
    )


def _read_setlist(options: PlayOptions, config_path: str | None) -> None:
    try:
        options.setlist = read_setlist(options.setlist, options.charts)
    except ChartError as exc:
        raise ConfigError(f"{config_path}: [setlist] {exc}") from exc


def _read_tune(options: PlayOptions, config_path: str | None) -> None:
    """The tune named (or the progression): a chart that cannot be read stops jazzd with its
    one line — exit 78 when the config named it, 2 when the command line did."""
    if options.tune is None:
        options.chart = Chart.of_progression(options.chords)
        return
    try:
        options.chart = find_chart(options.tune, Path(options.charts) if options.charts else None)
    except ChartError as exc:
        if config_path is None:
            raise
        raise ConfigError(f"{config_path}: [tune] {exc}") from exc
