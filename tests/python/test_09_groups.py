"""Stacked limits: four disks, each at 8 MiB/s of its own, all passing
through one declared group. The guest reads the four at once and its own
measurement (iovprobe) shows the group's cap on their sum; raising the
group live lets the sum rise to the disks' own bound. The same guest is
then defined from a libvirt 11 document through the real virsh, and
survives a SIGKILL of the daemon with its chains in force and nothing
resent. One guest boots once for the rate checks."""

import os
import re
import shutil
import subprocess

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


def stacked_xml(daemon, name, probe_jobs, cap=CAP):
    disks = []
    for d in DISKS:
        path = os.path.join(daemon.tmp, "%s-%s.img" % (name, d))
        if not os.path.exists(path):
            iovtest.make_image(path, 32 * MiB)
        disks.append(iovtest.file_disk(
            d, path, "<iothrottle bps_rd='%d'/><throttlefilters><throttlefilter group='cap'/>"
            "</throttlefilters>" % PER_DISK))
    serial = os.path.join(daemon.tmp, name + "-serial.log")
    xml = iovtest.guest_xml(name, disks, serial, probe=probe_jobs, after="idle")
    xml = xml.replace("  <devices>\n", "  <throttlegroups><throttlegroup name='cap' bps_rd='%d'/>"
                      "</throttlegroups>\n  <devices>\n" % cap, 1)
    return xml, serial


def sum_rate(serial, first, last):
    return sum(serial.rate(j, first=first, last=last) for j in range(len(DISKS)))


def last_sample(serial):
    serial.poll()
    return max([s[1] for s in serial.samples if s[0] == 0] or [0])


@pytest.fixture(scope="module")
def stacked(daemon, conn):
    xml, serial_path = stacked_xml(daemon, "stacked", probe(40))
    dom = conn.defineXML(xml)
    serial = iovtest.Serial(serial_path)
    yield dom, serial
    try:
        if dom.isActive():
            dom.destroy()
    except iovirt.Error:
        pass


def test_four_disks_under_a_group_hold_its_cap_from_the_start(stacked):
    dom, serial = stacked
    assert dom.create(0) == 0
    serial.wait_sample(0, 6, timeout=120)
    for j in range(len(DISKS)):
        serial.wait_sample(j, 6, timeout=30)
    # each disk alone could read 8 MiB/s: the sum is the group's 10
    iovtest.assert_rate("four disks under a 10 MiB/s group", sum_rate(serial, 2, 6), CAP)
