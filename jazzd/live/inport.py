"""The player's side of an input port: the reader process (`live/reader.py`) owns the port and
pipes each message with its arrival time; a thread here parses them and hands them on."""

from __future__ import annotations

import logging
import subprocess
import threading
from collections.abc import Callable

import mido

from jazzd.live.helpers import end, spawn
from jazzd.live.ports import PortNotFound, match_port
from jazzd.live.reader import RECORD

log = logging.getLogger(__name__)


class Input:
    """An input port read by its own reader process (jazzd/live/reader.py), whose records a thread
    here hands to `handler(message, arrival time)`; bytes are parsed by mido's parser, which
    drops garbage. The thread blocks on the pipe: nothing polls in this process."""

    def __init__(
        self,
        wanted: str,
        api: str,
        handler: Callable[[mido.Message, float], None],
        virtual: bool = False,
    ):
        self.wanted = wanted
        self.api = api
        self.handler = handler
        self.virtual = virtual
        self.name: str | None = None
        self.garbage = 0
        self.received = 0
        self.failure: BaseException | None = None  # what ended the input thread, if anything
        self._reader: subprocess.Popen | None = None
        self._thread: threading.Thread | None = None

    def open(self, names: list[str]) -> str:
        name = self.wanted if self.virtual else match_port(self.wanted, names, "input")
        reader = spawn(
            "jazzd.live.reader",
            self.api,
            name,
            *(["virtual"] if self.virtual else []),
            stdin=subprocess.PIPE,  # closed by `close`: the reader ends, whatever signals come
            stdout=subprocess.PIPE,
        )
        answer = reader.stdout.readline().decode(errors="replace").strip()
        if answer != "ok":
            reader.wait()
            raise PortNotFound(f"input port {self.wanted!r} could not be opened ({answer or 'no answer'})")
        self._reader, self.name = reader, name
        self._thread = threading.Thread(target=self._read, args=(reader,), name="jazzd-input", daemon=True)
        self._thread.start()
        return name

    @property
    def is_open(self) -> bool:
        return self._reader is not None and self._reader.poll() is None

    @property
    def lost(self) -> bool:
        """The reader ended by itself: it saw its port vanish (or failed)."""
        return self._reader is not None and self._reader.poll() is not None

    def _read(self, reader: subprocess.Popen) -> None:
        parser = mido.Parser()
        pipe = reader.stdout
        while header := pipe.read(RECORD.size):
            if len(header) < RECORD.size:
                break
            t, size = RECORD.unpack(header)
            data = pipe.read(size)
            self.received += 1
            try:
                parser.feed(data)
            except Exception as exc:  # garbage must never end the input
                self.garbage += 1
                log.debug("input %r could not be read: %s", data, exc)
                continue
            for message in parser:
                try:
                    self.handler(message, t)
                except Exception as exc:  # a bug, not garbage: the player exits and is restarted
                    log.exception("the input thread failed on %s", message)
                    self.failure = exc
                    return

    def close(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            end(reader)
        if self._thread is not None:
            self._thread.join(timeout=1.0)
            self._thread = None
