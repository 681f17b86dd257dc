"""Fixtures for the compatibility tests: a session iovirtd with one guest
that reads its disk for a long time, shared by every test of a module."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import iovtest  # noqa: E402


@pytest.fixture(scope="module")
def daemon():
    d = iovtest.Daemon().start()
    yield d
    d.cleanup()


@pytest.fixture(scope="module")
def guest(daemon):
    """A running guest 'compat1': vda limited to 2 MiB/s of reads, read
    by the guest for 120 s; vdb unlimited."""
    import subprocess
    img_a = iovtest.make_image(os.path.join(daemon.tmp, "compat-a.img"))
    img_b = iovtest.make_image(os.path.join(daemon.tmp, "compat-b.img"), 16 * iovtest.MiB, 0)
    serial = os.path.join(daemon.tmp, "compat1-serial.log")
    xml = iovtest.guest_xml(
        "compat1",
        [iovtest.file_disk("vda", img_a, "<iothrottle bps_rd='2097152'/>"),
         iovtest.file_disk("vdb", img_b)],
        serial, probe="read:vda:bs=64k:time=120", after="idle")
    path = os.path.join(daemon.tmp, "compat1.xml")
    with open(path, "w") as f:
        f.write(xml)
    subprocess.run(["virsh", "-c", daemon.libvirt_uri, "define", path], check=True,
                   capture_output=True)
    return {"name": "compat1", "serial": iovtest.Serial(serial), "xml": path,
            "image": img_a}
