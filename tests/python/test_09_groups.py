"""Stacked limits against the real QEMU: four disks, each at 8 MiB/s of its
own, all passing through one declared group. The guest reads the four at
once and its own measurement (iovprobe) shows the group's cap on their
sum; raising the group live lets the sum rise to the disks' own bound.
The daemon is then SIGKILLed and restarted under the running guest: the
chains stay in force and nothing is resent. The same guest is defined
from a libvirt 11 document through the real virsh. Every validation error
of the model is checked on the way, changing nothing. One guest boots for
the rate checks, and the virsh-defined one after it."""

import os
import re
import subprocess
import time

import pytest

from conftest import MiB, iovirt, iovtest

LIVE = iovirt.AFFECT_LIVE
CONFIG = iovirt.AFFECT_CONFIG
DISKS = ("vda", "vdb", "vdc", "vdd")
PER_DISK = 8 * MiB
CAP = 10 * MiB
RAISED = 40 * MiB


def probe(seconds):
    return ",".join("read:%s:bs=256k:time=%d" % (d, seconds) for d in DISKS)


def images(daemon, name):
    paths = []
    for d in DISKS:
        path = os.path.join(daemon.tmp, "%s-%s.img" % (name, d))
        if not os.path.exists(path):
            iovtest.make_image(path, 32 * MiB)
        paths.append(path)
    return paths


def stacked_xml(daemon, name, probe_jobs):
    """iovirt's spelling: <iothrottle> and <throttlegroup name=...>."""
    disks = [iovtest.file_disk(
        d, path, "<iothrottle bps_rd='%d'/><throttlefilters><throttlefilter group='cap'/>"
        "</throttlefilters>" % PER_DISK) for d, path in zip(DISKS, images(daemon, name))]
    serial = os.path.join(daemon.tmp, name + "-serial.log")
    xml = iovtest.guest_xml(name, disks, serial, probe=probe_jobs, after="idle")
    xml = xml.replace("  <devices>\n", "  <throttlegroups><throttlegroup name='cap' bps_rd='%d'/>"
                      "</throttlegroups>\n  <devices>\n" % CAP, 1)
    return xml, serial


def libvirt11_xml(daemon, name, probe_jobs):
    """libvirt 11's spelling: <iotune> and <throttlegroup><group_name>."""
    disks = ["    <disk type='file' device='disk'><driver name='qemu' type='raw' cache='none'/>"
             "<source file='%s'/><target dev='%s' bus='virtio'/>"
             "<iotune><read_bytes_sec>%d</read_bytes_sec></iotune>"
             "<throttlefilters><throttlefilter group='cap'/></throttlefilters></disk>\n"
             % (path, d, PER_DISK) for d, path in zip(DISKS, images(daemon, name))]
    serial = os.path.join(daemon.tmp, name + "-serial.log")
    xml = iovtest.guest_xml(name, disks, serial, probe=probe_jobs, after="idle")
    xml = xml.replace("  <devices>\n", "  <throttlegroups>\n    <throttlegroup>\n"
                      "      <group_name>cap</group_name>\n"
                      "      <read_bytes_sec>%d</read_bytes_sec>\n"
                      "    </throttlegroup>\n  </throttlegroups>\n  <devices>\n" % CAP, 1)
    return xml, serial


def sum_rate(serial, first, last):
    return sum(serial.rate(j, first=first, last=last) for j in range(len(DISKS)))


def wait_all(serial, sec, timeout=60):
    for j in range(len(DISKS)):
        serial.wait_sample(j, sec, timeout=timeout)


def last_sample(serial):
    serial.poll()
    return min(max([s[1] for s in serial.samples if s[0] == j] or [0]) for j in range(len(DISKS)))


def log_since(daemon, offset):
    with open(daemon.log_file, errors="replace") as f:
        f.seek(offset)
        return f.read()


def log_size(daemon):
    return os.path.getsize(daemon.log_file)


def virsh(daemon, *args, check=True):
    p = subprocess.run(["virsh", "-q", "-c", daemon.libvirt_uri] + list(args),
                       capture_output=True, text=True, timeout=60)
    if check and p.returncode != 0:
        raise AssertionError("virsh %s failed: %s" % (" ".join(args), p.stderr))
    return p


@pytest.fixture(scope="module")
def stacked(daemon, conn):
    xml, serial_path = stacked_xml(daemon, "stacked", probe(40))
    dom = conn.defineXML(xml)
    yield {"name": "stacked", "dom": dom, "serial": iovtest.Serial(serial_path)}
    for c in (conn,):
        try:
            d = c.lookupByName("stacked")
            if d.isActive():
                d.destroy()
        except iovirt.Error:
            pass


def test_four_disks_under_a_group_hold_its_cap_from_the_start(stacked):
    dom, serial = stacked["dom"], stacked["serial"]
    assert dom.create(0) == 0
    wait_all(serial, 6, timeout=120)
    # each disk alone could read 8 MiB/s: the sum is the group's 10
    measured = sum_rate(serial, 2, 6)
    print("sum under the 10 MiB/s group: %.2f MiB/s" % (measured / MiB))
    iovtest.assert_rate("four disks under a 10 MiB/s group", measured, CAP)
    assert dom.listThrottleGroups() == ["cap"]
    assert dom.throttleGroup("cap")["bps_rd"] == CAP


def test_raising_the_group_live_lets_the_sum_rise_to_the_disks_bound(daemon, stacked):
    dom, serial = stacked["dom"], stacked["serial"]
    before = log_size(daemon)
    assert dom.setThrottleGroup("cap", {"bps_rd": RAISED}, LIVE) is None
    changed_at = last_sample(serial)
    log = log_since(daemon, before)
    # one qom-set (of the group object): nothing else is sent
    assert len(re.findall(r"sending '", log)) == 1, log
    assert "sending 'qom-set'" in log, log
    assert dom.throttleGroup("cap", LIVE)["bps_rd"] == RAISED
    # the persistent definition did not change
    assert dom.throttleGroup("cap", CONFIG)["bps_rd"] == CAP
    wait_all(serial, changed_at + 6)
    measured = sum_rate(serial, changed_at + 2, changed_at + 6)
    print("sum under the 40 MiB/s group: %.2f MiB/s" % (measured / MiB))
    iovtest.assert_rate("four disks at 8 MiB/s each under a 40 MiB/s group", measured,
                        len(DISKS) * PER_DISK)
    stacked["raised_at"] = changed_at


def test_an_unchanged_group_is_not_resent(daemon, stacked):
    dom = stacked["dom"]
    before = log_size(daemon)
    assert dom.setThrottleGroup("cap", {"bps_rd": RAISED}, LIVE) is None
    assert "qom-set" not in log_since(daemon, before)


def test_invalid_group_limits_are_refused_and_change_nothing(daemon, stacked):
    dom = stacked["dom"]
    before = log_size(daemon)
    with pytest.raises(iovirt.Error) as e:
        dom.setThrottleGroup("cap", {"bps": 1000, "bps_rd": 500}, LIVE)
    assert "group 'cap': bps (1000) and bps_rd (500) cannot both be set" in str(e.value)
    with pytest.raises(iovirt.Error) as e:
        dom.setThrottleGroup("cap", {"bps_rd": 2000, "bps_rd_max": 1000}, LIVE | CONFIG)
    assert "group 'cap': bps_rd_max (1000) must not be below bps_rd (2000)" in str(e.value)
    with pytest.raises(iovirt.Error) as e:
        dom.setThrottleGroup("a b", {"bps": 1000}, LIVE)
    assert "throttle group 'a b': a name must be 1 to 64 characters" in str(e.value)
    assert "qom-set" not in log_since(daemon, before)
    assert dom.throttleGroup("cap", LIVE)["bps_rd"] == RAISED
    assert dom.throttleGroup("cap", CONFIG)["bps_rd"] == CAP


def test_a_group_a_disk_names_cannot_be_deleted(daemon, stacked):
    dom = stacked["dom"]
    for flags in (LIVE, CONFIG):
        with pytest.raises(iovirt.Error) as e:
            dom.delThrottleGroup("cap", flags)
        assert "throttle group 'cap' is still used by disk 'vda'" in str(e.value)
    assert dom.listThrottleGroups(LIVE) == ["cap"]
    assert dom.listThrottleGroups(CONFIG) == ["cap"]


def test_a_new_group_is_added_live_and_deleted(daemon, stacked):
    dom = stacked["dom"]
    before = log_size(daemon)
    dom.setThrottleGroup("tenant", {"iops": 500}, LIVE | CONFIG)
    assert dom.listThrottleGroups(LIVE) == ["cap", "tenant"]
    assert dom.listThrottleGroups(CONFIG) == ["cap", "tenant"]
    log = log_since(daemon, before)
    assert "sending 'object-add'" in log and "qom-set" not in log, log
    before = log_size(daemon)
    dom.delThrottleGroup("tenant", LIVE | CONFIG)
    log = log_since(daemon, before)
    assert "sending 'object-del'" in log and "qom-set" not in log, log
    assert dom.listThrottleGroups(LIVE) == ["cap"]
    with pytest.raises(iovirt.Error) as e:
        dom.throttleGroup("tenant", CONFIG)
    assert "throttle group 'tenant' not found in the persistent definition" in str(e.value)


@pytest.mark.parametrize("bad, message", [
    ("<throttlefilter group='nope'/>",
     "disk 'vda': throttle filter group 'nope' is not declared in <throttlegroups>"),
    ("<throttlefilter group='cap'/><throttlefilter group='cap'/>",
     "disk 'vda': group 'cap' appears twice in its chain of throttle filters"),
])
def test_definitions_with_a_bad_chain_are_refused(daemon, conn, bad, message):
    xml, _ = stacked_xml(daemon, "bad", "")
    xml = xml.replace("<throttlefilter group='cap'/>", bad, 1)
    with pytest.raises(iovirt.Error) as e:
        conn.defineXML(xml)
    assert message in str(e.value)
    with pytest.raises(iovirt.Error):
        conn.lookupByName("bad")


def test_group_limits_that_break_qemus_rules_are_refused_at_define(daemon, conn):
    xml, _ = stacked_xml(daemon, "bad", "")
    xml = xml.replace("<throttlegroup name='cap' bps_rd='%d'/>" % CAP,
                      "<throttlegroup name='cap' bps='1000' bps_max='500'/>")
    with pytest.raises(iovirt.Error) as e:
        conn.defineXML(xml)
    assert "group 'cap': bps_max (500) must not be below bps (1000)" in str(e.value)


def test_a_killed_daemon_reconnects_with_the_chains_in_force_and_resends_nothing(daemon, stacked):
    serial = stacked["serial"]
    daemon.kill()
    offset = log_size(daemon)
    # a SIGKILLed daemon leaves its sockets behind: start waits for new ones
    for path in (daemon.sock, daemon.sock_ro):
        os.unlink(path)
    daemon.start()
    c = iovirt.open(daemon.uri)
    try:
        dom = c.lookupByName("stacked")
        assert dom.isActive()
        # read back from QEMU: the raised group, the disks' own limits
        assert dom.throttleGroup("cap", LIVE)["bps_rd"] == RAISED
        assert dom.blockIoThrottle("vdc", LIVE)["bps_rd"] == PER_DISK
        log = log_since(daemon, offset)
        # five groups read back (cap and each disk's own), nothing else sent
        assert len(re.findall(r"sending 'qom-get'", log)) == 5, log
        for cmd in ("qom-set", "object-add", "object-del", "blockdev-add", "blockdev-reopen"):
            assert "sending '%s'" % cmd not in log, cmd
        # and the guest still reads at the disks' own bound
        since = last_sample(serial) + 1
        wait_all(serial, since + 3)
        measured = sum_rate(serial, since, since + 3)
        print("sum after the restart: %.2f MiB/s" % (measured / MiB))
        iovtest.assert_rate("four disks after the daemon was killed", measured,
                            len(DISKS) * PER_DISK)
        dom.destroy()
    finally:
        c.close()


def test_a_libvirt_11_document_defines_the_same_guest_through_virsh(daemon):
    xml, serial_path = libvirt11_xml(daemon, "lv11", probe(12))
    path = os.path.join(daemon.tmp, "lv11.xml")
    with open(path, "w") as f:
        f.write(xml)
    virsh(daemon, "define", path)
    out = virsh(daemon, "dumpxml", "lv11").stdout
    # shown back in libvirt's spelling
    assert re.search(r"<throttlegroup>\s*<group_name>cap</group_name>\s*"
                     r"<read_bytes_sec>%d</read_bytes_sec>\s*</throttlegroup>" % CAP, out), out
    assert len(re.findall(r"<throttlefilter group=.cap./>", out)) == 4, out
    serial = iovtest.Serial(serial_path)
    virsh(daemon, "start", "lv11")
    try:
        wait_all(serial, 6, timeout=120)
        measured = sum_rate(serial, 2, 6)
        print("sum of the virsh-defined guest: %.2f MiB/s" % (measured / MiB))
        iovtest.assert_rate("the libvirt 11 guest under its 10 MiB/s group", measured, CAP)
    finally:
        virsh(daemon, "destroy", "lv11", check=False)
