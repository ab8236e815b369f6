"""jazzd's helper processes (the JACK writer, the input reader) and the signals they never act on.

systemd stops a unit by signalling its processes (all at once under its default KillMode), and a
terminal's Ctrl-C signals the whole process group. A helper that died with the player would take
the port with it before the player's last note-offs went out. So a helper ignores INT, TERM and
HUP and ends when the player closes its pipe (or dies, which closes it too). The signals are
blocked while the helper starts — a blocked mask survives exec — so one landing while its
interpreter starts waits, and is then ignored.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys

STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
CLOSE_SECONDS = 2.0  # the longest a helper may take to end once its pipe is closed


def spawn(module: str, *args: str, **popen) -> subprocess.Popen:
    """`python -m module args...`, started with the stop signals blocked."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        return subprocess.Popen([sys.executable, "-m", module, *args], **popen)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def end(process: subprocess.Popen) -> None:
    """Close the helper's stdin — its sign to finish — and wait for it (killed if it hangs)."""
    with contextlib.suppress(OSError):  # already gone
        process.stdin.close()
    try:
        process.wait(timeout=CLOSE_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def ignore_stop_signals() -> None:
    """The helper's first act: ignore the stop signals for good, then let them in (one pending
    since the start is dropped)."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
