"""Soak runs: long performances with tempo changes, chord changes and control moves.

  python bench/soak.py simulated --minutes 60      # a manual clock: an hour in about a minute
  python bench/soak.py jack --minutes 10 --flood-minutes 1
                        # real time over JACK (starts a dummy server); 10,000 input messages a
                        # second during the first minute

Both print JSON: note-on / note-off balance of what was sent (must be exact), resident memory at
the start and the end; the real run also what the rig (bench/rig.py, a JACK client doing nothing
else) received: messages missing and notes left sounding there, and the sender's lateness per
minute (p50, p99, max).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from pathlib import Path

import mido

from jazzd.live.clock import InternalClock, ManualClock
from jazzd.live.config import PlayOptions
from jazzd.live.listen import Keyboard
from jazzd.live.perform import Performer
from jazzd.live.wiring import wire
from jazzd.measure.rig import NoteBalance, jack_server
from jazzd.measure.timing import millis_summary

CHORDS = [(36, 40, 43, 46), (41, 45, 48, 51), (38, 41, 45, 48), (43, 47, 50, 53), (42, 46, 49, 52)]


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def build(clock, send, model: str | None, seed: int):
    """The live parts as the player wires them (jazzd/live/wiring.py), timing recorded."""
    options = PlayOptions(
        port="soak-synth", input="soak-keys", model=model, seed=seed, chords="| Dm7 G7 | Cmaj7 |", swing=0.6
    )
    live = wire(options, clock, send, record_lateness=True)
    return live.scheduler, live.performer, live.keyboard


def gesture(rng: random.Random, clock, performer: Performer, keyboard: Keyboard) -> None:
    """One random event a player might cause: a new chord, a tempo change, a knob move."""
    roll = rng.random()
    if roll < 0.6:
        for note in rng.choice(CHORDS):
            keyboard.handle(mido.Message("note_on", note=note, velocity=70))
        for note in CHORDS[0]:
            keyboard.handle(mido.Message("note_off", note=note))
    elif roll < 0.75:
        clock.set_tempo(rng.uniform(80, 260))
    elif roll < 0.9:
        performer.density = rng.uniform(0.3, 1.0)
        performer.soloist.engine.temperature = rng.uniform(0.5, 1.5)
    else:
        performer.scheduler.request_flush()  # panic


def simulated(minutes: float, model: str | None, seed: int) -> dict:
    rng = random.Random(seed)
    clock = ManualClock(120.0)
    balance = NoteBalance()
    scheduler, performer, keyboard = build(
        clock, lambda message, due: balance.add(message.bytes()), model, seed
    )
    start_rss = rss_mib()
    next_gesture = 0.0
    steps = 0
    while clock.t < minutes * 60:
        clock.advance(0.005)
        if clock.t >= next_gesture:
            gesture(rng, clock, performer, keyboard)
            next_gesture = clock.t + rng.uniform(0.5, 8.0)
        performer.step(clock.t)
        scheduler.process(clock.t)
        steps += 1
    scheduler.flush()
    return {
        "mode": "simulated",
        "minutes": minutes,
        "notes": balance.ons,
        "unbalanced_pitches": balance.unbalanced(),
        "rss_start_mib": round(start_rss, 1),
        "rss_end_mib": round(rss_mib(), 1),
        "steps": steps,
    }


def flood_events(rig, seconds: float, rate: int = 10_000) -> list[tuple[int, list[int]]]:
    """Random channel messages at `rate` a second (not the control numbers jazzd listens to),
    at exact frames from a fifth of a second on."""
    rng = random.Random(1)
    first = rig.frame() + rig.rate // 5
    events = []
    for i in range(int(seconds * rate)):
        kind = rng.choice([0x90, 0x80, 0xB0, 0xE0, 0xA0])
        low = 60 if kind in (0x90, 0x80) else 76
        events.append((first + i * rig.rate // rate, [kind, rng.randrange(low, 128), rng.randrange(128)]))
    return events


def feed(keys, events: list[tuple[int, list[int]]], rate: int, ahead: float = 0.5) -> None:
    """Hand the rig its events a little ahead of their frames, as a real device would play them:
    a whole flood scheduled at once would make its process callback do too much in one cycle."""
    step = rate // 10
    for start in range(0, len(events), 1000):
        chunk = events[start : start + 1000]
        while chunk[0][0] - keys.rig.frame() > ahead * rate:
            time.sleep(step / rate)
        keys.schedule(chunk)


def real_jack(minutes: float, model: str | None, seed: int, flood_minutes: float = 0.0) -> dict:
    with jack_server("jazzd-soak"):
        return _real_jack(minutes, model, seed, flood_minutes)


def _real_jack(minutes: float, model: str | None, seed: int, flood_minutes: float) -> dict:
    from jazzd.live.inport import Input
    from jazzd.live.ports import Output, PortLister
    from jazzd.measure.rig import Rig, hanging, is_note_on

    rig = Rig("soak-rig")  # the receiver (and the flood's keyboard): a JACK client doing nothing else
    synth = rig.synth("soak-synth")
    lister = PortLister("jack")
    output = Output(synth.port, "jack")
    output.open(lister.outputs())
    rng = random.Random(seed)
    clock = InternalClock(160.0)
    sent = NoteBalance()

    def send(message: mido.Message, due: float | None) -> None:
        output.send(message)
        sent.add(message.bytes())

    scheduler, performer, keyboard = build(clock, send, model, seed)
    keyboard_in, events = None, []
    stop = threading.Event()
    thread = threading.Thread(target=scheduler.run, args=(stop,))
    if flood_minutes:  # the flood goes through JACK into a real input port, as a keyboard's would
        keys = rig.keys("soak-keys")
        keyboard_in = Input(keys.port, "jack", lambda message, t: keyboard.handle(message))
        keyboard_in.open(lister.inputs())
        events = flood_events(rig, flood_minutes * 60)
        threading.Thread(target=feed, args=(keys, events, rig.rate), daemon=True).start()
    start_rss = rss_mib()
    thread.start()
    per_minute = []
    began = time.perf_counter()
    next_gesture = began
    mark = 0
    while time.perf_counter() - began < minutes * 60:
        now = time.perf_counter()
        if now >= next_gesture:
            gesture(rng, clock, performer, keyboard)
            next_gesture = now + rng.uniform(0.5, 8.0)
        performer.step(now)
        if now - began >= 60 * (len(per_minute) + 1):
            late, mark = millis_summary(scheduler.stats.lateness[mark:]), len(scheduler.stats.lateness)
            per_minute.append({"minute": len(per_minute) + 1, **late, "rss_mib": round(rss_mib(), 1)})
        time.sleep(0.002)
    stop.set()
    thread.join()
    output.close()
    if keyboard_in is not None:
        keyboard_in.close()
    arrived = [e.data for e in synth.received]
    rig_late = rig.call(op="now")["late"]
    rig.close()
    return {
        "mode": "jack",
        "minutes": minutes,
        "notes_sent": sent.ons,
        "unbalanced_pitches_sent": sent.unbalanced(),
        "notes_received": sum(1 for data in arrived if is_note_on(data)),
        "messages_missing_at_receiver": sent.messages - len(arrived),
        "hanging_on_receiver": sorted(hanging(arrived)),
        "skipped": scheduler.stats.skipped,
        "input_messages_sent": len(events),
        "input_messages_received": keyboard_in.received if keyboard_in else 0,
        "rig_events_written_late": rig_late,  # the rig fell behind its own schedule
        "rss_start_mib": round(start_rss, 1),
        "rss_end_mib": round(rss_mib(), 1),
        "per_minute": per_minute,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["simulated", "jack"])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--model", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--flood-minutes",
        type=float,
        default=0.0,
        help="jack: 10,000 messages a second on the input for the first N minutes",
    )
    args = parser.parse_args()
    if args.mode == "simulated":
        report = simulated(args.minutes, args.model, args.seed)
    else:
        report = real_jack(args.minutes, args.model, args.seed, args.flood_minutes)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    sys.exit(main())
