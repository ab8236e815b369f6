"""One face for every MIDI output, and the MIDI systems jazzd plays through, by API name.

An output (`MidiOutput`) opens a port by name among those listed, sends each message at its due
time (handed over `lead` seconds ahead where the backend times messages itself), may take back
the note-ons it queued (`drop_pending`, else None), says which ports exist (to watch for its
own), and closes leaving nothing sounding. A `Backend` names a MIDI system: the rtmidi API that
lists its ports, what to say when it is missing, a device it needs, and its output class —
loaded only when used, so a Pi on ALSA never loads JACK's library. A new backend is one entry in
`BACKENDS` and its output module: the player, the port keeper, the config, the flags and
`jazzd doctor` read the table.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import mido


class MidiOutput(Protocol):
    api: str
    wanted: str
    name: str | None
    lead: float  # seconds ahead of its due time a message is handed over
    drop_pending: Callable[[], None] | None  # takes back the note-ons still queued, where it can
    on_own_messages: Callable[[list[mido.Message]], None] | None  # what it sends by itself on ending

    @property
    def is_open(self) -> bool: ...

    def open(self, names: list[str]) -> str: ...

    def send(self, message: mido.Message, due: float | None = None) -> None: ...

    def names(self) -> list[str]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Backend:
    name: str  # the API name in the config and the flags
    system: str  # what a musician calls it
    rtmidi_api: str  # python-rtmidi's API constant, without API_ (ports are listed through it)
    missing: str  # what to check when it cannot be used
    output: str  # "module:Class" of its MidiOutput
    device: str | None = None  # a device file the system needs
    settle_seconds: float = 0.0  # after an rtmidi connection, before it carries messages
    drain_seconds: float = 0.0  # before an rtmidi port closes, for what was sent last

    def make_output(self, wanted: str, virtual: bool = False, realtime_priority: int = 0) -> MidiOutput:
        module, name = self.output.split(":")
        output = getattr(importlib.import_module(module), name)
        return output(wanted, virtual=virtual, realtime_priority=realtime_priority)


BACKENDS = {
    backend.name: backend
    for backend in (
        Backend(
            "alsa",
            "ALSA sequencer",
            "LINUX_ALSA",
            "is the snd-seq kernel module loaded? (modprobe snd-seq, or use --midi-api jack)",
            "jazzd.live.alsaout:QueueOutput",
            device="/dev/snd/seq",
        ),
        Backend(
            "jack",
            "JACK server",
            "UNIX_JACK",
            "is a JACK server running for this user? (or use --midi-api alsa)",
            "jazzd.live.jackout:FrameOutput",
            settle_seconds=0.05,  # a JACK connection is live only after the graph is redrawn
            drain_seconds=0.05,  # rtmidi hands JACK its messages on the next cycle
        ),
    )
}
DEFAULT_BACKEND = "alsa"
