"""`jazzd doctor`: what someone setting up a Pi needs to know before a gig, one line a check.

Each finding is ok, warn (jazzd runs, but not at its best) or fail (it will not run). Nothing
here changes the system; the real-time check asks for SCHED_FIFO in a short-lived thread.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import resource
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from jazzd.errors import JazzdError
from jazzd.live.outputs import BACKENDS, Backend

PACKAGES = ("numpy", "onnxruntime", "mido", "python-rtmidi", "alsa-midi", "aiohttp")
REALTIME_PRIORITY = 3  # what the timing thread asks for by default (daemon.PlayOptions)


@dataclass(frozen=True)
class Finding:
    status: str  # "ok", "warn" or "fail"
    check: str
    detail: str


def architecture() -> Finding:
    machine = platform.machine()
    if sys.maxsize <= 2**32 or machine in ("armv6l", "armv7l", "i686"):
        return Finding(
            "fail",
            "architecture",
            f"{machine}, 32-bit: onnxruntime has no wheel for it (nor numpy and python-rtmidi for "
            "every Python); install the 64-bit Raspberry Pi OS (arm64)",
        )
    return Finding("ok", "architecture", f"{machine}, 64-bit")


def python() -> Finding:
    return Finding("ok", "python", f"{platform.python_version()} ({sys.executable})")


def packages() -> Finding:
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            return Finding("fail", "packages", f"{name} is not installed (pip install jazzd)")
    return Finding("ok", "packages", ", ".join(versions))


def midi_library() -> Finding:
    from jazzd.live import ports

    if ports.rtmidi is None:
        return Finding(
            "fail",
            "MIDI library",
            f"python-rtmidi does not load ({ports.RTMIDI_PROBLEM}): apt install libasound2",
        )
    return Finding("ok", "MIDI library", "python-rtmidi loads (the system's libasound.so.2 is there)")


def midi_system(backend: Backend) -> Finding:
    """Is the MIDI system there, and which ports does it have?"""
    from jazzd.live.ports import PortLister

    if backend.device and not Path(backend.device).exists():
        return Finding("warn", backend.system, f"no {backend.device}: {backend.missing}")
    lister = PortLister(backend.name)
    try:
        outputs, inputs = lister.outputs(), lister.inputs()
    except JazzdError:
        return Finding("warn", backend.system, f"not usable here: {backend.missing}")
    finally:
        lister.close()
    return Finding(
        "ok",
        backend.system,
        f"outputs: {', '.join(outputs) or 'none'}; inputs: {', '.join(inputs) or 'none'}",
    )


def realtime() -> Finding:
    """Can a thread of this user get SCHED_FIFO at the timing thread's priority?"""
    result: list[str] = []

    def ask() -> None:
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(REALTIME_PRIORITY))
            result.append("")
        except (OSError, AttributeError) as exc:
            result.append(str(exc))

    thread = threading.Thread(target=ask)
    thread.start()
    thread.join()
    soft, _ = resource.getrlimit(resource.RLIMIT_RTPRIO)
    if result[0]:
        return Finding(
            "warn",
            "real-time priority",
            f"not allowed here (RLIMIT_RTPRIO {soft}: {result[0]}); the service unit allows it "
            "(LimitRTPRIO=20), or add this user to a group with an rtprio limit",
        )
    return Finding("ok", "real-time priority", f"SCHED_FIFO {REALTIME_PRIORITY} allowed")


def governor(cpus: Path = Path("/sys/devices/system/cpu")) -> Finding:
    paths = sorted(cpus.glob("cpu[0-9]*/cpufreq/scaling_governor"))
    if not paths:
        return Finding("ok", "CPU governor", "no cpufreq here (fixed clock, or a virtual machine)")
    found = sorted({p.read_text().strip() for p in paths})
    if found != ["performance"]:
        return Finding(
            "warn",
            "CPU governor",
            f"{', '.join(found)}: a slow clock-up can make notes late; set 'performance' "
            "(echo performance | sudo tee /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor)",
        )
    return Finding("ok", "CPU governor", "performance")


def web_page(config: Path) -> Finding:
    """Is the phone page on, and where: its link, with the token a network address needs."""
    from jazzd.live.config import PlayOptions, read_config
    from jazzd.live.web import is_local, page_link, read_token

    try:
        values = {**vars(PlayOptions()), **(read_config(config) if config.is_file() else {})}
    except JazzdError as exc:
        return Finding("fail", "web page", str(exc))
    if not values["web"]:
        return Finding("ok", "web page", f"off ([web] enabled = false in {config})")
    address, port = values["web_address"], values["web_port"]
    if is_local(address):
        return Finding("ok", "web page", f"{page_link(address, port, None)} (this machine only)")
    try:
        token = read_token(values["web_token_file"])
    except JazzdError as exc:
        return Finding("fail", "web page", str(exc))
    return Finding("ok", "web page", page_link(address, port, token))


def run_checks(config: Path) -> list[Finding]:
    library = midi_library()
    systems = [midi_system(b) for b in BACKENDS.values()] if library.status == "ok" else []
    return [architecture(), python(), packages(), library, *systems, realtime(), governor(), web_page(config)]
