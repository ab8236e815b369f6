"""jazzd and its service manager: sd_notify (READY, WATCHDOG, STATUS, RELOADING, STOPPING) and
the signals systemd sends (TERM to stop, HUP to reload), recorded so the main thread can act on
them safely."""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import socket

log = logging.getLogger(__name__)


class _Notifier:
    """sd_notify over one datagram socket, never blocking: the main thread must not wait on a
    service manager that is slow to read."""

    def __init__(self) -> None:
        self._sock: socket.socket | None = None
        self._address = ""

    def __call__(self, state: str) -> None:
        address = os.environ.get("NOTIFY_SOCKET", "")
        if not address:
            return
        if address != self._address or self._sock is None:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._sock.setblocking(False)
            self._address = address
        try:
            self._sock.sendto(state.encode(), "\0" + address[1:] if address.startswith("@") else address)
        except OSError as exc:  # full or gone: a missed ping is the watchdog's business
            log.debug("sd_notify %s failed: %s", state, exc)


notify = _Notifier()  # READY / WATCHDOG / STATUS / RELOADING / STOPPING; no-op outside systemd


class Signals:
    """SIGTERM, SIGINT and SIGHUP as their handler records them, for the main thread to act on.

    The handler only appends to a list, and Python's own C handler writes to a wakeup socket, so
    `wait` returns at once. A handler that took a lock (an Event's `set`) could deadlock against
    the very wait it interrupted, and one that cleared a flag could erase a signal."""

    STOP = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self._received: list[int] = []
        self._taken = 0
        self._wakeup, self._wakeup_write = socket.socketpair()
        for sock in (self._wakeup, self._wakeup_write):
            sock.setblocking(False)

    def install(self) -> None:
        signal.set_wakeup_fd(self._wakeup_write.fileno(), warn_on_full_buffer=False)
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, self._record)
            # SA_RESTART: a signal landing while libjack or ALSA waits in a system call (opening
            # a client) must not fail that call with EINTR; the wakeup socket still ends `wait`
            signal.siginterrupt(signum, False)

    def _record(self, signum: int, frame) -> None:
        self._received.append(signum)

    def pending(self) -> bool:
        return len(self._received) > self._taken

    def take(self) -> list[int]:
        """The signals not taken yet (one that lands meanwhile stays for the next take)."""
        end = len(self._received)
        taken, self._taken = self._received[self._taken : end], end
        return taken

    def wake(self) -> None:
        """End the main thread's `wait` now (from another thread), with no signal pending."""
        with contextlib.suppress(BlockingIOError):  # full: it is being woken anyway
            self._wakeup_write.send(b"\0")

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`, less if a signal comes; True if one is pending."""
        if not self.pending():
            select.select([self._wakeup], [], [], seconds)
            with contextlib.suppress(BlockingIOError):
                while self._wakeup.recv(64):
                    pass
        return self.pending()
