"""Threads: the GIL is released during every call that waits on the daemon,
one connection serves many threads at once, errors stay with the thread
that got them, and closing a connection in use does not crash."""

import os
import subprocess
import sys
import tempfile
import threading

import pytest

from conftest import MiB, Guest, iovirt, iovtest

HERE = os.path.dirname(os.path.abspath(__file__))
LIVE = iovirt.AFFECT_LIVE
DISKS = ("vda", "vdb", "vdc", "vdd")


@pytest.fixture(scope="module")
def th(daemon, conn):
    """A running guest with four disks."""
    g = Guest(daemon, conn, "th", disks=DISKS)
    g.start(wait_ready=False)
    yield g
    g.stop()


def run_threads(n, target):
    """Run target(i) in n threads at once; return the exceptions raised."""
    errors = []
    barrier = threading.Barrier(n)

    def body(i):
        try:
            barrier.wait()
            target(i)
        except BaseException as e:  # noqa: B902 - reported to the test
            errors.append(e)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
        assert not t.is_alive(), "a thread is stuck"
    return errors


def test_every_blocking_call_releases_the_gil(daemon, conn):
    """gil_probe.py serves the daemon's sockets through a proxy run by
    Python threads of its own process, and calls everything through it."""
    xml_guest = Guest(daemon, conn, "gil")
    xml_guest.dom.undefine()  # the probe defines it again
    with tempfile.TemporaryDirectory(dir=daemon.tmp) as tmp:
        xml_file = os.path.join(tmp, "gil.xml")
        with open(xml_file, "w") as f:
            f.write(xml_guest.xml)
        try:
            out = subprocess.run(
                [sys.executable, os.path.join(HERE, "gil_probe.py"), daemon.sock, daemon.sock_ro,
                 tmp, xml_file],
                env=daemon.env, capture_output=True, text=True, timeout=120)
        except subprocess.TimeoutExpired as e:
            last = (e.stdout or b"").decode(errors="replace").strip().splitlines()[-1:]
            pytest.fail("a call kept the GIL while waiting: the probe hung after %r" % last)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[-1] == "ALL-CALLS-RETURNED"
    # the calls did what they should through the proxy
    assert "open -> Connection" in lines
    assert "defineXML -> Domain" in lines
    assert "close with a domain alive -> int" in lines
    assert [line for line in lines if "Error" in line] == [
        "error path -> Error(%d)" % iovirt.ERR_INVALID_ARG,
        "ro denied -> Error(%d)" % iovirt.ERR_OPERATION_DENIED]
    assert sum(1 for line in lines if "-> " in line) == 39


def test_one_connection_many_threads_each_setting_its_own_disk(th):
    rounds = 60

    def writer(i):
        disk = DISKS[i % 4]
        dom = th.dom if i < 4 else th.dom.connect().lookupByName("th")
        for k in range(rounds):
            if i < 4:
                value = (i + 1) * MiB + k
                dom.setBlockIoThrottle(disk, {"bps_wr": value}, LIVE)
                got = dom.blockIoThrottle(disk, LIVE)
                assert got["bps_wr"] == value, (disk, got["bps_wr"], value)
                assert dom.blockIoTune(disk)["write_bytes_sec"] == value
            else:
                # readers on their own Domain objects
                assert dom.state()[0] == iovirt.DOMAIN_RUNNING
                assert dom.info()[3] == 1
                assert len(dom.blockIoThrottle(disk)) == 20
                assert dom.XMLDesc().startswith("<domain")
                assert [d.name() for d in dom.connect().listAllDomains()] == ["th"]
                assert dom.connect().lookupByName("th").UUIDString() == th.dom.UUIDString()

    assert run_threads(8, writer) == []
    for i, disk in enumerate(DISKS):
        assert th.dom.blockIoThrottle(disk, LIVE)["bps_wr"] == (i + 1) * MiB + rounds - 1
        th.dom.setBlockIoThrottle(disk, {"bps_wr": 0}, LIVE)


def test_errors_stay_with_the_thread_that_got_them(th):
    def failing(i):
        for k in range(40):
            disk = "nosuch%d" % i
            with pytest.raises(iovirt.Error) as e:
                th.dom.blockIoThrottle(disk)
            assert "'%s'" % disk in e.value.message
            assert e.value.code == iovirt.ERR_INVALID_ARG
            with pytest.raises(iovirt.Error) as e:
                th.dom.connect().lookupByName("ghost%d" % i)
            assert "ghost%d" % i in e.value.message
            assert e.value.code == iovirt.ERR_NO_DOMAIN
            # and a success in between clears nothing of the others
            assert th.dom.blockIoThrottle(DISKS[i % 4])["bps"] == 0

    assert run_threads(6, failing) == []


def test_many_threads_share_one_domain_object(th):
    def body(i):
        for _ in range(50):
            assert th.dom.name() == "th"
            assert th.dom.isActive() is True
            assert th.dom.blockStats("vda")[4] in (0, -1)

    assert run_threads(8, body) == []


def test_closing_a_connection_while_threads_use_it(daemon, th):
    for _ in range(5):
        c = iovirt.open(daemon.uri)
        started = threading.Barrier(5)
        outcome = []

        def user(i):
            kept = []
            try:
                for k in range(100000):
                    dom = c.lookupByName("th")
                    assert dom.blockIoThrottle(DISKS[i])["bps"] == 0
                    kept.append(dom)
                    if k == 3:
                        started.wait(30)
            except iovirt.Error as e:
                assert e.code == iovirt.ERR_INVALID_CONN, e
                assert e.message == "connection to '%s' is closed" % daemon.uri
                outcome.append(len(kept))
            # the domains made before the close keep working
            assert all(d.state()[0] == iovirt.DOMAIN_RUNNING for d in kept[-3:])

        threads = [threading.Thread(target=user, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        started.wait(30)
        left = c.close()
        assert left >= 0
        for t in threads:
            t.join(60)
            assert not t.is_alive()
        # every thread stopped on the close, after some calls
        assert len(outcome) == 4 and min(outcome) >= 4


def test_connections_opened_and_closed_by_many_threads(daemon, th):
    def body(i):
        for _ in range(10):
            with iovirt.open(daemon.uri) as c:
                dom = c.lookupByName("th")
            assert dom.blockIoThrottle("vda")["bps"] == 0
            del dom
            with iovirt.openReadOnly(daemon.uri_ro) as c:
                assert c.lookupByName("th").isActive()

    assert run_threads(6, body) == []


def test_domains_dropped_by_threads_after_their_connection_closed(daemon, th):
    c = iovirt.open(daemon.uri)
    doms = [c.lookupByName("th") for _ in range(40)]
    assert c.close() == 40

    def body(i):
        mine = doms[i * 5:(i + 1) * 5]
        for j in range(i * 5, (i + 1) * 5):
            doms[j] = None
        for d in mine:
            assert d.blockIoTune("vdb")["total_bytes_sec"] == 0
        del d
        mine.clear()  # the last holds go here, in the threads

    assert run_threads(8, body) == []
    assert doms == [None] * 40
