"""A limit set from Python is in force in the guest: the guest's own
measurement (iovprobe on its serial port) follows it."""

import pytest

from conftest import MiB, Guest, iovirt, iovtest

LIVE = iovirt.AFFECT_LIVE


@pytest.fixture(scope="module")
def rg(daemon, conn):
    """A guest reading vda for 14 s, 64 KiB at a time, as soon as it is
    ready; started paused so that its limit is set before it runs."""
    g = Guest(daemon, conn, "rg", filled=True, size=64 * MiB,
              probe="read:vda:bs=64k:time=14")
    yield g
    g.stop()


def test_limits_set_from_python_are_in_force_in_the_guest(rg):
    assert rg.dom.create(iovirt.START_PAUSED) == 0
    assert rg.dom.setBlockIoThrottle("vda", {"bps_rd": 2 * MiB}, LIVE) is None
    assert rg.dom.blockIoThrottle("vda")["bps_rd"] == 2 * MiB
    assert rg.dom.resume() == 0

    # seconds 2..5 of the probe run at the limit set before it started
    rg.serial.wait_sample(0, 5, timeout=90)
    iovtest.assert_rate("read at bps_rd 2 MiB/s", rg.serial.rate(0, first=2, last=5), 2 * MiB)

    # raised while it runs, through libvirt-python's shape this time
    assert rg.dom.setBlockIoTune("vda", {"read_bytes_sec": 4 * MiB}, LIVE) == 0
    changed_at = max(s[1] for s in rg.serial.samples if s[0] == 0)
    rg.serial.wait_sample(0, 14, timeout=90)
    iovtest.assert_rate("read at read_bytes_sec 4 MiB/s",
                        rg.serial.rate(0, first=changed_at + 2, last=14), 4 * MiB)
    # the guest's reads are in the statistics too
    assert rg.dom.blockStats("vda")[1] >= 30 * MiB
