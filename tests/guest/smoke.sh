#!/usr/bin/env bash
# Smoke test of the test guest: boot it once under TCG with two 64 MiB raw
# disks, vda behind a QEMU throttle group limited to 2 MiB/s of reads, run
# `read:vda:bs=64k:time=5` and check that every full one-second sample
# after the first is within +-15% of 2 MiB/s.
#
#   tests/guest/smoke.sh [--guest DIR]
#
# DIR (default $IOV_GUEST_DIR or tests/guest/out) must hold vmlinuz and
# initrd.img; they are built there with build.sh when missing or stale.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROG=${0##*/}
GUEST=${IOV_GUEST_DIR:-$HERE/out}
LIMIT=2097152          # bytes/s
TOLERANCE=15           # percent
SECS=5

while [ $# -gt 0 ]; do
    case "$1" in
        --guest) GUEST=$2; shift 2 ;;
        --guest=*) GUEST=${1#--guest=}; shift ;;
        -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "$PROG: unknown argument: $1" >&2; exit 2 ;;
    esac
done

die() { echo "$PROG: FAIL: $*" >&2; exit 1; }

command -v qemu-system-x86_64 >/dev/null 2>&1 ||
    die "qemu-system-x86_64 not found (apt-get install qemu-system-x86)"

"$HERE/build.sh" --out "$GUEST" || die "building the guest failed"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/iov-smoke.XXXXXX")
QEMU_PID=
cleanup() {
    if [ -n "$QEMU_PID" ] && kill -0 "$QEMU_PID" 2>/dev/null; then
        kill "$QEMU_PID" 2>/dev/null || true
        wait "$QEMU_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

truncate -s 64M "$WORK/vda.raw" "$WORK/vdb.raw"
LOG=$WORK/serial.log

start=$(date +%s%N)
qemu-system-x86_64 \
    -machine q35,accel=tcg -m 256 -nodefaults -no-user-config \
    -display none -no-reboot \
    -serial "file:$LOG" \
    -kernel "$GUEST/vmlinuz" -initrd "$GUEST/initrd.img" \
    -append "console=ttyS0 quiet panic=-1 iov.probe=read:vda:bs=64k:time=$SECS" \
    -object "throttle-group,id=tg0,x-bps-read=$LIMIT" \
    -blockdev "driver=file,filename=$WORK/vda.raw,node-name=vda-file" \
    -blockdev "driver=raw,file=vda-file,node-name=vda-fmt" \
    -blockdev "driver=throttle,throttle-group=tg0,file=vda-fmt,node-name=vda-thr" \
    -device virtio-blk-pci,drive=vda-thr,id=vda \
    -blockdev "driver=file,filename=$WORK/vdb.raw,node-name=vdb-file" \
    -blockdev "driver=raw,file=vdb-file,node-name=vdb-fmt" \
    -device virtio-blk-pci,drive=vdb-fmt,id=vdb \
    >"$WORK/qemu.out" 2>&1 &
QEMU_PID=$!

# The guest powers itself off after the probe; give it generous time.
deadline=$((SECONDS + 60 + SECS))
while kill -0 "$QEMU_PID" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then
        echo "--- serial log ---" >&2; cat "$LOG" >&2 || true
        die "guest did not power off within $((60 + SECS)) s"
    fi
    sleep 0.2
done
rc=0
wait "$QEMU_PID" || rc=$?
QEMU_PID=
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))

echo "--- serial log ---"
cat "$LOG"
echo "------------------"
[ "$rc" -eq 0 ] || { cat "$WORK/qemu.out" >&2; die "qemu exited with status $rc"; }
grep -q '^GUEST-READY' "$LOG" || die "no GUEST-READY"
grep -q '^IOVPROBE-END job=0 ' "$LOG" || die "probe did not finish (no IOVPROBE-END)"
grep -q '^IOVPROBE-DONE' "$LOG" || die "no IOVPROBE-DONE"

# Check each full one-second sample after the first against the limit.
result=$(awk -v limit="$LIMIT" -v tol="$TOLERANCE" '
    /^IOVPROBE-SAMPLE job=0 / {
        sec = 0; dt = 0; bytes = 0
        for (i = 2; i <= NF; i++) {
            split($i, kv, "=")
            if (kv[1] == "sec") sec = kv[2] + 0
            else if (kv[1] == "dt") dt = kv[2] + 0
            else if (kv[1] == "bytes") bytes = kv[2] + 0
        }
        if (sec < 2 || dt < 0.5) next
        rate = bytes / dt
        dev = (rate - limit) * 100 / limit
        n++
        printf "sample sec=%d rate=%.0f B/s (%+.1f%%)\n", sec, rate, dev
        if (dev > tol || dev < -tol) bad++
    }
    END {
        if (n == 0) { print "RESULT no samples after the first second"; exit 1 }
        if (bad > 0) { printf "RESULT %d of %d samples outside +-%d%%\n", bad, n, tol; exit 1 }
        printf "RESULT %d samples within +-%d%% of %d B/s\n", n, tol, limit
    }' "$LOG") || { echo "$result"; die "throttled throughput out of range"; }
echo "$result"
echo "$PROG: PASS (guest run took ${elapsed_ms} ms)"
