"""The `jazzd` command line: one parser, one handler per subcommand, one-line errors."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from jazzd.errors import JazzdError
from jazzd.music.chords import DEFAULT_PROGRESSION
from jazzd.music.corpus import SEED_FILE, SEED_PRESET, MidiSelection, read_corpus, summarize

SYSTEM_CONFIG = "/etc/jazzd/jazzd.toml"

log = logging.getLogger("jazzd")


def positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, not {text}")
    return value


def setting(key: str) -> Callable[[str], Any]:
    """An argparse type that holds a flag to a config key's range: one place for the ranges."""
    from jazzd.live.config import KEYS

    spec = KEYS[key]
    convert = float if spec.kind == (int, float) else spec.kind

    def parse(text: str):
        value = convert(text)
        if spec.check is not None and not spec.check(value):
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


def _selection(args: argparse.Namespace) -> MidiSelection:
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
    solos, skipped = read_corpus(args.paths, _selection(args), strict=args.strict)
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


def cmd_train(args: argparse.Namespace) -> int:
    from jazzd.learn import train  # training stays out of the player's imports

    paths = args.paths or ([train.PRESET_CORPUS[args.preset]] if args.preset else [])
    if not paths:
        raise JazzdError("name a corpus PATH, or a --preset (seed, wjazzd) that has a default one")
    settings = train.settings_for(
        args.preset,
        n_a=args.n_a,
        tx=args.tx,
        epochs=args.epochs,
        batch_size=args.batch_size,
        min_count=args.min_count,
        seed=args.seed,
        stride=args.stride,
        dropout=args.dropout,
        metric_phase=args.metric_phase,
        chord_changes=args.chord_changes,
    )
    name = args.name or (f"{args.preset}-metheny" if args.preset == "seed" else args.preset) or "model"
    work_dir = Path(args.work_dir) / name
    train.train(paths, settings, work_dir, _selection(args))
    if not args.no_export:
        from jazzd.learn.export import export

        export(work_dir, Path(args.out_dir) / f"{name}.onnx")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from jazzd.learn.export import export

    run_dir = Path(args.run)
    export(run_dir, Path(args.output) if args.output else Path("models") / f"{run_dir.name}.onnx")
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    from jazzd.engine import Engine
    from jazzd.realize import Soloist
    from jazzd.render import render

    engine = Engine(args.model, seed=args.seed, temperature=args.temperature, top_p=args.top_p)
    notes = render(Soloist(engine, seed=args.seed), args.chords, args.bars, args.bpm, Path(args.output))
    log.info(
        "wrote %s: %d notes over %d bars at %g bpm (model %s)",
        args.output,
        len(notes),
        args.bars,
        args.bpm,
        engine.files.name,
    )
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from jazzd.engine import Engine
    from jazzd.learn.evaluate import MEASURES, evaluate

    engines = [Engine(m, seed=args.seed, temperature=args.temperature, top_p=args.top_p) for m in args.model]
    solos, _ = read_corpus(args.corpus)
    solos = [s for s in solos if not s.chords_inferred]
    held_out = {n for e in engines for n in e.files.sidecar.get("corpus", {}).get("validation_solos", [])}
    if args.all or not held_out:
        evaluated, baseline = solos, []
    elif args.training:  # to compare training runs without looking at the validation solos
        evaluated, baseline = [s for s in solos if s.name not in held_out], []
    else:
        evaluated = [s for s in solos if s.name in held_out]
        baseline = [s for s in solos if s.name not in held_out]
    if not evaluated:
        raise JazzdError("none of the corpus solos is a validation solo of these models: pass --all")
    report = evaluate(engines, evaluated, baseline, seed=args.seed, takes=args.takes)
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    names = list(report["models"])
    rows = [("", "real", *names)]
    models = [report["models"][n] for n in names]
    rows.append(("NLL per token (nats)", "", *(f"{m['nll_per_token']:.3f}" for m in models)))
    rows.append(("bigram baseline NLL", "", *(f"{m['bigram_nll_per_token']:.3f}" for m in models)))
    for key, label in (("chord_tone_share", "chord tones"), ("scale_share", "in the chord's scale")):
        rows.append((label, f"{report['real'][key]:.1%}", *(f"{m[key]:.1%}" for m in models)))
    for measure in MEASURES:
        rows.append((f"overlap: {measure}", "1", *(f"{m['overlap'][measure]:.3f}" for m in models)))
    for key in ("type_overlap_mean", "duration_overlap_mean"):
        rows.append((f"drift over 10k tokens: {key}", "", *(f"{m['drift'][key]:.3f}" for m in models)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    print(f"{report['solos']} solos evaluated, {report['takes']} generated takes over each")
    for row in rows:
        print(
            "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    return 0


def _timing_line(run: dict) -> str:
    if run["run"] == "input":
        return (
            f"input     {run['messages_sent']} messages at {run['rate_per_s']}/s: "
            f"{run['handled_in_order']} handled in order, {run['missing']} missing, "
            f"{run['invented']} invented ({run['xruns']} JACK xruns)"
        )
    delivery = (
        f"{run['messages_sent']} sent, {run['messages_missing']} missing, "
        f"{run['messages_invented']} invented, {len(run['hanging_at_receiver'])} hanging "
        f"({run['xruns']} JACK xruns)"
    )
    if run["run"] == "clock":
        off = run["offset_from_grid"]
        return (
            f"clock     {run['bpm']:g} bpm, {run['ticks_dropped']} of {24 * run['beats']} ticks dropped: "
            f"{100 * run['within_2ms']:.1f}% of {run['onsets']} onsets within 2 ms of the master's grid, "
            f"offset p50 {off['p50_ms']:.3f} max {off['max_ms']:.3f} ms, "
            f"{run['notes_after_stop']} after Stop; {delivery}"
        )
    rx, tx = run["at_receiver"], run["at_sender"]
    return (
        f"internal  {run['bpm']:g} bpm {'busy' if run['busy_core'] else 'idle'}"
        f"{'' if run['realtime_priority'] else ' no-rt'}: lateness at the receiver "
        f"p50 {rx['p50_ms']:.3f} p99 {rx['p99_ms']:.3f} max {rx['max_ms']:.3f} ms, at the sender "
        f"p50 {tx['p50_ms']:.3f} p99 {tx['p99_ms']:.3f} max {tx['max_ms']:.3f} ms; "
        f"CPU {run['cpu_percent_of_one_core']:.1f}% of a core; {delivery}"
    )


def cmd_bench(args: argparse.Namespace) -> int:
    from jazzd.learn.baselines import run_bench

    if args.timing:
        from jazzd.measure.timing import bench_timing

        runs = bench_timing(
            args.model, args.seed, args.bpm, args.seconds, args.beats, args.drop, args.input_messages
        )
        print(json.dumps(runs, indent=1) if args.json else "\n".join(map(_timing_line, runs)))
        return 0
    report = run_bench(args.model, tokens=args.tokens, seed=args.seed)
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    print(f"model {report['model']} (vocabulary {report['vocab_size']}, n_a {report['n_a']})")
    for key in ("engine", "keras_eager", "course_predict"):
        if key in report:
            row = report[key]
            print(f"{key:15} median {row['median_us']:9.1f} µs/token   p99 {row['p99_us']:9.1f} µs/token")
    for key, ratio in report.get("ratios", {}).items():
        print(f"{key:28} {ratio:g}x")
    if "keras" in report:
        print(report["keras"])
    return 0


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
        "virtual": args.virtual or None,
        "mode": args.mode,
        "midi_log": args.midi_log,
        "realtime_priority": args.realtime_priority,
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


def channel_number(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 16:
        raise argparse.ArgumentTypeError(f"MIDI channels are 1-16, not {text}")
    return value


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
    play.add_argument("--chords", metavar="PROGRESSION", help="progression to follow (default: a blues in F)")
    play.add_argument("--channel", type=channel_number, metavar="1-16", help="MIDI channel (1)")
    play.add_argument("--midi-api", choices=["alsa", "jack"], help="alsa (default) or jack")
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


def add_model_options(parser, defaults: bool = True) -> None:
    """--model, --seed, --temperature, --top-p; without defaults, unset flags leave the config's."""
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


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="debug logging"
    )
    parser = argparse.ArgumentParser(
        prog="jazzd", description="Improvise jazz lines over chords.", parents=[common]
    )
    add_play_options(parser)
    parser.set_defaults(handler=cmd_play)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    ports = commands.add_parser("ports", help="list MIDI input and output ports", parents=[common])
    ports.add_argument("--midi-api", choices=["alsa", "jack"], default="alsa")
    ports.add_argument("--json", action="store_true")
    ports.set_defaults(handler=cmd_ports)

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

    train = commands.add_parser("train", help="train the LSTM on a corpus and export it", parents=[common])
    add_corpus_options(train, paths_required=False)
    train.add_argument(
        "--preset",
        choices=["seed", "wjazzd"],
        help="seed: the course exercise on the Metheny slice; wjazzd: the default model",
    )
    train.add_argument("--name", help="model name (default: seed-metheny, wjazzd or model)")
    train.add_argument("--n-a", type=positive_int, metavar="N", help="LSTM state size")
    train.add_argument("--tx", type=positive_int, metavar="N", help="training window length in tokens")
    train.add_argument("--epochs", type=positive_int, metavar="N")
    train.add_argument("--batch-size", type=positive_int, metavar="N")
    train.add_argument("--stride", type=positive_int, metavar="N", help="step between training windows")
    train.add_argument(
        "--dropout", type=probability, metavar="D", help="dropout before the Dense layer (0 to below 1)"
    )
    train.add_argument(
        "--metric-phase",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also feed the model where in the bar each token starts (wjazzd: on)",
    )
    train.add_argument(
        "--chord-changes",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="with --metric-phase, also whether each token is the first over a new chord (wjazzd: on)",
    )
    train.add_argument(
        "--min-count", type=positive_int, metavar="N", help="keep tokens seen at least N times"
    )
    train.add_argument("--seed", type=seed_number, metavar="S")
    train.add_argument("--work-dir", default="runs", help="where weights and history go (default runs/)")
    train.add_argument("--out-dir", default="models", help="where the ONNX model goes (default models/)")
    train.add_argument("--no-export", action="store_true", help="train only")
    train.set_defaults(handler=cmd_train)

    export = commands.add_parser(
        "export", help="export a training run to ONNX with a parity check", parents=[common]
    )
    export.add_argument("run", metavar="RUN_DIR", help="a training run folder (runs/NAME)")
    export.add_argument("-o", "--output", metavar="FILE.onnx", help="default models/NAME.onnx")
    export.set_defaults(handler=cmd_export)

    render = commands.add_parser(
        "render", help="an offline solo over a progression, as a MIDI file", parents=[common]
    )
    render.add_argument(
        "--chords",
        default=DEFAULT_PROGRESSION,
        metavar="PROGRESSION",
        help="bars separated by |, %% repeats a bar (default: a jazz blues in F)",
    )
    render.add_argument("--bars", type=positive_int, required=True, metavar="N")
    render.add_argument("--bpm", type=setting("clock.bpm"), default=120.0, metavar="B")
    add_model_options(render)
    render.add_argument("-o", "--output", required=True, metavar="OUT.mid")
    render.set_defaults(handler=cmd_render)

    evaluate = commands.add_parser("eval", help="compare models with real solos", parents=[common])
    evaluate.add_argument("--model", action="append", required=True, metavar="M", help="repeatable")
    evaluate.add_argument("--corpus", nargs="+", required=True, metavar="PATH")
    which = evaluate.add_mutually_exclusive_group()
    which.add_argument(
        "--all", action="store_true", help="evaluate every solo, not only the models' validation solos"
    )
    which.add_argument(
        "--training", action="store_true", help="evaluate the models' training solos (to compare runs)"
    )
    evaluate.add_argument("--seed", type=seed_number, default=0, metavar="S")
    evaluate.add_argument(
        "--takes",
        type=positive_int,
        default=5,
        metavar="N",
        help="lines each model plays over each solo, pooled (default 5)",
    )
    evaluate.add_argument("--temperature", type=setting("solo.temperature"), default=1.0, metavar="T")
    evaluate.add_argument("--top-p", type=setting("solo.top_p"), default=1.0, metavar="P")
    evaluate.add_argument("--json", action="store_true")
    evaluate.set_defaults(handler=cmd_eval)

    doctor = commands.add_parser(
        "doctor", help="what to check before a gig: architecture, packages, MIDI, real-time, CPU governor"
    )
    doctor.add_argument("--json", action="store_true")
    doctor.set_defaults(handler=cmd_doctor)

    bench = commands.add_parser("bench", help="time per generated token, with baselines", parents=[common])
    bench.add_argument(
        "--model", metavar="M", help="a shipped model's name or an .onnx path (default wjazzd)"
    )
    bench.add_argument("--tokens", type=positive_int, default=20000, metavar="N", help="tokens to time")
    bench.add_argument("--seed", type=seed_number, default=0, metavar="S")
    bench.add_argument(
        "--timing",
        action="store_true",
        help="instead of token speed: the real player on JACK, measured at a receiver (needs jackd)",
    )
    bench.add_argument(
        "--bpm", type=positive_float, nargs="+", default=[200.0], metavar="B", help="internal clock runs"
    )
    bench.add_argument("--seconds", type=positive_float, default=30.0, metavar="S", help="per internal run")
    bench.add_argument("--beats", type=positive_int, default=64, metavar="N", help="MIDI clock runs' length")
    bench.add_argument(
        "--drop", type=probability, default=0.01, metavar="P", help="share of clock ticks dropped (0.01)"
    )
    bench.add_argument(
        "--input-messages", type=positive_int, default=10000, metavar="N", help="into the input, 1,000/s"
    )
    bench.add_argument("--json", action="store_true")
    bench.set_defaults(handler=cmd_bench)
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


if __name__ == "__main__":
    sys.exit(main())
