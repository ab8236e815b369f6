"""`jazzd bench`: the token step against its baselines, or with --timing the real player on
JACK measured at a receiver."""

from __future__ import annotations

import argparse
import json

from jazzd.options import positive_float, positive_int, probability, seed_number


def _timing_line(run: dict) -> str:
    if run["run"] == "input":
        return (
            f"input     {run['messages_sent']} messages at {run['rate_per_s']}/s: "
            f"{run['handled_in_order']} handled in order, {run['missing']} missing, "
            f"{run['invented']} invented ({run['xruns']} JACK xruns)"
        )
    if run["run"] == "clock_out":
        rx, tx = run["interval_jitter_at_receiver"], run["interval_jitter_at_sender"]
        return (
            f"clock out {run['bpm']:g} bpm busy, {run['seconds']:g} s: {run['ticks_arrived']} of "
            f"{run['ticks_sent']} ticks arrived; interval jitter at the receiver p50 {rx['p50_ms']:.3f} "
            f"p99 {rx['p99_ms']:.3f} max {rx['max_ms']:.3f} ms, at the sender p50 {tx['p50_ms']:.3f} "
            f"p99 {tx['p99_ms']:.3f} max {tx['max_ms']:.3f} ms ({run['xruns']} JACK xruns)"
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
            args.model,
            args.seed,
            args.bpm,
            args.seconds,
            args.beats,
            args.drop,
            args.input_messages,
            args.clock_out_seconds,
        )
        print(json.dumps(runs, indent=1) if args.json else "\n".join(map(_timing_line, runs)))
        return 0
    report = run_bench(args.model, tokens=args.tokens, seed=args.seed)
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    print(f"model {report['model']} (vocabulary {report['vocab_size']}, n_a {report['n_a']})")
    for key in ("engine", "soloist", "soloist_motifs", "keras_eager", "course_predict"):
        if key in report:
            row = report[key]
            print(f"{key:15} median {row['median_us']:9.1f} µs/token   p99 {row['p99_us']:9.1f} µs/token")
    for key, ratio in report.get("ratios", {}).items():
        print(f"{key:28} {ratio:g}x")
    if "keras" in report:
        print(report["keras"])
    return 0


def add_commands(commands, common: argparse.ArgumentParser) -> None:
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
    bench.add_argument(
        "--clock-out-seconds", type=positive_float, default=60.0, metavar="S", help="MIDI clock out run (60)"
    )
    bench.add_argument("--json", action="store_true")
    bench.set_defaults(handler=cmd_bench)
