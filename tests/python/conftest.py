"""Fixtures shared by the tests of the iovirt Python module.

Each test file gets its own session daemon (tests/lib/iovtest.py) in a
private temporary directory; guests are defined in it with images and
serial logs under that directory, and are shared by the tests of a file.
Every daemon and every QEMU is killed when the file ends, also on failure
(module fixtures' teardown, and iovtest's atexit and SIGTERM handlers).
"""

import os
import sys
import time

import pytest

_HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("IOVIRT_SOURCE_DIR", os.path.abspath(os.path.join(_HERE, "..", "..")))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "lib"))

import iovtest  # noqa: E402

if iovtest.PYTHON_MODULE_DIR not in sys.path:
    sys.path.insert(0, iovtest.PYTHON_MODULE_DIR)

import iovirt  # noqa: E402

MiB = iovtest.MiB


@pytest.fixture(scope="module")
def daemon():
    """A session daemon for the whole test file."""
    d = iovtest.Daemon().start()
    yield d
    d.cleanup()


@pytest.fixture(scope="module")
def conn(daemon):
    """A read-write connection to the file's daemon."""
    c = iovirt.open(daemon.uri)
    yield c
    c.close()


@pytest.fixture(scope="module")
def roconn(daemon):
    """A read-only connection to the file's daemon."""
    c = iovirt.openReadOnly(daemon.uri_ro)
    yield c
    c.close()


class Guest:
    """A guest defined in a test daemon: its Domain, its images and its
    serial log."""

    def __init__(self, daemon, conn, name, disks=("vda",), throttle=None, probe="",
                 after="idle", filled=False, size=16 * MiB, extra_disk_xml=None):
        self.daemon = daemon
        self.name = name
        self.images = {}
        throttle = throttle or {}
        extra_disk_xml = extra_disk_xml or {}
        elements = []
        for target in disks:
            path = os.path.join(daemon.tmp, "%s-%s.img" % (name, target))
            iovtest.make_image(path, size, filled=None if filled else 0)
            self.images[target] = path
            limits = throttle.get(target)
            th = ""
            if limits:
                th = "<iothrottle %s/>" % " ".join("%s='%s'" % kv for kv in limits.items())
            th += extra_disk_xml.get(target, "")
            elements.append(iovtest.file_disk(target, path, th))
        self.serial_path = os.path.join(daemon.tmp, name + "-serial.log")
        self.xml = iovtest.guest_xml(name, elements, self.serial_path, probe=probe, after=after)
        self.dom = conn.defineXML(self.xml)
        self.serial = iovtest.Serial(self.serial_path)

    def start(self, flags=0, wait_ready=True):
        """Start the guest and (unless paused) wait for GUEST-READY."""
        self.serial.poll()
        start = len(self.serial.lines)
        self.dom.create(flags)
        if wait_ready and not flags & iovirt.START_PAUSED:
            self.serial.wait_line("GUEST-READY", start=start, timeout=60)
        return self

    def stop(self):
        """Destroy the guest if it runs (for teardown)."""
        try:
            if self.dom.isActive():
                self.dom.destroy()
        except iovirt.Error:
            pass


def wait_state(dom, state, timeout=30):
    """Wait until dom.state()[0] == state; return [state, reason]."""
    deadline = time.monotonic() + timeout
    while True:
        st = dom.state()
        if st[0] == state:
            return st
        if time.monotonic() > deadline:
            raise TimeoutError("domain %s stayed in state %r, not %d" % (dom.name(), st, state))
        time.sleep(0.05)


# libvirt's names of the throttle fields, in the order its qemu driver
# returns them (reference: libvirt-protocol.md, section 12.2)
LIBVIRT_ORDER = [
    "total_bytes_sec", "read_bytes_sec", "write_bytes_sec",
    "total_iops_sec", "read_iops_sec", "write_iops_sec",
    "total_bytes_sec_max", "read_bytes_sec_max", "write_bytes_sec_max",
    "total_iops_sec_max", "read_iops_sec_max", "write_iops_sec_max",
    "size_iops_sec", "group_name",
    "total_bytes_sec_max_length", "read_bytes_sec_max_length", "write_bytes_sec_max_length",
    "total_iops_sec_max_length", "read_iops_sec_max_length", "write_iops_sec_max_length",
]

# iovirt's names, in table order (docs/formatdomain.md)
IOVIRT_ORDER = [
    "bps", "bps_rd", "bps_wr", "iops", "iops_rd", "iops_wr",
    "bps_max", "bps_rd_max", "bps_wr_max", "iops_max", "iops_rd_max", "iops_wr_max",
    "bps_max_length", "bps_rd_max_length", "bps_wr_max_length",
    "iops_max_length", "iops_rd_max_length", "iops_wr_max_length",
    "iops_size", "group",
]

ALIAS = dict(zip(
    ["bps", "bps_rd", "bps_wr", "iops", "iops_rd", "iops_wr",
     "bps_max", "bps_rd_max", "bps_wr_max", "iops_max", "iops_rd_max", "iops_wr_max",
     "iops_size", "group",
     "bps_max_length", "bps_rd_max_length", "bps_wr_max_length",
     "iops_max_length", "iops_rd_max_length", "iops_wr_max_length"],
    LIBVIRT_ORDER))


def unlimited():
    """The limits of a disk with none, under iovirt's names."""
    d = {k: 0 for k in IOVIRT_ORDER}
    d["group"] = ""
    return d
