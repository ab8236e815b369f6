"""`jazzd train`, `jazzd export` and `jazzd eval`: the learning side's commands (TensorFlow is
imported only when one of them runs)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from jazzd.errors import JazzdError
from jazzd.music.commands import add_corpus_options, selection
from jazzd.music.conditioning import READS
from jazzd.music.corpus import read_corpus
from jazzd.options import positive_int, probability, seed_number, setting, share


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
        features=tuple(args.feature) if args.feature else None,
    )
    name = args.name or (f"{args.preset}-metheny" if args.preset == "seed" else args.preset) or "model"
    work_dir = Path(args.work_dir) / name
    train.train(paths, settings, work_dir, selection(args))
    if not args.no_export:
        from jazzd.learn.export import export

        export(work_dir, Path(args.out_dir) / f"{name}.onnx")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from jazzd.learn.export import export

    run_dir = Path(args.run)
    export(run_dir, Path(args.output) if args.output else Path("models") / f"{run_dir.name}.onnx")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from jazzd.learn.evaluate import MEASURES, OPENING_BARS, evaluate
    from jazzd.solo.engine import Engine
    from jazzd.solo.memory import MOTIF_FOLLOW

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
    motifs = args.motifs if args.motifs is not None else [0.0, MOTIF_FOLLOW]
    report = evaluate(engines, evaluated, baseline, seed=args.seed, takes=args.takes, motifs=motifs)
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    names = list(report["models"])
    rows = [("", "real", *names)]
    models = [report["models"][n] for n in names]
    rows.append(("NLL per token (nats)", "", *(f"{m['nll_per_token']:.3f}" for m in models)))
    rows.append(("bigram baseline NLL", "", *(f"{m['bigram_nll_per_token']:.3f}" for m in models)))
    for scope, where in (("whole", "whole solos"), ("opening", f"first {OPENING_BARS} bars")):
        for key, label in (
            ("chord_tones", "chord tones"),
            ("semitone", "a semitone from one"),
            ("other", "other"),
            ("chord_tones_on_beats", "chord tones on beats"),
            ("pitch_4gram_repeats", "4-note figures repeated"),
            ("interval_4gram_repeats", "... or their shape"),
        ):
            real = report["real"][scope][key]
            rows.append((f"{where}: {label}", f"{real:.1%}", *(f"{m[scope][key]:.1%}" for m in models)))
        for measure in MEASURES:
            rows.append(
                (f"{where}: overlap {measure}", "1", *(f"{m[scope]['overlap'][measure]:.3f}" for m in models))
            )
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


def add_commands(commands, common: argparse.ArgumentParser) -> None:
    _add_train(commands, common)
    _add_export(commands, common)
    _add_eval(commands, common)


def _add_train(commands, common: argparse.ArgumentParser) -> None:
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
        "--feature",
        action="append",
        choices=list(READS),
        help="a further conditioning feature, its own input (repeatable; music/conditioning.py)",
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


def _add_export(commands, common: argparse.ArgumentParser) -> None:
    export = commands.add_parser(
        "export", help="export a training run to ONNX with a parity check", parents=[common]
    )
    export.add_argument("run", metavar="RUN_DIR", help="a training run folder (runs/NAME)")
    export.add_argument("-o", "--output", metavar="FILE.onnx", help="default models/NAME.onnx")
    export.set_defaults(handler=cmd_export)


def _add_eval(commands, common: argparse.ArgumentParser) -> None:
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
    evaluate.add_argument(
        "--motifs",
        type=share,
        nargs="+",
        metavar="P",
        help="the motif memory's chance to follow a repeated figure, 0-1, one run each "
        "(default: 0, without it, and the soloist's own)",
    )
    evaluate.add_argument("--json", action="store_true")
    evaluate.set_defaults(handler=cmd_eval)
