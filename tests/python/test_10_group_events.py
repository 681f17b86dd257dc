"""A live change of a named throttle group sends a tunable event for each
disk whose own limits follow it (the disks that joined it with group=),
over a daemon whose guest runs under fake-qemu; the disks that only pass
through the group keep their own limits and send none."""

import os
import threading

import pytest

import iovirt
import iovtest

FAKE_QEMU = os.path.join(iovtest.BUILD_DIR, "tests", "fake-qemu")

XML = ("<domain type='qemu'><name>ev1</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
       "<os><type>hvm</type><kernel>/nonexistent/kernel</kernel></os>"
       "<throttlegroups><throttlegroup name='shared' bps='1000'/>"
       "<throttlegroup name='cap' bps_rd='9000'/></throttlegroups><devices>"
       "<disk type='file'><source file='/nonexistent/a.img'/><target dev='vda'/>"
       "<iothrottle group='shared'/></disk>"
       "<disk type='file'><source file='/nonexistent/b.img'/><target dev='vdb'/>"
       "<iothrottle group='shared'/></disk>"
       "<disk type='file'><source file='/nonexistent/c.img'/><target dev='vdc'/>"
       "<iothrottle bps_rd='500'/><throttlefilters><throttlefilter group='cap'/>"
       "<throttlefilter group='shared'/></throttlefilters></disk>"
       "</devices></domain>")


@pytest.fixture(scope="module")
def daemon():
    d = iovtest.Daemon(config={"qemu_binary": FAKE_QEMU}).start()
    yield d
    d.cleanup()


def test_a_group_change_sends_a_tunable_event_per_member(daemon):
    conn = iovirt.open(daemon.uri)
    seen = []
    lock = threading.Lock()

    def tunable(c, dom, params, opaque):
        with lock:
            seen.append((params["blkdeviotune.disk"], params["blkdeviotune.total_bytes_sec"]))

    cid = conn.domainEventRegisterAny(None, iovirt.DOMAIN_EVENT_ID_TUNABLE, tunable)
    dom = conn.defineXML(XML)
    # shut off: CURRENT is the saved definition, LIVE an error
    assert dom.listThrottleGroups() == ["shared", "cap"]
    with pytest.raises(iovirt.Error) as e:
        dom.setThrottleGroup("cap", {"bps_rd": 1}, iovirt.AFFECT_LIVE)
    assert "domain 'ev1' is not running" in str(e.value)
    dom.create()
    with pytest.raises(iovirt.Error) as e:
        dom.throttleGroup("cap", iovirt.AFFECT_LIVE | iovirt.AFFECT_CONFIG)
    assert "read separately" in str(e.value)
    with pytest.raises(ValueError):
        dom.setThrottleGroup("cap", {"nope": 1})
    with pytest.raises(iovirt.Error) as e:
        dom.setThrottleGroup("cap", {"group": "x"})
    assert "a group's limits have no group field" in str(e.value)
    try:
        # the declared limits were given to both members at define
        assert dom.blockIoThrottle("vda")["bps"] == 1000
        dom.setThrottleGroup("shared", {"bps": 5000}, iovirt.AFFECT_LIVE)
        iovtest.wait_for(lambda: len(seen) >= 2, timeout=10, what="two tunable events")
        assert sorted(seen) == [("vda", 5000), ("vdb", 5000)]
        assert dom.blockIoThrottle("vdb", iovirt.AFFECT_LIVE)["bps"] == 5000
        assert dom.blockIoThrottle("vdc", iovirt.AFFECT_LIVE)["bps_rd"] == 500
        # a change of a group no member joined by group= sends none
        dom.setThrottleGroup("cap", {"bps_rd": 8000}, iovirt.AFFECT_LIVE)
        dom.setBlockIoThrottle("vdc", {"bps_rd": 600}, iovirt.AFFECT_LIVE)
        iovtest.wait_for(lambda: len(seen) >= 3, timeout=10, what="vdc's own event")
        assert seen[2:] == [("vdc", 0)]
    finally:
        conn.domainEventDeregisterAny(cid)
        dom.destroy()
        conn.close()
