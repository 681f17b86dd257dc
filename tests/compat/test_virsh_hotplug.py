"""The real virsh (libvirt-clients 9.0) plugs disks into a running guest of
iovirtd and takes them out: attach-device, detach-device, update-device,
detach-device-alias and change-media, with --live and --config and
libvirt's <iotune>, and the device-added / device-removed events."""

import os
import re
import subprocess
import time

import pytest

import iovtest

MiB = iovtest.MiB


def virsh(daemon, *args, check=True):
    p = subprocess.run(["virsh", "-q", "-c", daemon.libvirt_uri] + list(args),
                       capture_output=True, text=True, timeout=60)
    if check and p.returncode != 0:
        raise AssertionError("virsh %s failed: %s" % (" ".join(args), p.stderr))
    return p


@pytest.fixture(scope="module")
def hpv(daemon):
    vda = iovtest.make_image(os.path.join(daemon.tmp, "hpv-a.img"), 16 * MiB, 0)
    vdb = iovtest.make_image(os.path.join(daemon.tmp, "hpv-b.img"), 16 * MiB, 0)
    serial = os.path.join(daemon.tmp, "hpv-serial.log")
    cdrom = ("    <disk type='file' device='cdrom'><target dev='sda' bus='sata'/>"
             "<iothrottle bps_rd='1048576'/></disk>\n")
    xml = iovtest.guest_xml("hpv", [iovtest.file_disk("vda", vda), cdrom], serial, watch="none")
    path = os.path.join(daemon.tmp, "hpv.xml")
    with open(path, "w") as f:
        f.write(xml)
    virsh(daemon, "define", path)
    virsh(daemon, "start", "hpv")
    for pid in daemon.qemu_pids():
        iovtest.kill_at_exit(pid)
    s = iovtest.Serial(serial)
    s.wait_line("GUEST-READY", timeout=60)
    # a disk in libvirt's words, as virsh users write it
    disk = os.path.join(daemon.tmp, "hpv-disk.xml")
    with open(disk, "w") as f:
        f.write("<disk type='file' device='disk'>\n"
                "  <driver name='qemu' type='raw' cache='none' io='native'/>\n"
                "  <source file='%s'/>\n"
                "  <target dev='vdb' bus='virtio'/>\n"
                "  <iotune><read_bytes_sec>3145728</read_bytes_sec></iotune>\n"
                "</disk>\n" % vdb)
    yield {"serial": s, "disk": disk, "image": vdb}
    virsh(daemon, "destroy", "hpv", check=False)


def mark(hpv):
    hpv["serial"].poll()
    return len(hpv["serial"].lines)


def tune(daemon, disk, *flags):
    out = virsh(daemon, "blkdeviotune", "hpv", disk, *flags).stdout
    return dict(re.findall(r"^(\w+)\s*: (.*)$", out, re.M))


def event(daemon, name):
    """virsh event waiting for one `name` event of hpv (started now)."""
    p = subprocess.Popen(["virsh", "-q", "-c", daemon.libvirt_uri, "event", "hpv", "--event", name,
                          "--timeout", "30"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    time.sleep(1)  # registered before the change
    return p


def test_attach_device_live_and_config_with_iotune(daemon, hpv):
    ev = event(daemon, "device-added")
    since = mark(hpv)
    virsh(daemon, "attach-device", "hpv", hpv["disk"], "--live", "--config")
    out, err = ev.communicate(timeout=40)
    assert "event 'device-added' for domain 'hpv': disk-vdb" in out, (out, err)
    hpv["serial"].wait_line("GUEST-DISK-ADDED vdb=", start=since, timeout=30)
    assert tune(daemon, "vdb", "--live")["read_bytes_sec"] == "3145728"
    assert tune(daemon, "vdb", "--config")["read_bytes_sec"] == "3145728"
    # shown back in libvirt's words
    assert re.search(r"<target dev=.vdb. bus=.virtio./>\s*<iotune>\s*<read_bytes_sec>3145728",
                     virsh(daemon, "dumpxml", "hpv").stdout)
    # a taken target, and what virsh says of it
    p = virsh(daemon, "attach-device", "hpv", hpv["disk"], "--live", check=False)
    assert p.returncode == 1
    assert "target 'vdb' is already used by a disk in the live definition of domain 'hpv'" in p.stderr


def test_update_device_changes_the_limits(daemon, hpv):
    upd = os.path.join(daemon.tmp, "hpv-update.xml")
    with open(upd, "w") as f:
        f.write(open(hpv["disk"]).read().replace(
            "<read_bytes_sec>3145728</read_bytes_sec>", "<total_iops_sec>400</total_iops_sec>"))
    virsh(daemon, "update-device", "hpv", upd, "--live", "--config")
    for flag in ("--live", "--config"):
        t = tune(daemon, "vdb", flag)
        assert t["total_iops_sec"] == "400" and t["read_bytes_sec"] == "0", t
    # a new source cannot be given by an update
    other = os.path.join(daemon.tmp, "hpv-other.xml")
    with open(other, "w") as f:
        f.write(open(upd).read().replace(hpv["image"], "/tmp/elsewhere.img"))
    p = virsh(daemon, "update-device", "hpv", other, "--live", check=False)
    assert p.returncode == 1
    assert "its source cannot be changed by an update" in p.stderr


def test_detach_device_live_and_config(daemon, hpv):
    ev = event(daemon, "device-removed")
    since = mark(hpv)
    virsh(daemon, "detach-device", "hpv", hpv["disk"], "--live", "--config")
    out, err = ev.communicate(timeout=40)
    assert "event 'device-removed' for domain 'hpv': disk-vdb" in out, (out, err)
    hpv["serial"].wait_line("GUEST-DISK-REMOVED vdb", start=since, timeout=30)
    assert "hpv-b.img" not in virsh(daemon, "dumpxml", "hpv").stdout
    assert "hpv-b.img" not in virsh(daemon, "dumpxml", "hpv", "--inactive").stdout


def test_detach_device_alias(daemon, hpv):
    since = mark(hpv)
    virsh(daemon, "attach-device", "hpv", hpv["disk"], "--live")
    hpv["serial"].wait_line("GUEST-DISK-ADDED vdb=", start=since, timeout=30)
    # libvirt 9.0's virsh sends it as procedure 392
    virsh(daemon, "detach-device-alias", "hpv", "disk-vdb", "--live")
    assert "hpv-b.img" not in virsh(daemon, "dumpxml", "hpv").stdout


def test_change_media(daemon, hpv):
    iso1 = iovtest.make_image(os.path.join(daemon.tmp, "hpv-1.iso"), 4 * MiB, 0)
    iso2 = iovtest.make_image(os.path.join(daemon.tmp, "hpv-2.iso"), 4 * MiB, 0)
    virsh(daemon, "change-media", "hpv", "sda", iso1, "--insert", "--live", "--config")
    assert "hpv-1.iso" in virsh(daemon, "dumpxml", "hpv").stdout
    assert "hpv-1.iso" in virsh(daemon, "dumpxml", "hpv", "--inactive").stdout
    virsh(daemon, "change-media", "hpv", "sda", iso2, "--update", "--live")
    live = virsh(daemon, "dumpxml", "hpv").stdout
    assert "hpv-2.iso" in live and "hpv-1.iso" not in live
    # the cdrom keeps its limits through the changes
    assert tune(daemon, "sda", "--live")["read_bytes_sec"] == "1048576"
    virsh(daemon, "change-media", "hpv", "sda", "--eject", "--live", "--config")
    assert ".iso" not in virsh(daemon, "dumpxml", "hpv").stdout
    assert ".iso" not in virsh(daemon, "dumpxml", "hpv", "--inactive").stdout
    assert tune(daemon, "sda", "--live")["read_bytes_sec"] == "1048576"
