"""`--midi-log FILE`: every message jazzd sent and received, timed, as JSON lines, so that a
test or a bench can hold what a receiver heard against it (jazzd/measure/rig.py)."""

from __future__ import annotations

import json
from collections import deque

import mido


class MidiLog:
    """Every message sent (the perf_counter time it was due, None for at once, and the time the
    send returned) and every message received (its arrival time), with the port: so a test or a
    bench can hold what a receiver heard against what jazzd sent, and what a sender sent against
    what jazzd heard. The timing and input threads only append; the main thread writes."""

    def __init__(self, path: str):
        self._file = open(path, "w", encoding="utf-8")  # noqa: SIM115 — closed by close()
        self._pending: deque[dict] = deque()

    def sent(self, message: mido.Message, due: float | None, sent: float, port: str | None) -> None:
        self._pending.append({"dir": "out", "due": due, "t": sent, "data": message.bytes(), "port": port})

    def received(self, message: mido.Message, arrived: float, port: str | None) -> None:
        self._pending.append({"dir": "in", "due": None, "t": arrived, "data": message.bytes(), "port": port})

    def write(self) -> None:
        while self._pending:
            self._file.write(json.dumps(self._pending.popleft()) + "\n")
        self._file.flush()

    def close(self) -> None:
        self.write()
        self._file.close()
