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
client of its own.
"""

from __future__ import annotations

import os
import signal
import struct
import sys
import time

RECORD = struct.Struct("<dH")
POLL_SECONDS = 0.004  # the longest a message waits to be read; its time does not depend on it
WATCH_POLLS = 250  # every second: is the port still there? (the player watches through this)
QUEUE_SIZE = 16384  # rtmidi's queue: a second and a half of a 10,000/s flood, should we stall
DRIFT_PER_SECOND = 20e-6  # how fast the anchor may move late (the MIDI system's clock vs ours)


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


def main(argv: list[str]) -> int:
    """jazzd-reader API PORT [virtual]: opens PORT (exact name) and forwards to stdout."""
    from jazzd.live.ports import client, connect

    api, name = argv[0], argv[1]
    out = sys.stdout.buffer
    try:
        port = client("in", api, queue_size_limit=QUEUE_SIZE)
        port.ignore_types(sysex=False, timing=False, active_sense=False)  # deltas span every message
        virtual = argv[2:] == ["virtual"]
        connect(port, name, port.get_ports(), "input", virtual=virtual)
    except Exception as exc:
        out.write(f"error {exc}\n".encode())
        out.flush()
        return 1
    out.write(b"ok\n")
    out.flush()
    times = ArrivalTimes()
    parent = os.getppid()
    stopped = []  # SIGTERM (the player closing the input) ends the loop, so the port is closed
    signal.signal(signal.SIGTERM, lambda signum, frame: stopped.append(signum))  # and not left to time out
    polls, code = 0, 0
    while not stopped and os.getppid() == parent:
        polls += 1
        if polls % WATCH_POLLS == 0 and not virtual and name not in port.get_ports():
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
        time.sleep(POLL_SECONDS)
    port.close_port()
    port.delete()
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
