#!/usr/bin/env bash
# Build the iovirt test guest: DIR/vmlinuz and DIR/initrd.img.
#
#   tests/guest/build.sh --out DIR [--probe IOVPROBE_BINARY] [--cache DIR]
#
# Everything comes from Debian packages: the cloud kernel image (the
# versioned package that linux-image-cloud-amd64 depends on) and
# busybox-static are fetched with `apt-get download` into the cache
# directory (default DIR/cache) and unpacked with `dpkg -x`.  No root
# privileges are needed (the apt lists must be present: run
# `apt-get update` once as root).
#
# Environment: CC (default cc) compiles iovprobe.c when --probe is not given.
#              IOV_KERNEL_PKG overrides the kernel package name.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROG=${0##*/}

die() {
    echo "$PROG: error: $*" >&2
    exit 1
}
note() {
    echo "$PROG: $*" >&2
}

usage() {
    cat >&2 <<EOF
usage: $PROG --out DIR [--probe IOVPROBE_BINARY] [--cache DIR]
  --out DIR      where vmlinuz and initrd.img are written
  --probe PATH   use this prebuilt static iovprobe instead of compiling
                 $HERE/iovprobe.c
  --cache DIR    where downloaded .deb files are kept (default DIR/cache)
EOF
    exit 2
}

OUT=
PROBE=
CACHE=
while [ $# -gt 0 ]; do
    case "$1" in
        --out) [ $# -ge 2 ] || usage; OUT=$2; shift 2 ;;
        --out=*) OUT=${1#--out=}; shift ;;
        --probe) [ $# -ge 2 ] || usage; PROBE=$2; shift 2 ;;
        --probe=*) PROBE=${1#--probe=}; shift ;;
        --cache) [ $# -ge 2 ] || usage; CACHE=$2; shift 2 ;;
        --cache=*) CACHE=${1#--cache=}; shift ;;
        -h|--help) usage ;;
        *) echo "$PROG: unknown argument: $1" >&2; usage ;;
    esac
done
[ -n "$OUT" ] || usage

mkdir -p "$OUT" || die "cannot create output directory $OUT"
OUT=$(cd "$OUT" && pwd)
# Serialise concurrent builds into the same directory.
if command -v flock >/dev/null 2>&1; then
    exec 9>"$OUT/.lock"
    flock 9 || die "cannot lock $OUT/.lock"
fi
CACHE=${CACHE:-$OUT/cache}
mkdir -p "$CACHE" || die "cannot create cache directory $CACHE"
CACHE=$(cd "$CACHE" && pwd)
if [ -n "$PROBE" ]; then
    [ -f "$PROBE" ] || die "--probe $PROBE: no such file"
    PROBE=$(cd "$(dirname "$PROBE")" && pwd)/$(basename "$PROBE")
fi

for tool in apt-get apt-cache dpkg dpkg-deb gzip; do
    command -v "$tool" >/dev/null 2>&1 || die "required tool '$tool' not found"
done

# --- resolve and download the packages --------------------------------------

APT_HINT="the apt package lists are probably missing or stale: run 'apt-get update' (as root) and retry"

# Print the versioned kernel image package behind linux-image-cloud-amd64.
resolve_kernel_pkg() {
    local out
    if [ -n "${IOV_KERNEL_PKG:-}" ]; then
        echo "$IOV_KERNEL_PKG"
        return 0
    fi
    out=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null) || return 1
    echo "$out" | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-cloud-amd64\)$/\1/p' | head -n1
}

# Candidate versions of the packages, looked up once: "PKG VERSION" lines.
CANDIDATES=
lookup_candidates() {
    CANDIDATES=$(LC_ALL=C apt-cache policy "$@" 2>/dev/null | awk '
        /^[^ ].*:$/ { pkg = substr($0, 1, length($0) - 1) }
        /^  Candidate: / && $2 != "(none)" { print pkg, $2 }') || CANDIDATES=
}
candidate_version() {
    echo "$CANDIDATES" | awk -v p="$1" '$1 == p { print $2; exit }'
}

# fetch PKG: make sure $CACHE holds the candidate .deb of PKG, print its path.
# Without usable apt lists, fall back to a single cached .deb of PKG.
fetch() {
    local pkg=$1 ver file log
    ver=$(candidate_version "$pkg")
    if [ -z "$ver" ]; then
        shopt -s nullglob
        local cached=("$CACHE/${pkg}"_*_amd64.deb)
        shopt -u nullglob
        if [ ${#cached[@]} -ge 1 ]; then
            note "apt knows no candidate for $pkg; using cached ${cached[-1]##*/}"
            echo "${cached[-1]}"
            return 0
        fi
        die "apt-cache has no candidate version of $pkg: $APT_HINT"
    fi
    # apt-get download names files PKG_VERSION_ARCH.deb with ':' as %3a
    file="$CACHE/${pkg}_${ver//:/%3a}_amd64.deb"
    if [ ! -s "$file" ]; then
        note "downloading $pkg $ver"
        log=$(cd "$CACHE" && apt-get download "$pkg=$ver" 2>&1) || {
            echo "$log" >&2
            die "apt-get download $pkg=$ver failed: $APT_HINT (or the package mirror is unreachable)"
        }
        [ -s "$file" ] || die "apt-get download did not produce $file"
    fi
    echo "$file"
}

STAMP=$OUT/.build-inputs
KDEB=
BBDEB=
# Fast path: if neither the apt lists nor the dpkg status changed since the
# last build, resolving the packages again would give the same answer.
if [ -z "${APT_CONFIG:-}" ] && [ -z "${IOV_KERNEL_PKG:-}" ] && [ -f "$STAMP" ] &&
   [ "$STAMP" -nt /var/lib/apt/lists ] && [ "$STAMP" -nt /var/lib/dpkg/status ]; then
    k=$(sed -n 's/^kernel=//p' "$STAMP")
    b=$(sed -n 's/^busybox=//p' "$STAMP")
    if [ -n "$k" ] && [ -s "$CACHE/$k" ] && [ -n "$b" ] && [ -s "$CACHE/$b" ]; then
        KDEB=$CACHE/$k
        BBDEB=$CACHE/$b
    fi
fi
if [ -z "$KDEB" ]; then
    KPKG=$(resolve_kernel_pkg) || true
    if [ -z "$KPKG" ]; then
        shopt -s nullglob
        cached=("$CACHE"/linux-image-[0-9]*-cloud-amd64_*_amd64.deb)
        shopt -u nullglob
        if [ ${#cached[@]} -eq 1 ]; then
            KPKG=${cached[0]##*/}
            KPKG=${KPKG%%_*}
            note "cannot resolve linux-image-cloud-amd64 with apt-cache; using cached $KPKG"
        else
            die "cannot resolve the kernel behind linux-image-cloud-amd64 with apt-cache: $APT_HINT"
        fi
    fi
    lookup_candidates "$KPKG" busybox-static
    KDEB=$(fetch "$KPKG")
    BBDEB=$(fetch busybox-static)
fi

# --- compile iovprobe when needed -------------------------------------------

PROBE_SRC=$HERE/iovprobe.c
if [ -z "$PROBE" ]; then
    PROBE=$OUT/iovprobe
    if [ ! -x "$PROBE" ] || [ "$PROBE_SRC" -nt "$PROBE" ]; then
        note "compiling iovprobe"
        "${CC:-cc}" -static -O2 -pthread -Wall -Wextra -o "$PROBE.tmp" "$PROBE_SRC" ||
            die "compiling $PROBE_SRC with ${CC:-cc} failed (static glibc from libc6-dev is needed)"
        mv -f "$PROBE.tmp" "$PROBE"
    fi
fi

# --- up to date? -------------------------------------------------------------

INPUTS="kernel=${KDEB##*/}
busybox=${BBDEB##*/}
probe=$PROBE"
inputs_newer() {
    local f
    for f in "$KDEB" "$BBDEB" "$PROBE" "$HERE/init" "$HERE/build.sh"; do
        [ "$f" -nt "$OUT/initrd.img" ] && return 0
        [ "$f" -nt "$OUT/vmlinuz" ] && return 0
    done
    return 1
}
if [ -s "$OUT/vmlinuz" ] && [ -s "$OUT/initrd.img" ] && [ -f "$STAMP" ] &&
   [ "$(cat "$STAMP")" = "$INPUTS" ] && ! inputs_newer; then
    touch "$STAMP"    # the package resolution above is current again
    note "up to date: $OUT/vmlinuz $OUT/initrd.img"
    exit 0
fi

# --- unpack ------------------------------------------------------------------

TMP=$(mktemp -d "${TMPDIR:-/tmp}/iov-guest.XXXXXX")
cleanup() { rm -rf "$TMP"; }
trap cleanup EXIT

note "unpacking ${KDEB##*/}"
dpkg -x "$KDEB" "$TMP/kernel" || die "dpkg -x $KDEB failed"
dpkg -x "$BBDEB" "$TMP/bb" || die "dpkg -x $BBDEB failed"

BB=$TMP/bb/bin/busybox
[ -x "$BB" ] || die "busybox binary not found in ${BBDEB##*/}"

# The module tree is under lib/modules (bookworm) or usr/lib/modules (later).
KBASE=
for b in "$TMP/kernel" "$TMP/kernel/usr"; do
    if [ -d "$b/lib/modules" ]; then KBASE=$b; break; fi
done
[ -n "$KBASE" ] || die "no lib/modules in ${KDEB##*/}"
KVERS=$(ls "$KBASE/lib/modules")
[ "$(echo "$KVERS" | wc -l)" -eq 1 ] || die "expected one kernel version in ${KDEB##*/}, found: $KVERS"
KVER=$KVERS
MODROOT=$KBASE/lib/modules/$KVER
VMLINUZ=
for v in "$TMP/kernel/boot/vmlinuz-$KVER" "$MODROOT/vmlinuz"; do
    if [ -f "$v" ]; then VMLINUZ=$v; break; fi
done
[ -n "$VMLINUZ" ] || die "no vmlinuz for $KVER in ${KDEB##*/}"

# Debian's package does not ship modules.dep (its postinst runs depmod), so
# generate it for the unpacked tree with busybox depmod.
if [ ! -s "$MODROOT/modules.dep" ]; then
    "$BB" depmod -b "$KBASE" "$KVER" || die "depmod for $KVER failed"
fi
[ -s "$MODROOT/modules.dep" ] || die "no modules.dep for $KVER"

# --- choose the modules and their load order ---------------------------------

# Modules the guest needs.  Dependencies (e.g. virtio_pci_modern_dev,
# virtio_pci_legacy_dev) are added from modules.dep.
WANTED="virtio_ring virtio virtio_pci virtio_blk virtio_net button evdev"

declare -A MODPATH=() MODDEPS=() STATE=()
while IFS= read -r line; do
    path=${line%%:*}
    deps=${line#*:}
    name=${path##*/}
    name=${name%%.ko*}
    name=${name//-/_}
    MODPATH[$name]=$path
    MODDEPS[$name]=$deps
done <"$MODROOT/modules.dep"

builtin_module() {
    [ -f "$MODROOT/modules.builtin" ] || return 1
    sed 's#.*/##; s#\.ko.*##; s#-#_#g' "$MODROOT/modules.builtin" | grep -qx "$1"
}

ORDER=()
visit() {
    local name=$1 dep dname
    case "${STATE[$name]:-}" in
        visited) return 0 ;;
        active) die "dependency cycle in modules.dep at $name" ;;
    esac
    STATE[$name]=active
    for dep in ${MODDEPS[$name]}; do
        dname=${dep##*/}
        dname=${dname%%.ko*}
        dname=${dname//-/_}
        [ -n "${MODPATH[$dname]:-}" ] || die "modules.dep: $name needs $dep which is not listed"
        visit "$dname"
    done
    STATE[$name]=visited
    ORDER+=("$name")
}

for m in $WANTED; do
    if [ -n "${MODPATH[$m]:-}" ]; then
        visit "$m"
    elif builtin_module "$m"; then
        note "$m is built into $KVER"
    else
        die "module $m is neither in modules.dep nor built into $KVER"
    fi
done

# --- assemble the initramfs tree ----------------------------------------------

ROOT=$TMP/root
mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,var/log,var/run,root,etc/iov,etc/acpi/PWRF}
mkdir -p "$ROOT/lib/modules/$KVER"

install -m 0755 "$BB" "$ROOT/bin/busybox"
# applet links (paths as busybox reports them, e.g. sbin/acpid, usr/bin/tr)
while IFS= read -r applet; do
    applet=${applet#/}
    [ -n "$applet" ] || continue
    [ "$applet" = bin/busybox ] && continue
    [ -e "$ROOT/$applet" ] && continue
    mkdir -p "$ROOT/$(dirname "$applet")"
    ln -s /bin/busybox "$ROOT/$applet"
done < <("$BB" --list-full)
[ -e "$ROOT/bin/sh" ] || ln -s /bin/busybox "$ROOT/bin/sh"

install -m 0755 "$HERE/init" "$ROOT/init"
install -m 0755 "$PROBE" "$ROOT/bin/iovprobe"

# modules: uncompressed copies, load order, and a matching modules.dep
: >"$ROOT/etc/iov/modules"
: >"$ROOT/lib/modules/$KVER/modules.dep"
for name in "${ORDER[@]}"; do
    src=$MODROOT/${MODPATH[$name]}
    rel=${MODPATH[$name]%.ko*}.ko
    dst=$ROOT/lib/modules/$KVER/$rel
    mkdir -p "$(dirname "$dst")"
    case "$src" in
        *.ko) cp "$src" "$dst" ;;
        *.ko.xz) "$BB" xz -dc "$src" >"$dst" || die "cannot decompress $src" ;;
        *.ko.gz) "$BB" gzip -dc "$src" >"$dst" || die "cannot decompress $src" ;;
        *.ko.zst)
            command -v zstd >/dev/null 2>&1 || die "zstd is needed to decompress $src"
            zstd -qdc "$src" >"$dst" || die "cannot decompress $src" ;;
        *) die "unknown module file type: $src" ;;
    esac
    echo "$rel" >>"$ROOT/etc/iov/modules"
    deps=
    for dep in ${MODDEPS[$name]}; do deps="$deps ${dep%.ko*}.ko"; done
    echo "$rel:$deps" >>"$ROOT/lib/modules/$KVER/modules.dep"
done
note "modules (load order): ${ORDER[*]}"

# acpid: the power button event maps to /etc/acpi/PWRF/00000080
cat >"$ROOT/etc/acpi/PWRF/00000080" <<'EOF'
#!/bin/sh
echo "GUEST-POWERBUTTON" >/dev/console
sync
poweroff -f
EOF
chmod 0755 "$ROOT/etc/acpi/PWRF/00000080"

# udhcpc runs this script to apply the lease it got
mkdir -p "$ROOT/usr/share/udhcpc"
cat >"$ROOT/usr/share/udhcpc/default.script" <<'EOF'
#!/bin/sh
case "$1" in
    deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
    bound|renew)
        ip addr flush dev "$interface"
        ip addr add "$ip/${mask:-24}" dev "$interface"
        [ -n "$router" ] && ip route add default via "${router%% *}" dev "$interface"
        echo "GUEST-DHCP ip=$ip router=${router%% *}" >/dev/console
        ;;
esac
exit 0
EOF
chmod 0755 "$ROOT/usr/share/udhcpc/default.script"

echo "root:x:0:0:root:/root:/bin/sh" >"$ROOT/etc/passwd"
echo "root:x:0:" >"$ROOT/etc/group"

# --- pack ----------------------------------------------------------------------

# newc entry for a node that an unprivileged build cannot create itself.
cpio_entry() { # NAME MODE(octal) RDEVMAJOR RDEVMINOR INO
    local name=$1 mode=$2 maj=$3 min=$4 ino=$5 namesize pad
    namesize=$(( ${#name} + 1 ))
    printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
        "$ino" "$((8#$mode))" 0 0 1 0 0 0 0 "$maj" "$min" "$namesize" 0
    printf '%s\0' "$name"
    pad=$(( (4 - (110 + namesize) % 4) % 4 ))
    [ "$pad" -eq 0 ] || head -c "$pad" /dev/zero
}
nodes_cpio() {
    cpio_entry dev 040755 0 0 1
    cpio_entry dev/console 020600 5 1 2
    cpio_entry dev/null 020666 1 3 3
    cpio_entry TRAILER!!! 0 0 0 0
}

# busybox cpio takes the file list on stdin; owner forced to root
nodes_cpio >"$TMP/initrd.cpio"
(
    cd "$ROOT"
    find . -mindepth 1 | LC_ALL=C sort | sed 's#^\./##' |
        "$BB" cpio -o -H newc -R 0:0 >>"$TMP/initrd.cpio" 2>"$TMP/cpio.log"
) || { cat "$TMP/cpio.log" >&2; die "creating the initramfs archive failed"; }
gzip -6 -n <"$TMP/initrd.cpio" >"$OUT/initrd.img.tmp" || die "compressing the initramfs failed"
gzip -t "$OUT/initrd.img.tmp" || die "initramfs archive is corrupt"

cp "$VMLINUZ" "$OUT/vmlinuz.tmp"
mv -f "$OUT/vmlinuz.tmp" "$OUT/vmlinuz"
mv -f "$OUT/initrd.img.tmp" "$OUT/initrd.img"
echo "$KVER" >"$OUT/kernel-version"
printf '%s\n' "$INPUTS" >"$STAMP"
note "built $OUT/vmlinuz ($KVER) and $OUT/initrd.img ($(du -k "$OUT/initrd.img" | cut -f1) KiB)"
