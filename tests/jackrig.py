"""The end-to-end tests' side of the rig (jazzd/measure/rig.py): jazzd started as a real process with
--midi-log, and the checks every test makes at the receiver."""

from __future__ import annotations

import os
import time
from pathlib import Path

from jazzd.measure.rig import Jazzd, Keys, Rig, Synth, away_from_xruns, hanging, is_note_on, match


def start_jazzd(*args: str, tmp: Path | None = None, model: str = "seed-metheny", seed: int = 3) -> Jazzd:
    """jazzd on JACK with the test model and seed (unless given), logging its MIDI to `tmp`."""
    return Jazzd(
        "--midi-api",
        "jack",
        "--model",
        model,
        "--seed",
        str(seed),
        *args,
        log_dir=tmp or Path(os.environ.get("TMPDIR", "/tmp")),
    )


def send_until_heard(proc: Jazzd, keys: Keys, *data: int, tries: int = 3) -> None:
    """Send a message from the rig's keyboard until jazzd logs it received: in a cycle where
    JACK xruns, a message in flight can be lost (see `delivered`), and a test about what a
    message does must not fail on that."""
    for _ in range(tries):
        keys.send(*data)
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            if any(entry.data == list(data) for entry in proc.logged("in", keys.port)):
                return
            time.sleep(0.02)
    raise AssertionError(f"jazzd never received {list(data)} ({len(keys.rig.xruns())} xruns)")


XRUN_COST = 3  # messages one xrun was seen to cost (lost or read twice) at 1,000 messages a second


def delivered(sent: list[list[int]], arrived: list[list[int]], rig: Rig, exact: bool = True) -> list:
    """Asserts that `arrived` is `sent`, in order and uncorrupted, but for what JACK's xruns
    (cycles some client of the graph did not finish in time; on this shared 2-core machine they
    come in bursts) may have cost: what is in flight in such a cycle can be lost or read twice,
    whoever sent it. With `exact=False` (a port was unplugged meanwhile) any number may be
    missing. Returns the matched index pairs."""
    pairs = match(sent, arrived)
    missing, invented = len(sent) - len(pairs), len(arrived) - len(pairs)
    allowed = XRUN_COST * len(rig.xruns())
    assert invented <= allowed, f"{invented} arrived that were not sent: {_diff(arrived, sent)}"
    if exact:
        assert missing <= allowed, _diff(arrived, sent)
    return pairs


def judge(proc: Jazzd, synth: Synth, exact: bool = True) -> list[float]:
    """The checks every end-to-end test makes at the receiver: what arrived is what jazzd says it
    sent (`delivered`); what jazzd sent ends every note it started; and, when nothing was lost,
    what arrived does too. Returns the onset errors (seconds, arrival minus due) of the note-ons."""
    sent = proc.logged("out", synth.port)
    arrived = list(synth.received)
    pairs = delivered([s.data for s in sent], [e.data for e in arrived], synth.rig, exact)
    assert hanging(s.data for s in sent) == set(), "jazzd left a note sounding"
    if len(pairs) == len(sent) == len(arrived):
        assert hanging(e.data for e in arrived) == set()
    xruns, rate = synth.rig.xruns(), synth.rig.rate
    onsets = [(sent[i], arrived[j]) for i, j in pairs if sent[i].due is not None and is_note_on(sent[i].data)]
    calm = set(away_from_xruns([a.frame for _, a in onsets], xruns, rate))
    return [a.t - s.due for s, a in onsets if a.frame in calm]


def _diff(arrived: list[list[int]], sent: list[list[int]]) -> str:
    for i, (a, s) in enumerate(zip(arrived, sent, strict=False)):
        if a != s:
            return f"message {i}: arrived {a}, sent {s} ({len(arrived)} arrived, {len(sent)} sent)"
    return f"{len(arrived)} arrived, {len(sent)} sent"
