#!/bin/bash
# ceph-cluster.sh DIR PORT: bring up a one-node Ceph on 127.0.0.1 for the
# tests: one monitor on PORT, one OSD on memstore, cephx on, a pool
# 'iovirt' of size 1 holding a 64 MiB image 'disk' filled with a pattern,
# and a user client.iovirt whose base64 key is written to DIR/iovirt.key
# (0600). Daemons run in the background; their pids go to DIR/pids.
# Prints "ready" when the image is there; exits non-zero otherwise.
set -euo pipefail
dir=$1 port=$2
mkdir -p "$dir"/run "$dir"/mon-a "$dir"/osd-0
# on failure, stop what was started
trap 'rc=$?; if [ $rc != 0 ] && [ -s "$dir/pids" ]; then kill $(cat "$dir/pids") 2>/dev/null; fi; exit $rc' EXIT
fsid=$(cat /proc/sys/kernel/random/uuid)
conf=$dir/ceph.conf
cat > "$conf" <<CONF
[global]
fsid = $fsid
mon_host = v1:127.0.0.1:$port
mon_initial_members = a
public_addr = 127.0.0.1
ms_bind_ipv6 = false
auth_cluster_required = cephx
auth_service_required = cephx
auth_client_required = cephx
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_crush_chooseleaf_type = 0
run_dir = $dir/run
admin_socket = $dir/run/\$name.asok
log_file = $dir/\$name.log
keyring = $dir/admin.keyring
mon_data = $dir/mon-\$id
osd_data = $dir/osd-\$id
osd_objectstore = memstore
memstore_device_bytes = 536870912
osd_max_object_name_len = 256
osd_max_object_namespace_len = 64
mon_data_avail_crit = 1
CONF
ceph-authtool --create-keyring "$dir/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-authtool --create-keyring "$dir/admin.keyring" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
ceph-authtool "$dir/mon.keyring" --import-keyring "$dir/admin.keyring" >/dev/null
monmaptool --create --add a "v1:127.0.0.1:$port" --fsid "$fsid" "$dir/monmap" >/dev/null
ceph-mon -c "$conf" --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/mon.keyring"
ceph-mon -c "$conf" -i a --pid-file "$dir/run/mon.pid"
for i in $(seq 100); do [ -s "$dir/run/mon.pid" ] && break; sleep 0.1; done
cat "$dir/run/mon.pid" >> "$dir/pids"
C="timeout 60 ceph -c $conf"
osduuid=$(cat /proc/sys/kernel/random/uuid)
id=$($C osd new "$osduuid")
ceph-authtool --create-keyring "$dir/osd-$id/keyring" --gen-key -n "osd.$id" >/dev/null
$C auth add "osd.$id" osd 'allow *' mon 'allow profile osd' -i "$dir/osd-$id/keyring"
ceph-osd -c "$conf" -i "$id" --mkfs --osd-uuid "$osduuid" --keyring "$dir/osd-$id/keyring" 2>/dev/null
ceph-osd -c "$conf" -i "$id" --keyring "$dir/osd-$id/keyring" --pid-file "$dir/run/osd.pid"
for i in $(seq 100); do [ -s "$dir/run/osd.pid" ] && break; sleep 0.1; done
cat "$dir/run/osd.pid" >> "$dir/pids"
$C osd pool create iovirt 8 8 >/dev/null
$C osd pool set iovirt size 1 --yes-i-really-mean-it >/dev/null
$C osd pool application enable iovirt rbd >/dev/null
$C auth get-or-create client.iovirt mon 'profile rbd' osd 'profile rbd pool=iovirt' >/dev/null
umask 077
$C auth print-key client.iovirt > "$dir/iovirt.key"
# the image, filled with a pattern (holes read fast and are not measured)
head -c 67108864 /dev/urandom > "$dir/pattern.raw"
timeout 120 rbd -c "$conf" import --image-format 2 "$dir/pattern.raw" iovirt/disk >/dev/null
rm -f "$dir/pattern.raw"
echo ready
