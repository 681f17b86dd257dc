"""Disks hot-plugged from Python are limited from the guest's first read:
the guest notices each new disk and measures it (iov.watch), and a daemon
killed right after an attach finds the disk and its limits again, sending
QEMU nothing. One guest serves every test, in order."""

import os
import re

import pytest

from conftest import MiB, iovirt, iovtest

LIVE = iovirt.AFFECT_LIVE
CONFIG = iovirt.AFFECT_CONFIG
PROBE_SECS = 4


class HotplugGuest:
    def __init__(self, daemon, conn):
        self.daemon = daemon
        self.images = {}
        for t in ("vda", "vdb", "vdc", "vdd"):
            path = os.path.join(daemon.tmp, "hp-%s.img" % t)
            iovtest.make_image(path, 64 * MiB)
            self.images[t] = path
        # vda is in group 'shared' from boot; the guest reads each new disk
        vda = iovtest.file_disk("vda", self.images["vda"],
                                "<iothrottle group='shared' bps_rd='%d'/>"
                                "<throttlefilters><throttlefilter group='cap'/></throttlefilters>"
                                % (3 * MiB))
        self.serial_path = os.path.join(daemon.tmp, "hp-serial.log")
        xml = iovtest.guest_xml("hp", [vda], self.serial_path,
                                watch="read:@:bs=64k:time=%d" % PROBE_SECS)
        # a declared group the boot disk passes through
        xml = xml.replace("  <devices>", "  <throttlegroups><throttlegroup name='cap' bps_rd='%d'/>"
                          "</throttlegroups>\n  <devices>" % (2 * MiB))
        self.dom = conn.defineXML(xml)
        self.serial = iovtest.Serial(self.serial_path)

    def disk(self, target, limits=""):
        return iovtest.file_disk(target, self.images[target], limits)

    def mark(self):
        """The serial log's line count now."""
        self.serial.poll()
        return len(self.serial.lines)

    def measure_new_disk(self, target, since):
        """The samples of the probe the guest runs on the disk it noticed
        after line `since`: [(sec, bytes/s)]."""
        added = self.serial.wait_line("GUEST-DISK-ADDED %s=" % target, start=since, timeout=30)
        begin = self.serial.wait_line("IOVPROBE-BEGIN job=0 op=read dev=%s " % target, start=added,
                                      timeout=30)
        end = self.serial.wait_line("IOVPROBE-DONE", start=begin, timeout=60)
        rates = []
        for line in self.serial.lines[begin:end]:
            m = re.match(r"^IOVPROBE-SAMPLE job=0 sec=(\d+) dt=([0-9.]+) bytes=(\d+)", line)
            if m:
                rates.append((int(m.group(1)), int(m.group(3)) / float(m.group(2))))
        assert len(rates) == PROBE_SECS, self.serial.lines[begin:end]
        return rates


@pytest.fixture(scope="module")
def hp(daemon, conn):
    g = HotplugGuest(daemon, conn)
    g.dom.create()
    g.serial.wait_line("GUEST-READY", timeout=60)
    yield g
    try:
        if g.dom.isActive():
            g.dom.destroy()
    except iovirt.Error:
        pass


def assert_limited_from_first_read(what, rates, limit):
    # the first second is already at the limit (a little above: QEMU's
    # bucket lets a tenth of a second through at once), then in the band
    first = rates[0][1]
    assert first <= 1.2 * limit, "%s: first second at %.0f/s, limit %.0f/s" % (what, first, limit)
    iovtest.assert_rate(what, sum(r for _, r in rates) / len(rates), limit)


def test_attached_disk_is_limited_from_its_first_read(hp, conn):
    since = hp.mark()
    seen = []
    cb = conn.domainEventRegisterAny(None, iovirt.DOMAIN_EVENT_ID_DEVICE_ADDED,
                                     lambda c, d, alias, o: seen.append((d.name(), alias)))
    assert hp.dom.attachDeviceFlags(hp.disk("vdb", "<iothrottle bps_rd='%d'/>" % (4 * MiB)), LIVE) == 0
    iovtest.wait_for(lambda: seen, timeout=10, what="the device-added event")
    assert seen == [("hp", "disk-vdb")]
    conn.domainEventDeregisterAny(cb)
    rates = hp.measure_new_disk("vdb", since)
    assert_limited_from_first_read("vdb attached at bps_rd 4 MiB/s", rates, 4 * MiB)
    assert hp.dom.blockIoThrottle("vdb")["bps_rd"] == 4 * MiB
    assert "hp-vdb.img" in hp.dom.XMLDesc()
    # not in the persistent definition: it was attached live only
    assert "hp-vdb.img" not in hp.dom.XMLDesc(iovirt.XML_INACTIVE)


def test_attached_disk_joining_a_group_is_held_by_it(hp):
    # no limits of its own: it takes the group's, and QEMU's group object
    since = hp.mark()
    assert hp.dom.attachDeviceFlags(hp.disk("vdc", "<iothrottle group='shared'/>"), LIVE) == 0
    lim = hp.dom.blockIoThrottle("vdc")
    assert lim["group"] == "shared" and lim["bps_rd"] == 3 * MiB
    rates = hp.measure_new_disk("vdc", since)
    assert_limited_from_first_read("vdc in group 'shared' at 3 MiB/s", rates, 3 * MiB)
    # a change through the boot disk changes the hot-plugged member too
    assert hp.dom.setBlockIoThrottle("vda", {"bps_rd": 2 * MiB}, LIVE) is None
    assert hp.dom.blockIoThrottle("vdc")["bps_rd"] == 2 * MiB


def test_attached_disk_through_a_declared_group_is_held_by_it(hp):
    # the boot disk's declared group: its own limit is higher, the cap binds
    since = hp.mark()
    disk = hp.disk("vdd", "<iothrottle bps_rd='%d'/><throttlefilters>"
                   "<throttlefilter group='cap'/></throttlefilters>" % (8 * MiB))
    assert hp.dom.attachDeviceFlags(disk, LIVE) == 0
    assert "<throttlefilter group=\"cap\"/>" in hp.dom.XMLDesc()
    rates = hp.measure_new_disk("vdd", since)
    assert_limited_from_first_read("vdd through declared group 'cap' at 2 MiB/s", rates, 2 * MiB)
    assert hp.dom.detachDeviceFlags(disk, LIVE) == 0
    # a filter naming no declared group is refused, and nothing changes
    xml = hp.dom.XMLDesc()
    with pytest.raises(iovirt.Error) as e:
        hp.dom.attachDeviceFlags(hp.disk("vdd", "<throttlefilters><throttlefilter group='nosuch'/>"
                                         "</throttlefilters>"), LIVE)
    assert "throttle filter group 'nosuch' is not declared in <throttlegroups>" in str(e.value)
    assert hp.dom.XMLDesc() == xml


def test_update_device_sets_the_documents_limits(hp):
    assert hp.dom.updateDeviceFlags(hp.disk("vdb", "<iothrottle iops_rd='50'/>"), LIVE) == 0
    lim = hp.dom.blockIoThrottle("vdb")
    assert lim["iops_rd"] == 50 and lim["bps_rd"] == 0
    with pytest.raises(iovirt.Error) as e:
        hp.dom.updateDeviceFlags(hp.disk("vdb", "<readonly/>"), LIVE)
    assert "disk 'vdb' of domain 'hp': its readonly cannot be changed by an update" in str(e.value)


def test_detach_removes_the_disk(hp, conn):
    seen = []
    cb = conn.domainEventRegisterAny(hp.dom, iovirt.DOMAIN_EVENT_ID_DEVICE_REMOVED,
                                     lambda c, d, alias, o: seen.append((d.name(), alias)))
    try:
        assert hp.dom.detachDeviceFlags(hp.disk("vdc"), LIVE) == 0
        iovtest.wait_for(lambda: seen, timeout=10, what="the device-removed event")
        assert seen == [("hp", "disk-vdc")]
    finally:
        conn.domainEventDeregisterAny(cb)
    hp.serial.wait_line("GUEST-DISK-REMOVED vdc", timeout=30)
    assert "hp-vdc.img" not in hp.dom.XMLDesc()
    with pytest.raises(iovirt.Error) as e:
        hp.dom.blockIoThrottle("vdc")
    assert "disk 'vdc' not found in the live definition of domain 'hp'" in str(e.value)
    with pytest.raises(iovirt.Error) as e:
        hp.dom.detachDeviceAlias("disk-vdc", LIVE)
    assert "disk 'vdc' not found" in str(e.value)


def test_a_pc_guest_hot_plugs_on_its_pci_bus(daemon, conn):
    """machine type pc has no PCI Express: its PCI bus hot-plugs itself."""
    vda = iovtest.make_image(os.path.join(daemon.tmp, "pc-vda.img"), 16 * MiB, 0)
    vdb = iovtest.make_image(os.path.join(daemon.tmp, "pc-vdb.img"), 64 * MiB)
    serial_path = os.path.join(daemon.tmp, "pc-serial.log")
    xml = iovtest.guest_xml("hppc", [iovtest.file_disk("vda", vda)], serial_path,
                            watch="read:@:bs=64k:time=%d" % PROBE_SECS)
    xml = xml.replace("<os>", "<os>\n    <type machine='pc'>hvm</type>")
    dom = conn.defineXML(xml)
    serial = iovtest.Serial(serial_path)
    dom.create()
    try:
        serial.wait_line("GUEST-READY", timeout=60)
        disk = iovtest.file_disk("vdb", vdb, "<iothrottle bps_rd='%d'/>" % (4 * MiB))
        assert dom.attachDeviceFlags(disk, LIVE) == 0
        added = serial.wait_line("GUEST-DISK-ADDED vdb=", timeout=30)
        end = serial.wait_line("IOVPROBE-DONE", start=added, timeout=60)
        rates = [int(m.group(2)) / float(m.group(1)) for m in
                 (re.match(r"^IOVPROBE-SAMPLE job=0 sec=\d+ dt=([0-9.]+) bytes=(\d+)", l)
                  for l in serial.lines[added:end]) if m]
        assert len(rates) == PROBE_SECS
        assert_limited_from_first_read("vdb hot-plugged into a pc guest at 4 MiB/s",
                                       [(i + 1, r) for i, r in enumerate(rates)], 4 * MiB)
        assert dom.detachDeviceFlags(disk, LIVE) == 0
        serial.wait_line("GUEST-DISK-REMOVED vdb", start=end, timeout=30)
    finally:
        dom.destroy()


def test_daemon_killed_after_an_attach_finds_the_disk_again(hp, daemon, conn):
    assert hp.dom.detachDeviceAlias("disk-vdb", LIVE) == 0
    since = hp.mark()
    assert hp.dom.attachDeviceFlags(hp.disk("vdb", "<iothrottle bps_rd='%d'/>" % (5 * MiB)), LIVE) == 0
    daemon.kill()
    offset = os.path.getsize(daemon.log_file)
    # its sockets stay behind: the next daemon replaces them
    for sock in (daemon.sock, daemon.sock_ro):
        os.unlink(sock)
    daemon.start()
    c2 = iovirt.open(daemon.uri)
    try:
        dom = c2.lookupByName("hp")
        assert dom.blockIoThrottle("vdb")["bps_rd"] == 5 * MiB
        assert "hp-vdb.img" in dom.XMLDesc()
        with open(daemon.log_file) as f:
            f.seek(offset)
            sent = re.findall(r"sending '([\w-]+)'", f.read())
        assert sent, "the restarted daemon logged no QMP command"
        assert not set(sent) & {"object-add", "qom-set", "blockdev-add", "device_add", "device_del"}, sent
        # and the guest still reads it at its limit
        rates = hp.measure_new_disk("vdb", since)
        assert_limited_from_first_read("vdb at 5 MiB/s across a daemon restart", rates, 5 * MiB)
        assert dom.detachDeviceFlags(hp.disk("vdb"), LIVE) == 0
    finally:
        c2.close()

