"""The MIDI input reader: a small process of its own that reads one input port and forwards
every message, with its arrival time, to the player over a pipe.

Why a process: python-rtmidi's input callback loses and corrupts messages when another thread of
its process is busy, and even its queue, polled from a thread, was seen to hand out a message
twice while the model and the scheduler ran beside it (numbers in docs/ARCHITECTURE.md). Here
nothing else runs: the only thread polls rtmidi's queue. The same code serves ALSA and JACK.

Arrival times come from rtmidi's own delta times (taken when the MIDI system delivered each
message), not from when this loop woke: `ArrivalTimes` anchors their running sum to
`time.perf_counter` by the lower envelope of (read time − sum), since a message is always read
after it arrived. Record on the pipe: float64 arrival time, uint16 length, the bytes. The reader
ends by itself (exit 3) when its port vanishes: that is how the player learns it, with no MIDI
client of its own; it ends too when the player closes its stdin (or dies), and never on a
signal (helpers.py).

No console output may block JACK's real-time thread: rtmidi prints from its process callback
(one line for each message its full queue drops), so this process's file descriptor 2, where C++
code prints, is a pipe that never blocks its writer, read by a thread here that counts what
came and says it once a second at most (`LibraryConsole`); rtmidi's error callback is counted the
same way. Python's own lines go to the real stderr.
"""

from __future__ import annotations

import fcntl
import os
import select
import struct
import sys
import threading
import time

from jazzd.live.helpers import ignore_stop_signals
from jazzd.live.ports import client, connect

RECORD = struct.Struct("<dH")
POLL_SECONDS = 0.004  # the longest a message waits to be read; its time does not depend on it
WATCH_POLLS = 250  # every second: is the port still there? (the player watches through this)
QUEUE_SIZE = 32768  # rtmidi's queue: three seconds of a 10,000/s flood, should the player stall
DRIFT_PER_SECOND = 20e-6  # how fast the anchor may move late (the MIDI system's clock vs ours)
CONSOLE_PIPE_BYTES = 1 << 20  # the C library's console pipe: ~20,000 of rtmidi's lines unread
REPORT_SECONDS = 1.0  # the longest between two lines saying what the library reported


class ArrivalTimes:
    """perf_counter times from rtmidi's delta times and the times they were read."""

    def __init__(self) -> None:
        self._sum = 0.0
        self._offset: float | None = None
        self._checked = 0.0

    def place(self, deltas: list[float], read_at: float) -> list[float]:
        sums = []
        for delta in deltas:
            self._sum += delta
            sums.append(self._sum)
        bound = read_at - sums[-1]  # the last message arrived no later than it was read
        if self._offset is None or bound < self._offset:
            self._offset = bound
        else:  # let the anchor drift late slowly, should the two clocks part
            self._offset = min(bound, self._offset + DRIFT_PER_SECOND * (read_at - self._checked))
        self._checked = read_at
        return [self._offset + s for s in sums]


class LibraryConsole:
    """File descriptor 2 as a non-blocking pipe drained by a thread: a C library printing from a
    real-time thread never waits (a line that finds the pipe full is lost, not waited for).
    Lines saying rtmidi's queue was full are counted; others are passed on, and `report` says
    once in a while how many there were."""

    QUEUE_FULL = "message queue limit reached"

    def __init__(self) -> None:
        self.dropped = 0  # messages rtmidi's full queue dropped
        self.errors = 0  # rtmidi's errors and warnings, through its error callback
        self._reported = (0, 0)
        self._at = 0.0
        real = os.dup(2)
        sys.stderr = open(real, "w", buffering=1, closefd=True)  # Python's own lines  # noqa: SIM115
        read, write = os.pipe()
        fcntl.fcntl(write, fcntl.F_SETPIPE_SZ, CONSOLE_PIPE_BYTES)
        os.set_blocking(write, False)
        os.dup2(write, 2)
        os.close(write)
        threading.Thread(target=self._drain, args=(read,), daemon=True).start()

    def _drain(self, fd: int) -> None:
        with open(fd, errors="replace") as lines:
            for line in lines:
                if self.QUEUE_FULL in line:
                    self.dropped += 1
                elif line.strip():
                    sys.stderr.write(f"jazzd input reader: MIDI library: {line.strip()}\n")

    def error(self, kind: int, message: str, data=None) -> None:
        """rtmidi's error callback (called from its own threads too): count only."""
        self.errors += 1

    def report(self, now: float) -> None:
        """One line, at most once every REPORT_SECONDS, when the counts grew."""
        counts = (self.dropped, self.errors)
        if counts != self._reported and now - self._at >= REPORT_SECONDS:
            sys.stderr.write(
                f"jazzd input reader: {counts[0] - self._reported[0]} input messages dropped "
                f"(rtmidi's queue was full), {counts[1] - self._reported[1]} library errors\n"
            )
            self._reported, self._at = counts, now


def main(argv: list[str]) -> int:
    """jazzd-reader API PORT [virtual]: opens PORT (exact name) and forwards to stdout until
    stdin ends."""
    ignore_stop_signals()

    api, name = argv[0], argv[1]
    out = sys.stdout.buffer
    console = LibraryConsole()
    try:
        port = client("in", api, queue_size_limit=QUEUE_SIZE)
        port.ignore_types(sysex=False, timing=False, active_sense=False)  # deltas span every message
        virtual = argv[2:] == ["virtual"]
        connect(port, name, port.get_ports(), "input", virtual=virtual)
        port.set_error_callback(console.error)
    except Exception as exc:
        out.write(f"error {exc}\n".encode())
        out.flush()
        return 1
    out.write(b"ok\n")
    out.flush()
    times = ArrivalTimes()
    player = sys.stdin.buffer
    polls, code = 0, 0
    while True:
        polls += 1
        if polls % WATCH_POLLS == 0:
            console.report(time.perf_counter())
            if not virtual and name not in port.get_ports():
                code = 3  # the port vanished: the player sees this reader end, and waits for it
                break
        batch = []
        while (message := port.get_message()) is not None:
            batch.append(message)
        if batch:
            placed = times.place([delta for _, delta in batch], time.perf_counter())
            try:
                records = (
                    RECORD.pack(t, len(data)) + bytes(data)
                    for (data, _), t in zip(batch, placed, strict=True)
                )
                out.write(b"".join(records))
                out.flush()
            except BrokenPipeError:
                break
        if select.select([player], [], [], POLL_SECONDS)[0] and not os.read(player.fileno(), 64):
            break  # the player closed the pipe, or died
    port.close_port()
    port.delete()
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
