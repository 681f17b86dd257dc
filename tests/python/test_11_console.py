"""Domain.openConsole() and Stream, over a daemon whose guests run under
fake-qemu: its unix-socket serial port sends 'x' without end. Also the
C API's streams under them (libiovirt's iovStream*)."""

import os
import threading
import time

import pytest

import iovirt
import iovtest

FAKE_QEMU = os.path.join(iovtest.BUILD_DIR, "tests", "fake-qemu")


@pytest.fixture(scope="module")
def daemon():
    d = iovtest.Daemon(config={"qemu_binary": FAKE_QEMU}).start()
    yield d
    d.cleanup()


@pytest.fixture(scope="module")
def dom(daemon, conn):
    sock = os.path.join(daemon.tmp, "py.console")
    d = conn.defineXML(
        "<domain type='qemu'><name>pycons</name><memory unit='MiB'>64</memory>"
        "<os><kernel>/nonexistent/kernel</kernel></os><devices>"
        "<disk type='file'><source file='/nonexistent/a.img'/><target dev='vda'/></disk>"
        "<serial type='unix'><source mode='bind' path='%s'/></serial>"
        "</devices></domain>" % sock)
    d.create()
    iovtest.wait_for(lambda: os.path.exists(sock), what="the serial socket")
    yield d
    d.destroy()


def test_recv_reads_what_the_guest_writes(conn, dom):
    st = conn.newStream()
    dom.openConsole(None, st)
    got = b""
    while len(got) < 1000000:
        got += st.recv(65536)
    assert set(got) == {ord("x")}
    assert st.send(b"typed\n") == 6
    st.finish()


def test_one_client_at_a_time_unless_forced(conn, dom):
    first = conn.newStream()
    dom.openConsole(None, first)
    with pytest.raises(iovirt.Error) as e:
        dom.openConsole("serial0", conn.newStream())
    assert "Active console session exists for this domain" in str(e.value)
    second = conn.newStream()
    dom.openConsole("console0", second, iovirt.DOMAIN_CONSOLE_FORCE)
    assert second.recv(10) == b"x" * 10
    with pytest.raises(iovirt.Error) as e:
        while first.recv(1 << 20):
            pass
    assert "taken over by another client" in str(e.value)
    second.abort()


def test_abort_from_another_thread_ends_a_waiting_recv(conn, dom):
    st = conn.newStream()
    dom.openConsole(None, st)
    result = []

    def reader():
        try:
            while True:
                b = st.recv(1 << 20)
                if not b:
                    result.append("end")
                    return
        except iovirt.Error as e:
            result.append(str(e))

    t = threading.Thread(target=reader)
    t.start()
    time.sleep(0.3)
    st.abort()
    t.join(10)
    assert not t.is_alive()
    assert result == ["end"]


def test_nonblocking_recv_returns_none_when_nothing_came(conn, dom):
    st = conn.newStream(iovirt.STREAM_NONBLOCK)
    with pytest.raises(iovirt.Error) as e:
        st.recv(10)
    assert "not open" in str(e.value)
    dom.openConsole(None, st)
    st.abort()


def test_readonly_connection_is_refused(roconn, dom):
    d = roconn.lookupByName("pycons")
    with pytest.raises(iovirt.Error) as e:
        d.openConsole(None, roconn.newStream())
    assert "read only access prevents iovDomainOpenConsole" in str(e.value)


def test_bad_arguments(conn, dom):
    with pytest.raises(TypeError):
        dom.openConsole(None, "not a stream")
    with pytest.raises(iovirt.Error) as e:
        dom.openConsole("serial7", conn.newStream())
    assert "cannot find character device serial7" in str(e.value)
    with pytest.raises(iovirt.Error) as e:
        dom.openConsole(None, conn.newStream(), 1 << 5)
    assert "unsupported flags (0x20)" in str(e.value)
