"""jazzd's JACK output: messages written at the frame they are due, by the writer process
(jazzd/live/writer.py), which the timing thread feeds `lead` seconds ahead.

The same face as `ports.Output` (open, send, names, close; PortLost when the synth is gone), so
the player and the port keeper treat both alike. The writer watches its own connection to the
synth (and the server) and ends when it is gone; `names()` then no longer holds the port, and a
send fails: no JACK client of jazzd's own is needed to notice. The other destinations the user
patched to jazzd's port are told by the writer as it ends, and patched again by the next one.
"""

from __future__ import annotations

import contextlib
import json
import math
import subprocess
import threading
import time
from collections.abc import Callable

import mido

from jazzd.live.helpers import end, spawn
from jazzd.live.outputs import BACKENDS
from jazzd.live.ports import CLIENT_NAME, PortLost, PortNotFound, match_port
from jazzd.live.writer import LOST_PORT, LOST_SERVER, RECORD

MIN_LEAD = 0.003  # seconds; and never less than three JACK periods (the writer's cycle must see it)
LOST_WAIT_SECONDS = 0.2  # a writer whose pipe broke has just ended: its exit code says why


class FrameOutput:
    """An output port on JACK, each message written at its due frame."""

    def __init__(self, wanted: str, virtual: bool = False, realtime_priority: int = 0):
        self.wanted = wanted
        self.realtime_priority = realtime_priority  # for the writer's reading thread
        self.api = "jack"
        self.virtual = virtual
        self.name: str | None = None
        self.lead = 0.0  # set on opening, from the server's period
        self.patches: list[str] = []  # the user's other destinations, kept across reconnects
        self.on_own_messages: Callable[[list[mido.Message]], None] | None = None  # the writer's silence
        self.drop_pending = None  # what the writer was handed is written: silence comes after it
        self._writer: subprocess.Popen | None = None
        self._lock = threading.Lock()  # the scheduler sends while the main thread reconnects

    def open(self, names: list[str]) -> str:
        name = self.wanted if self.virtual else match_port(self.wanted, names, "output")
        settings = {
            "priority": self.realtime_priority,
            "client": f"{CLIENT_NAME}-out",
            "target": name,
            "virtual": name if self.virtual else None,
            "patches": self.patches,
        }
        writer = spawn(
            "jazzd.live.writer", json.dumps(settings), stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        answer = writer.stdout.readline().decode(errors="replace").split()
        if answer[:1] != ["ok"]:
            writer.wait()
            reason = " ".join(answer[1:]) or "no answer"
            raise PortNotFound(f"output port {self.wanted!r} could not be opened ({reason})")
        rate, period = int(answer[1]), int(answer[2])
        time.sleep(BACKENDS[self.api].settle_seconds)  # a JACK connection is live once the graph is redrawn
        with self._lock:
            self._writer, self.name = writer, name
            self.lead = max(MIN_LEAD, 3 * period / rate)
        return name

    @property
    def is_open(self) -> bool:
        return self._writer is not None and self._writer.poll() is None

    def names(self) -> list[str]:
        """The port while the writer holds its connection (it ends when the port vanishes)."""
        return [self.name] if self.is_open else []

    def send(self, message: mido.Message, due: float | None = None) -> None:
        data = message.bytes()
        record = RECORD.pack(math.nan if due is None else due, len(data)) + bytes(data)
        with self._lock:
            if self._writer is None:
                raise PortLost(f"output port {self.wanted!r} is not open")
            try:
                self._writer.stdin.write(record)
                self._writer.stdin.flush()
            except (OSError, ValueError) as exc:
                with contextlib.suppress(subprocess.TimeoutExpired):  # it is on its way out
                    self._writer.wait(timeout=LOST_WAIT_SECONDS)
                if self._writer.returncode == LOST_PORT:
                    raise PortLost(f"output port {self.name!r} vanished") from exc
                if self._writer.returncode == LOST_SERVER:
                    raise PortLost("the JACK server shut down") from exc
                code = self._writer.returncode
                raise PortLost(
                    f"output port {self.name!r} failed: {exc} (its writer ended with {code})"
                ) from exc

    def close(self) -> None:
        """The writer writes what it holds (the last All Notes Off) and what it still has
        sounding, tells the user's other patches, then leaves the graph."""
        with self._lock:
            writer, self._writer = self._writer, None
        if writer is None:
            return
        end(writer)
        for line in writer.stdout.read().decode(errors="replace").splitlines():
            kind, _, rest = line.partition(" ")
            if kind == "patches":
                self.patches = json.loads(rest)
            elif kind == "silenced" and self.on_own_messages is not None:
                self.on_own_messages([mido.Message.from_bytes(bytes.fromhex(m)) for m in rest.split()])
