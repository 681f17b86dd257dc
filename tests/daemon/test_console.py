"""The console at the protocol level, with python3-libvirt's streams
against one iovirtd whose guests run under fake-qemu, whose serial port
on a unix socket sends 'x' without end, as fast as it is read.

A client that opens the console and reads nothing must not make the
daemon hold what the guest writes beyond its bound (docs/iovirtd.8.md,
MEMORY); the guest then waits, and the data flows again once the client
reads. Consoles of ports that cannot give one are refused by name."""

import os
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import iovtest  # noqa: E402

import libvirt  # noqa: E402  (python3-libvirt: scripts/install-deps)

FAKE_QEMU = os.path.join(iovtest.BUILD_DIR, "tests", "fake-qemu")

# the daemon's bound on what one client has not read of its streams
# (RPC_SERVER_STREAM_OUTPUT_MAX), one read from the guest (64 KiB) and the
# console's input buffer (64 KiB)
STREAM_BOUND_KIB = 256 + 64 + 64


def domain_xml(name, serial):
    return ("<domain type='qemu'><name>%s</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
            "<os><type>hvm</type><kernel>/nonexistent/kernel</kernel></os><devices>"
            "<disk type='file'><source file='/nonexistent/%s.img'/><target dev='vda'/></disk>"
            "%s</devices></domain>" % (name, name, serial))


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
def daemon():
    d = iovtest.Daemon(config={"qemu_binary": FAKE_QEMU}).start()
    yield d
    d.cleanup()


@pytest.fixture(scope="module")
def conn(daemon):
    c = libvirt.open(daemon.libvirt_uri)
    yield c
    c.close()


@pytest.fixture(scope="module")
def flood(daemon, conn):
    """A running guest whose serial port is fake-qemu's flooding socket."""
    sock = os.path.join(daemon.tmp, "flood.console")
    dom = conn.defineXML(domain_xml(
        "flood", "<serial type='unix'><source mode='bind' path='%s'/></serial>" % sock))
    dom.create()
    iovtest.wait_for(lambda: os.path.exists(sock), what="the serial socket")
    return dom


def test_a_client_not_reading_does_not_grow_the_daemon(daemon, conn, flood):
    pid = daemon.proc.pid
    st = conn.newStream(0)
    # warm up: the first packets through allocate what every later one reuses
    flood.openConsole(None, st, 0)
    got = 0
    while got < 4 * 1024 * 1024:
        got += len(st.recv(262144))
    st.abort()
    time.sleep(0.5)

    before = rss_kib(pid)
    st = conn.newStream(0)
    flood.openConsole(None, st, 0)
    peak = before
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        peak = max(peak, rss_kib(pid))
        time.sleep(0.05)
    # the data was there all along: read it at the guest's pace
    t0 = time.monotonic()
    got = 0
    while time.monotonic() - t0 < 2:
        got += len(st.recv(262144))
    rate = got / (time.monotonic() - t0)
    st.abort()
    print("daemon RSS %d KiB, peak %d KiB while not reading (+%d KiB); then %.0f MB/s" % (
        before, peak, peak - before, rate / 1e6))
    # in 5 s unread, at that rate, an unbounded daemon would have taken in
    # far more than the bound
    assert rate * 5 > 50 * STREAM_BOUND_KIB * 1024
    assert peak - before < STREAM_BOUND_KIB + 1024, "the daemon grew by %d KiB" % (peak - before)


def test_a_second_console_is_refused_then_forced(conn, flood):
    first = conn.newStream(0)
    flood.openConsole(None, first, 0)
    second = conn.newStream(0)
    with pytest.raises(libvirt.libvirtError) as e:
        flood.openConsole(None, second, 0)
    assert "Active console session exists for this domain" in str(e.value)
    flood.openConsole(None, second, libvirt.VIR_DOMAIN_CONSOLE_FORCE)
    assert len(second.recv(65536)) > 0
    # the first one ends with the reason (after what was already queued)
    with pytest.raises(libvirt.libvirtError) as e:
        while first.recv(262144):
            pass
    assert "taken over by another client" in str(e.value)
    second.finish()
    # finished: free for the next one
    third = conn.newStream(0)
    flood.openConsole(None, third, 0)
    assert len(third.recv(65536)) > 0
    third.abort()


def test_the_guest_stopping_ends_the_stream(conn, daemon):
    sock = os.path.join(daemon.tmp, "stop.console")
    dom = conn.defineXML(domain_xml(
        "stopper", "<serial type='unix'><source mode='bind' path='%s'/></serial>" % sock))
    dom.create()
    iovtest.wait_for(lambda: os.path.exists(sock), what="the serial socket")
    st = conn.newStream(0)
    dom.openConsole(None, st, 0)
    assert len(st.recv(65536)) > 0
    dom.destroy()
    ended = False
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if st.recv(262144) == b"":
            ended = True
            break
    assert ended
    st.finish()


@pytest.mark.parametrize("serial,message", [
    ("", "its serial port writes to the daemon's log"),
    ("<serial type='file'><source path='/tmp/never-written.log'/></serial>",
     "its serial port writes to the file '/tmp/never-written.log'"),
])
def test_a_port_without_a_console_is_refused(conn, daemon, serial, message):
    dom = conn.defineXML(domain_xml("noconsole", serial))
    dom.create()
    try:
        st = conn.newStream(0)
        with pytest.raises(libvirt.libvirtError) as e:
            dom.openConsole(None, st, 0)
        assert "domain 'noconsole' has no console: " + message in str(e.value)
        with pytest.raises(libvirt.libvirtError) as e:
            dom.openConsole("serial1", conn.newStream(0), 0)
        assert "cannot find character device serial1" in str(e.value)
    finally:
        dom.destroy()
    with pytest.raises(libvirt.libvirtError) as e:
        dom.openConsole(None, conn.newStream(0), 0)
    assert "domain 'noconsole' is not running" in str(e.value)
