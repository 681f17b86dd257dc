"""Events through the iovirt module (callbacks on a thread of the library,
no event loop to run) and `iovsh event`, over a daemon whose guests run
under fake-qemu: every event once, in order, with its detail and the new
limits."""

import os
import signal
import subprocess
import threading
import time

import pytest

import iovirt
import iovtest

FAKE_QEMU = os.path.join(iovtest.BUILD_DIR, "tests", "fake-qemu")


def domain_xml(name):
    return ("<domain type='qemu'><name>%s</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
            "<os><type>hvm</type><kernel>/nonexistent/kernel</kernel></os><devices>"
            "<disk type='file'><source file='/nonexistent/%s.img'/><target dev='vda'/>"
            "<iothrottle bps_rd='1000'/></disk></devices></domain>" % (name, name))


@pytest.fixture(scope="module")
def daemon():
    d = iovtest.Daemon(config={"qemu_binary": FAKE_QEMU}).start()
    yield d
    d.cleanup()


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.events = []
        self.threads = set()

    def add(self, item):
        with self.lock:
            self.events.append(item)
            self.threads.add(threading.get_ident())

    def lifecycle(self, conn, dom, event, detail, opaque):
        assert opaque == "life"
        self.add((dom.name(), "lifecycle", event, detail))

    def reboot(self, conn, dom, opaque):
        self.add((dom.name(), "reboot"))

    def tunable(self, conn, dom, params, opaque):
        self.add((dom.name(), "tunable", params["blkdeviotune.disk"],
                  params["blkdeviotune.total_bytes_sec"], params["blkdeviotune.read_bytes_sec"]))

    def of(self, name):
        with self.lock:
            return [e[1:] for e in self.events if e[0] == name]


def test_callbacks_and_iovsh_event_see_every_event_in_order(daemon):
    watch = iovirt.openReadOnly(daemon.uri)
    rec = Recorder()
    ids = [watch.domainEventRegisterAny(None, iovirt.DOMAIN_EVENT_ID_LIFECYCLE, rec.lifecycle, "life"),
           watch.domainEventRegisterAny(None, iovirt.DOMAIN_EVENT_ID_REBOOT, rec.reboot),
           watch.domainEventRegisterAny(None, iovirt.DOMAIN_EVENT_ID_TUNABLE, rec.tunable)]
    shell = subprocess.Popen([iovtest.IOVSH, "-c", daemon.uri, "event", "--loop", "--timeout", "30"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=daemon.env)
    iovtest.kill_at_exit(shell.pid)
    conn = iovirt.open(daemon.uri)
    # a callback for one guest only
    only = Recorder()
    pydom = conn.defineXML(domain_xml("py1"))
    ids.append(watch.domainEventRegisterAny(watch.lookupByName("py1"),
                                            iovirt.DOMAIN_EVENT_ID_LIFECYCLE, only.lifecycle, "life"))
    # iovsh registers at its own pace: redefine a marker until it is seen
    # by our callback after iovsh had time to register; iovsh's own output
    # is checked at the end
    deadline = time.monotonic() + 20
    while len(rec.of("marker")) < 3:
        assert time.monotonic() < deadline
        conn.defineXML(domain_xml("marker"))
        time.sleep(0.2)

    dom = pydom
    dom.create()
    dom.suspend()
    dom.resume()
    dom.setBlockIoThrottle("vda", {"bps": 4096000}, iovirt.AFFECT_LIVE)
    dom.reboot()
    iovtest.wait_for(lambda: ("reboot",) in rec.of("py1"), timeout=20, what="the reboot event")
    dom.destroy()
    dom.undefine()

    want = [
        ("lifecycle", iovirt.DOMAIN_EVENT_STARTED, iovirt.DOMAIN_EVENT_STARTED_BOOTED),
        ("lifecycle", iovirt.DOMAIN_EVENT_SUSPENDED, iovirt.DOMAIN_EVENT_SUSPENDED_PAUSED),
        ("lifecycle", iovirt.DOMAIN_EVENT_RESUMED, iovirt.DOMAIN_EVENT_RESUMED_UNPAUSED),
        ("tunable", "vda", 4096000, 0),
        ("reboot",),
        ("lifecycle", iovirt.DOMAIN_EVENT_STOPPED, iovirt.DOMAIN_EVENT_STOPPED_DESTROYED),
        ("lifecycle", iovirt.DOMAIN_EVENT_UNDEFINED, iovirt.DOMAIN_EVENT_UNDEFINED_REMOVED),
    ]
    iovtest.wait_for(lambda: len(rec.of("py1")) >= len(want), timeout=20, what="py1's events")
    time.sleep(0.3)
    assert rec.of("py1")[0] == ("lifecycle", iovirt.DOMAIN_EVENT_DEFINED, iovirt.DOMAIN_EVENT_DEFINED_ADDED)
    assert rec.of("py1")[1:] == want
    # the filtered callback saw py1's lifecycle events and nothing of the marker
    assert only.of("py1") == [e for e in want if e[0] == "lifecycle"]
    assert only.of("marker") == []
    # every callback ran on the library's one thread, not on ours
    assert len(rec.threads) == 1 and threading.get_ident() not in rec.threads

    for i in ids:
        watch.domainEventDeregisterAny(i)
    with pytest.raises(iovirt.Error):
        watch.domainEventDeregisterAny(ids[0])
    dom2 = conn.defineXML(domain_xml("py2"))
    time.sleep(0.3)
    assert rec.of("py2") == [], "an event came after the callbacks were deregistered"
    dom2.undefine()

    shell.send_signal(signal.SIGINT)
    out, err = shell.communicate(timeout=20)
    lines = [l for l in out.splitlines() if "'py1'" in l or l.startswith("\t")]
    text = "\n".join(lines)
    assert "event 'lifecycle' for domain 'py1': Started Booted\n" \
           "event 'lifecycle' for domain 'py1': Suspended Paused\n" \
           "event 'lifecycle' for domain 'py1': Resumed Unpaused\n" \
           "event 'tunable' for domain 'py1':\n" \
           "\tblkdeviotune.disk: vda\n" \
           "\tblkdeviotune.total_bytes_sec: 4096000\n" in text, out + err
    assert text.endswith("event 'reboot' for domain 'py1'\n"
                         "event 'lifecycle' for domain 'py1': Stopped Destroyed\n"
                         "event 'lifecycle' for domain 'py1': Undefined Removed"), out + err
    assert shell.returncode == 0
    conn.close()
    watch.close()


def test_a_guest_that_powers_off_sends_shutdown_then_stopped(daemon):
    watch = iovirt.openReadOnly(daemon.uri)
    rec = Recorder()
    cid = watch.domainEventRegisterAny(None, iovirt.DOMAIN_EVENT_ID_LIFECYCLE, rec.lifecycle, "life")
    conn = iovirt.open(daemon.uri)
    dom = conn.defineXML(domain_xml("off1"))
    dom.create()
    dom.shutdown()  # fake-qemu: SHUTDOWN (by the guest), then it ends
    iovtest.wait_for(lambda: len(rec.of("off1")) >= 4, timeout=20, what="off1's events")
    time.sleep(0.3)
    assert rec.of("off1") == [
        ("lifecycle", iovirt.DOMAIN_EVENT_DEFINED, iovirt.DOMAIN_EVENT_DEFINED_ADDED),
        ("lifecycle", iovirt.DOMAIN_EVENT_STARTED, iovirt.DOMAIN_EVENT_STARTED_BOOTED),
        ("lifecycle", iovirt.DOMAIN_EVENT_SHUTDOWN, iovirt.DOMAIN_EVENT_SHUTDOWN_GUEST),
        ("lifecycle", iovirt.DOMAIN_EVENT_STOPPED, iovirt.DOMAIN_EVENT_STOPPED_SHUTDOWN),
    ]
    watch.domainEventDeregisterAny(cid)
    dom.undefine()
    conn.close()
    watch.close()
