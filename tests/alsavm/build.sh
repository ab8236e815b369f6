#!/bin/bash
# Builds (or refreshes) a bootable Debian bookworm VM image for running jazzd over the real ALSA
# sequencer (this host's kernel has none): $ALSAVM_DIR/{vmlinuz,initrd.img,image.ext4}, default
# /var/tmp/jazzd-alsavm. Idempotent: the debootstrap rootfs is cached there; jazzd and its
# dependencies are installed the way docs/INSTALL.md says (a venv in /opt/jazzd) when
# pyproject.toml changed (or FORCE_JAZZD=1) — each run installs the working tree over it
# (run.sh); the image is rebuilt only when the rootfs changed. Needs root and the package index.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
D=${ALSAVM_DIR:-/var/tmp/jazzd-alsavm}
mkdir -p "$D"
ROOT=$D/rootfs
SRC_REPO=${SRC_REPO:-$(cd "$HERE/../.." && pwd)}  # the jazzd checkout to install
MIRROR=${MIRROR:-$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
IMAGE_SIZE=${IMAGE_SIZE:-4G}
cd "$D"

need() { command -v "$1" >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q qemu-system-x86 debootstrap e2fsprogs bc >/dev/null; }; }
need qemu-system-x86_64; need debootstrap; need mke2fs; need bc

changed=0
if [ ! -e "$ROOT/.stage-debootstrap" ]; then
    rm -rf "$ROOT"; mkdir -p "$ROOT"
    debootstrap --variant=minbase \
        --include=systemd-sysv,udev,kmod,linux-image-amd64,alsa-utils,python3,python3-venv,python3-pip,gcc,libc6-dev,libasound2-dev,ca-certificates,procps,iproute2,util-linux,sudo,strace \
        bookworm "$ROOT" "$MIRROR"
    touch "$ROOT/.stage-debootstrap"; changed=1
fi

mounted=()
cleanup() { for ((i=${#mounted[@]}-1; i>=0; i--)); do umount -l "${mounted[i]}" 2>/dev/null || true; done; }
trap cleanup EXIT
chroot_mounts() {
    [ ${#mounted[@]} -gt 0 ] && return
    for m in proc sys dev dev/pts; do mount --bind /$m "$ROOT/$m"; mounted+=("$ROOT/$m"); done
    cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
}
inroot() { env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 chroot "$ROOT" "$@"; }

if [ ! -e "$ROOT/.stage-config" ]; then
    chroot_mounts
    inroot apt-get install -y -q sudo strace >/dev/null   # in case the cached rootfs predates them
    echo alsavm > "$ROOT/etc/hostname"
    printf '127.0.0.1 localhost\n127.0.1.1 alsavm\n' > "$ROOT/etc/hosts"
    printf '/dev/vda / ext4 rw,errors=remount-ro 0 1\n' > "$ROOT/etc/fstab"
    inroot passwd -d root >/dev/null
    for u in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer serial-getty@ttyS0.service getty@tty1.service systemd-timesyncd.service; do
        inroot systemctl mask "$u" >/dev/null 2>&1 || true
    done
    touch "$ROOT/.stage-config"; changed=1
fi

# JACK too, to measure jazzd's JACK path beside its ALSA path in the same boot
if [ ! -e "$ROOT/.stage-jack" ]; then
    chroot_mounts
    inroot env DEBIAN_FRONTEND=noninteractive apt-get install -y -q jackd2 >/dev/null
    touch "$ROOT/.stage-jack"; changed=1
fi

# the runner (rewritten when this script changes it)
# the runner: mounts the host's run folder (9p), loads the snd modules, compiles the tools,
# runs /host/cmd.sh, then powers off (or reboots when the command exits 194)
cat > "$D/.runner.new" <<'EOF'
#!/bin/bash
mkdir -p /host
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=none host /host || { echo "no /host" > /dev/console; poweroff -f; }
boot=$(( $(cat /host/.boots 2>/dev/null || echo 0) + 1 )); echo $boot > /host/.boots
export ALSAVM_BOOT=$boot PATH=/opt/jazzd/bin:/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
[ -e /host/.nomodules.$boot ] || { modprobe snd-seq && modprobe snd-seq-dummy && modprobe snd-virmidi; }
if [ -d /host/tools ]; then
for t in /host/tools/*.c; do gcc -O2 -Wall -o /usr/local/bin/$(basename "$t" .c) "$t" -lasound -lpthread -lm || echo "compile failed: $t"; done
fi
# the working tree under test, over the installed one (its dependencies are the image's)
if [ -d /host/src ]; then
/opt/jazzd/bin/pip install -q --no-deps --no-index --no-build-isolation /host/src > /host/install.log 2>&1 || echo "jazzd install failed: /host/install.log"
fi
cd /host
{ echo "### boot $boot: $(cut -d' ' -f1 /proc/uptime) s after kernel start"; bash /host/cmd.sh; } >> /host/out.log 2>&1
rc=$?
echo $rc > /host/rc.$boot
sync
if [ $rc = 194 ]; then systemctl reboot; else systemctl poweroff; fi
EOF
cat > "$D/.runner.service.new" <<'EOF'
[Unit]
Description=alsavm: run /host/cmd.sh, then power off
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/alsavm-runner
TimeoutStartSec=infinity
StandardOutput=journal+console
[Install]
WantedBy=multi-user.target
EOF
if ! cmp -s "$D/.runner.new" "$ROOT/usr/local/sbin/alsavm-runner" || ! cmp -s "$D/.runner.service.new" "$ROOT/etc/systemd/system/alsavm-runner.service"; then
    install -m 755 "$D/.runner.new" "$ROOT/usr/local/sbin/alsavm-runner"
    install -m 644 "$D/.runner.service.new" "$ROOT/etc/systemd/system/alsavm-runner.service"
    ln -sf /etc/systemd/system/alsavm-runner.service "$ROOT/etc/systemd/system/multi-user.target.wants/alsavm-runner.service"
    changed=1
fi
rm -f "$D/.runner.new" "$D/.runner.service.new"
[ "$(cat "$ROOT/etc/hosts" 2>/dev/null)" = "$(printf '127.0.0.1 localhost\n127.0.1.1 alsavm')" ] || { printf '127.0.0.1 localhost\n127.0.1.1 alsavm\n' > "$ROOT/etc/hosts"; changed=1; }

# jazzd, installed the way docs/INSTALL.md says (venv in /opt/jazzd), from a copy of the working tree
rev=$(sha256sum "$SRC_REPO/pyproject.toml" | cut -c1-16)
if [ "${FORCE_JAZZD:-0}" = 1 ] || [ "$(cat "$ROOT/src/.rev" 2>/dev/null)" != "$rev" ] || [ ! -x "$ROOT/opt/jazzd/bin/jazzd" ]; then
    rm -rf "$D/src"; mkdir -p "$D/src"
    (cd "$SRC_REPO" && git ls-files -co --exclude-standard -z | tar --null -T - -c) | tar -x -C "$D/src"
    echo "$rev" > "$D/src/.rev"
    rm -rf "$ROOT/src" "$ROOT/opt/jazzd"; cp -a "$D/src" "$ROOT/src"
    chroot_mounts
    # this host reaches PyPI through its own CA: a pip.conf for the install only (sudo drops PIP_CERT)
    cp /etc/ssl/certs/ca-certificates.crt "$ROOT/root/host-ca.crt"
    printf '[global]\ncert = /root/host-ca.crt\n' > "$ROOT/etc/pip.conf"
    inroot bash -c 'set -e
        sudo apt-get install -y python3-venv libasound2 >/dev/null
        sudo python3 -m venv /opt/jazzd
        sudo /opt/jazzd/bin/pip install -q wheel /src
        /opt/jazzd/bin/pip list 2>/dev/null | grep -Ei "^(jazzd|numpy|mido|python-rtmidi|onnxruntime|jack-client) "'
    rm -f "$ROOT/root/host-ca.crt" "$ROOT/etc/pip.conf"
    changed=1
fi

# the C tools, compiled in the VM's own userland (the runner recompiles them from /host/tools)
mkdir -p "$ROOT/opt/alsavm-tools"
if ! diff -rq "$HERE/tools" "$ROOT/opt/alsavm-tools" >/dev/null 2>&1; then
    rm -rf "$ROOT/opt/alsavm-tools"; cp -r "$HERE/tools" "$ROOT/opt/alsavm-tools"
    chroot_mounts
    for t in "$HERE"/tools/*.c; do t=$(basename "$t" .c); inroot gcc -O2 -Wall -o /usr/local/bin/$t /opt/alsavm-tools/$t.c -lasound -lpthread -lm; done
    changed=1
fi
cleanup; mounted=(); trap - EXIT

kver=$(ls "$ROOT/boot" | sed -n 's/^vmlinuz-//p' | sort -V | tail -1)
cp -u "$ROOT/boot/vmlinuz-$kver" "$D/vmlinuz"
cp -u "$ROOT/boot/initrd.img-$kver" "$D/initrd.img"
if [ $changed = 1 ] || [ ! -e "$D/image.ext4" ]; then
    rm -f "$D/image.ext4.tmp"
    mke2fs -q -t ext4 -L alsavm -d "$ROOT" "$D/image.ext4.tmp" "$IMAGE_SIZE"
    mv "$D/image.ext4.tmp" "$D/image.ext4"
fi
echo "kernel $kver; image $(du -h --apparent-size "$D/image.ext4" | cut -f1) apparent, $(du -h "$D/image.ext4" | cut -f1) on disk; rootfs $(du -sh "$ROOT" | cut -f1)"
