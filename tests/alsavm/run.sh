#!/bin/bash
# run.sh 'COMMAND' [timeout seconds]: boots the jazzd ALSA VM (build.sh), installs the working
# tree's jazzd in it, runs COMMAND inside as root with /opt/jazzd/bin (jazzd's venv) and
# /usr/local/bin (seqrecv, seqsend, mono) on PATH and snd-seq, snd-seq-dummy, snd-virmidi loaded,
# prints its output and exit code, and powers off.
# - COMMAND runs in /host, a 9p share of a fresh run folder (RUN_DIR, printed at the end):
#   what it writes there is kept. Files in $EXTRA (a folder) are copied into /host first.
# - tools/*.c are copied to /host/tools and compiled in the VM at each boot (into /usr/local/bin).
# - The image is used with snapshot=on: every run starts from the same clean image.
# - A command that exits 194 reboots the VM (its changes kept for this run) and runs again with
#   ALSAVM_BOOT=2, 3, ...; it sees ALSAVM_BOOT=1 on the first boot.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
D=${ALSAVM_DIR:-/var/tmp/jazzd-alsavm}
CMD=${1:?usage: run.sh COMMAND [timeout_s]}
TIMEOUT=${2:-900}
mkdir -p "$D/runs"
RUN_DIR=${RUN_DIR:-$(mktemp -d "$D/runs/run.XXXXXX")}
mkdir -p "$RUN_DIR"; chmod 777 "$RUN_DIR"
[ -e "$D/image.ext4" ] || bash "$HERE/build.sh" >&2
printf '%s\n' "$CMD" > "$RUN_DIR/cmd.sh"
rm -rf "$RUN_DIR/tools" "$RUN_DIR/src"; cp -r "$HERE/tools" "$RUN_DIR/tools"
mkdir -p "$RUN_DIR/src"
(cd "$HERE/../.." && git ls-files -co --exclude-standard -z | tar --null -T - -c) | tar -x -C "$RUN_DIR/src"
if [ -n "${EXTRA:-}" ]; then cp -r "$EXTRA"/. "$RUN_DIR/"; fi
: > "$RUN_DIR/out.log"; rm -f "$RUN_DIR"/rc.* "$RUN_DIR/.boots"
# ACCEL=kvm (nested KVM) or tcg (QEMU's own emulation, the default: see the README note on why)
case "${ACCEL:-tcg}" in
    kvm) ACCEL=(-enable-kvm -cpu host,-arch-capabilities) ;;
    *) ACCEL=(-accel tcg,thread=multi,tb-size=512 -cpu max) ;;
esac
start=$(date +%s.%N)
timeout "$TIMEOUT" qemu-system-x86_64 "${ACCEL[@]}" -m 2G -smp 2 -display none -no-user-config -nodefaults \
    -kernel "$D/vmlinuz" -initrd "$D/initrd.img" \
    -append "root=/dev/vda rw console=ttyS0 quiet loglevel=3 systemd.show_status=false panic=10" \
    -drive file="$D/image.ext4",if=virtio,format=raw,snapshot=on \
    -virtfs local,path="$RUN_DIR",mount_tag=host,security_model=none \
    -serial file:"$RUN_DIR/serial.log" -monitor none -nic none \
    -pidfile "$RUN_DIR/qemu.pid" 2> "$RUN_DIR/qemu.err" &
qpid=$!
tail -n +1 -f --pid=$qpid "$RUN_DIR/out.log" &
tpid=$!
wait $qpid; qrc=$?  # 124: the VM was killed at the timeout
wait $tpid 2>/dev/null
end=$(date +%s.%N)
[ -s "$RUN_DIR/qemu.err" ] && { echo "--- qemu stderr:"; cat "$RUN_DIR/qemu.err"; }
last=$(ls "$RUN_DIR"/rc.* 2>/dev/null | sort -t. -k2 -n | tail -1)
rc=$([ -n "$last" ] && cat "$last" || echo "none (the command did not finish; see $RUN_DIR/serial.log)")
printf '### exit code: %s   (VM wall time %.1f s, qemu exit %s, run folder %s)\n' "$rc" "$(echo "$end - $start" | bc)" "$qrc" "$RUN_DIR"
[[ "$rc" =~ ^[0-9]+$ ]] && exit "$rc" || exit 125
