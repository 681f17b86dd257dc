"""iovsh console against a daemon whose guests run under fake-qemu (its
unix-socket serial port sends 'x' without end): what it prints, how it
ends without a terminal, and its refusals. The real guest's console, with
virsh console beside it, is tests/compat/test_console.py."""

import os

import pytest

from conftest import Shell, iovtest

FAKE_QEMU = os.path.join(iovtest.BUILD_DIR, "tests", "fake-qemu")


@pytest.fixture(scope="module")
def daemon():
    d = iovtest.Daemon(config={"qemu_binary": FAKE_QEMU}).start()
    yield d
    d.cleanup()


@pytest.fixture(scope="module")
def sh(daemon):
    return Shell(daemon)


def define(daemon, sh, name, serial):
    path = os.path.join(daemon.tmp, name + ".xml")
    with open(path, "w") as f:
        f.write("<domain type='qemu'><name>%s</name><memory unit='MiB'>64</memory>"
                "<os><kernel>/nonexistent/kernel</kernel></os><devices>"
                "<disk type='file'><source file='/nonexistent/a.img'/><target dev='vda'/></disk>"
                "%s</devices></domain>" % (name, serial))
    sh.ok("define", path)
    sh.ok("start", name)


def test_console_relays_until_the_input_ends(daemon, sh):
    sock = os.path.join(daemon.tmp, "c1.console")
    define(daemon, sh, "c1", "<serial type='unix'><source mode='bind' path='%s'/></serial>" % sock)
    iovtest.wait_for(lambda: os.path.exists(sock), what="the serial socket")
    # without a terminal, the end of the input leaves
    r = sh.run("console", "c1", input="")
    assert r.rc == 0, r
    assert r.out.startswith("Connected to domain 'c1'\nEscape character is ^] (Ctrl-])\n"), r
    # the console is free again at once
    r = sh.run("console", "c1", input="\x1d")
    assert r.rc == 0, r


def test_console_of_a_port_without_one(daemon, sh):
    define(daemon, sh, "c2", "")
    err = sh.fail("console", "c2")
    assert err == ("error: Operation not supported: domain 'c2' has no console: its serial port "
                   "writes to the daemon's log (a console needs <serial type='pty'/> or type='unix')")
    err = sh.fail("console", "c2", "--devname", "serial3")
    assert "cannot find character device serial3" in err


def test_console_refused_read_only(daemon, sh):
    err = sh.fail("-r", "console", "c1", uri=daemon.uri_ro)
    assert "read only access prevents iovDomainOpenConsole" in err
