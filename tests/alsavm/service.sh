# systemd as it really runs, in the VM's own init: the shipped unit installed as docs/INSTALL.md
# says; start, the watchdog over a minute, a reload mid-tune, stop, restart; then boots: one with
# jazzd enabled and the synth absent, one with no sound module loaded by anyone but the unit's
# modules-load file; last, the phone page under the unit with its drop-in (docs/INSTALL.md). The
# synth is seqrecv (a C receiver), run as a unit of its own.
set -u
show() { systemctl show jazzd -p ActiveState -p SubState -p Result -p NRestarts -p MainPID -p StatusText -p ExecMainStatus; }
synth() {  # synth NAME: the receiver as a transient unit writing /host/NAME.recv
    systemd-run --unit="synth-$1" --collect seqrecv -n svc-synth -p in -r 10 -o "/host/$1.recv" >/dev/null
    sleep 0.5
}
synth_off() { systemctl stop "synth-$1"; sleep 0.3; }
heard() {  # heard BOOT: the synth plugged, jazzd heard for 6 s, stopped; its journal kept
    synth "$1"
    sleep 6
    show > "/host/$1-playing.txt"
    systemctl stop jazzd
    synth_off "$1"
    journalctl -b -u jazzd -o cat > "/host/$1-journal.txt"
}

case "${ALSAVM_BOOT:-1}" in
1)
    install -D -m 644 /host/jazzd.toml /etc/jazzd/jazzd.toml
    install -m 644 /host/src/systemd/jazzd.service /etc/systemd/system/jazzd.service
    install -m 644 /host/src/systemd/jazzd-modules.conf /etc/modules-load.d/jazzd.conf
    install -m 644 /host/src/README.md /opt/jazzd/README.md
    systemctl daemon-reload
    systemd-analyze security jazzd | tail -1 > /host/security.txt

    synth run
    systemctl start jazzd; mono > /host/started.at
    sleep 150  # the watchdog (WatchdogSec=5) must never fire
    show > /host/after-minutes.txt
    sed -i 's/^bpm = .*/bpm = 180/' /etc/jazzd/jazzd.toml
    systemctl reload jazzd; mono > /host/reloaded.at
    sleep 4
    show > /host/after-reload.txt
    systemctl stop jazzd; mono > /host/stopped.at
    show > /host/after-stop.txt
    synth_off run

    synth restart
    systemctl start jazzd; sleep 8
    systemctl restart jazzd; sleep 8
    systemctl stop jazzd
    show > /host/after-restart.txt
    synth_off restart

    journalctl -b -u jazzd -o cat > /host/boot1-journal.txt
    systemctl enable jazzd 2>/dev/null
    exit 194  # reboot: jazzd starts at boot, no synth yet
    ;;
2)
    sleep 8
    show > /host/boot2-waiting.txt
    mono > /host/boot2-plugged.at
    heard boot2
    touch /host/.nomodules.3  # the next boot: the runner loads no sound module
    exit 194
    ;;
3)
    lsmod | grep -E '^snd_seq ' > /host/boot3-lsmod.txt
    sleep 8
    heard boot3

    jazzd web-token --new > /host/page-link.txt
    install -D -m 644 /host/src/systemd/jazzd-web.conf /etc/systemd/system/jazzd.service.d/web.conf
    printf '[web]\nenabled = true\naddress = "0.0.0.0"\nport = 8080\n' >> /etc/jazzd/jazzd.toml
    systemctl daemon-reload
    systemd-analyze security jazzd | tail -1 > /host/page-security.txt
    synth page
    systemctl start jazzd
    sleep 6
    python3 - "$(cat /etc/jazzd/web-token)" > /host/page-answers.txt <<'PY'
import json, sys, urllib.error, urllib.request
def ask(path, headers=None):
    try:
        return urllib.request.urlopen(urllib.request.Request("http://127.0.0.1:8080" + path, headers=headers or {}), timeout=10)
    except urllib.error.HTTPError as e:
        return e
print(f"bare={ask('/').status}")
print(f"wrong={ask('/events?token=wrong').status}")
answer = ask(f"/?token={sys.argv[1]}")
print(f"token={answer.status}")
events = ask("/events", {"Cookie": answer.headers.get("Set-Cookie", "").split(";")[0]})
print(f"events={events.status}")
line = next(l for l in events if l.startswith(b"data: "))
print(f"tune={json.loads(line[6:])['tune']}")
PY
    show > /host/page-playing.txt
    systemctl stop jazzd
    synth_off page
    journalctl -b -u jazzd -o cat > /host/page-journal.txt
    echo done > /host/service.done
    ;;
esac
