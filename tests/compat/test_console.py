"""The serial console from a client: the real `virsh console` (in tmux, as
it needs a terminal) and `iovsh console` against iovirtd, with one test
guest whose serial port is a pty and which runs a shell on it.

One guest serves every test of the file, in order: virsh reads and types,
a second console is refused, --force takes over, a read-only connection is
refused, iovsh attaches to it, Ctrl-] leaves; python3-libvirt reaches it
over TLS. (The bound on what a client that does not read makes the daemon
hold is tested with fake-qemu, tests/daemon/test_console.py: the guest's
serial line, at 115200 baud, is too slow to fill it.)
"""

import os
import subprocess
import sys
import time
import uuid

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import iovtest  # noqa: E402
import pki  # noqa: E402

NAME = "console1"


class Tmux:
    """A private tmux server (its own socket) whose windows run commands
    in a terminal; killed when the test file ends."""

    def __init__(self, env):
        self.sock = "iovirt-console-%s" % uuid.uuid4().hex[:8]
        self.env = env
        self.windows = []

    def run(self, name, argv):
        cmd = " ".join("'%s'" % a.replace("'", "'\\''") for a in argv)
        # keep the window after the command ends, to read what it printed
        subprocess.run(["tmux", "-L", self.sock, "new-session", "-d", "-x", "200", "-y", "50",
                        "-s", name,
                        "sh -c %s; echo EXITED=$?; sleep 600" % ("'%s'" % cmd.replace("'", "'\\''"))],
                       check=True, env=self.env)
        self.windows.append(name)

    def screen(self, name):
        r = subprocess.run(["tmux", "-L", self.sock, "capture-pane", "-p", "-S", "-200",
                            "-t", name], capture_output=True, text=True, env=self.env)
        return r.stdout

    def keys(self, name, *keys):
        subprocess.run(["tmux", "-L", self.sock, "send-keys", "-t", name] + list(keys),
                       check=True, env=self.env)

    def wait(self, name, text, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            s = self.screen(name)
            if text in s:
                return s
            time.sleep(0.1)
        raise AssertionError("%r not on the screen of %s within %d s:\n%s" % (
            text, name, timeout, self.screen(name)))

    def kill(self):
        subprocess.run(["tmux", "-L", self.sock, "kill-server"], capture_output=True,
                       env=self.env)


@pytest.fixture(scope="module")
def daemon():
    """A session daemon that also listens for TLS on 127.0.0.1."""
    tmp = iovtest.tempfile.mkdtemp(prefix="iovirt-test-")
    p = pki.make_pki(os.path.join(tmp, "pki"))
    port = iovtest.free_port()
    d = iovtest.Daemon(tmpdir=tmp, config={
        "listen_tls": 1, "listen_addr": "127.0.0.1", "tls_port": port,
        "ca_file": p["ca"]["cert"], "cert_file": p["server"]["cert"],
        "key_file": p["server"]["key"]})
    d.start()
    d.tls_uri = "qemu+tls://127.0.0.1:%d/session?pkipath=%s" % (port, p["pkipath"])
    yield d
    d.cleanup()


@pytest.fixture(scope="module")
def tmux(daemon):
    t = Tmux(daemon.env)
    yield t
    t.kill()


@pytest.fixture(scope="module")
def guest(daemon):
    """'console1', running, its serial port a pty with a shell on it."""
    img = iovtest.make_image(os.path.join(daemon.tmp, "console-a.img"), 16 * iovtest.MiB, 0)
    xml = iovtest.guest_xml(NAME, [iovtest.file_disk("vda", img)], "/unused", after="idle")
    xml = xml.replace("iov.after=idle", "iov.after=idle iov.shell=1")
    xml = xml.replace("<serial type='file'><source path='/unused'/></serial>",
                      "<serial type='pty'/><console type='pty'/>")
    path = os.path.join(daemon.tmp, NAME + ".xml")
    with open(path, "w") as f:
        f.write(xml)
    subprocess.run(["virsh", "-c", daemon.libvirt_uri, "define", path], check=True,
                   capture_output=True)
    subprocess.run(["virsh", "-c", daemon.libvirt_uri, "start", NAME], check=True,
                   capture_output=True)
    log = iovtest.Serial(os.path.join(daemon.guest_log_dir, NAME + "-serial.log"))
    log.wait_line("GUEST-AFTER action=idle", timeout=60)
    return {"name": NAME, "log": log}


def virsh(daemon, *args, uri=None):
    return subprocess.run(["virsh", "-c", uri or daemon.libvirt_uri] + list(args),
                          capture_output=True, text=True, timeout=60)


def type_until(tmux, window, command, answer, timeout=30):
    """Type `command` into the console until `answer` shows (the first
    keys may reach the guest before its shell reads the line)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tmux.keys(window, command, "Enter")
        try:
            return tmux.wait(window, answer, timeout=5)
        except AssertionError:
            continue
    raise AssertionError("no %r after typing %r:\n%s" % (answer, command, tmux.screen(window)))


def test_01_virsh_console_reads_and_types(daemon, tmux, guest):
    tmux.run("v1", ["virsh", "-c", daemon.libvirt_uri, "console", NAME])
    tmux.wait("v1", "Escape character is")
    # the guest answers a command typed into the console: $((6*7)) is
    # computed by the guest's shell, not echoed
    type_until(tmux, "v1", "echo CONSOLE-$((6*7))", "CONSOLE-42")
    # what the guest printed reaches the log too
    guest["log"].wait_line("CONSOLE-42", timeout=10)


def test_02_second_console_refused(daemon, guest):
    # virsh needs a terminal for the console itself; run it with one
    r = subprocess.run(["script", "-qec", "virsh -c '%s' console %s" % (daemon.libvirt_uri, NAME),
                        "/dev/null"], capture_output=True, text=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    out = r.stdout + r.stderr
    assert "Active console session exists for this domain" in out, out


def test_03_force_takes_over(daemon, tmux, guest):
    tmux.run("v2", ["virsh", "-c", daemon.libvirt_uri, "console", "--force", NAME])
    tmux.wait("v2", "Escape character is")
    type_until(tmux, "v2", "echo TAKEN-$((7*6))", "TAKEN-42")
    # the first virsh was told and left
    s = tmux.wait("v1", "EXITED=", timeout=20)
    assert "taken over by another client" in s, s
    assert "TAKEN-42" not in s


def test_04_readonly_refused(daemon, guest):
    r = subprocess.run(["script", "-qec", "virsh -r -c '%s' console %s" % (daemon.libvirt_uri_ro, NAME),
                        "/dev/null"], capture_output=True, text=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    out = r.stdout + r.stderr
    assert "read only access prevents virDomainOpenConsole" in out, out


def test_05_ctrl_bracket_leaves(daemon, tmux, guest):
    tmux.keys("v2", "C-]")
    tmux.wait("v2", "EXITED=0", timeout=20)
    # the console is free again: iovsh attaches, types, and leaves
    tmux.run("i1", [iovtest.IOVSH, "-c", daemon.uri, "console", NAME])
    tmux.wait("i1", "Ctrl-]")
    type_until(tmux, "i1", "echo IOVSH-$((40+2))", "IOVSH-42")
    tmux.keys("i1", "C-]")
    tmux.wait("i1", "EXITED=0", timeout=20)


def libvirt_console(uri, script, line, timeout=60):
    """Run python3-libvirt on `uri` with the console of the guest open as
    `st` (a blocking stream), `line` (bytes, for the guest's shell) in
    `LINE`, then `script`; its result."""
    code = ("import libvirt, sys, time\n"
            "c = libvirt.open(sys.argv[1])\n"
            "d = c.lookupByName(sys.argv[2])\n"
            "LINE = sys.argv[3].encode() + b'\\n'\n"
            "st = c.newStream(0)\n"
            "d.openConsole(None, st, 0)\n"
            "def until(text):\n"
            "    got = b''\n"
            "    while text not in got:\n"
            "        b = st.recv(65536)\n"
            "        if not b:\n"
            "            raise SystemExit('stream ended before %r' % text)\n"
            "        got += b\n"
            "    return got\n" + script)
    return subprocess.run(["/usr/bin/python3", "-c", code, uri, NAME, line], capture_output=True,
                          text=True, timeout=timeout)


def test_06_python3_libvirt_over_tls(daemon, guest):
    r = libvirt_console(daemon.tls_uri, (
        "st.send(LINE)\n"
        "until(b'TLS-42')\n"
        "st.finish()\n"
        "print('OK')\n"), "echo TLS-$((6*7))")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "OK"


def test_07_unix_socket_port_of_a_real_qemu(daemon):
    """A <serial type='unix'> reaches QEMU as a listening socket chardev:
    the console connects to it, the guest answers, and its output is in
    the log as well."""
    name = "console2"
    sock = os.path.join(daemon.tmp, "console2.sock")
    img = iovtest.make_image(os.path.join(daemon.tmp, "console-b.img"), 16 * iovtest.MiB, 0)
    xml = iovtest.guest_xml(name, [iovtest.file_disk("vda", img)], "/unused", after="idle")
    xml = xml.replace("iov.after=idle", "iov.after=idle iov.shell=1")
    xml = xml.replace("<serial type='file'><source path='/unused'/></serial>",
                      "<serial type='unix'><source mode='bind' path='%s'/></serial>" % sock)
    path = os.path.join(daemon.tmp, name + ".xml")
    with open(path, "w") as f:
        f.write(xml)
    assert virsh(daemon, "define", path).returncode == 0
    r = virsh(daemon, "start", name)
    assert r.returncode == 0, r.stderr
    try:
        log = iovtest.Serial(os.path.join(daemon.guest_log_dir, name + "-serial.log"))
        log.wait_line("GUEST-AFTER action=idle", timeout=60)
        code = ("import libvirt, sys\n"
                "c = libvirt.open(sys.argv[1])\n"
                "st = c.newStream(0)\n"
                "c.lookupByName(sys.argv[2]).openConsole(None, st, 0)\n"
                "st.send(b'echo UNIX-$((5*5))\\n')\n"
                "got = b''\n"
                "while b'UNIX-25' not in got:\n"
                "    got += st.recv(4096)\n"
                "st.finish()\n"
                "print('OK')\n")
        r = subprocess.run(["/usr/bin/python3", "-c", code, daemon.libvirt_uri, name],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and r.stdout.strip() == "OK", r.stderr
        log.wait_line("UNIX-25", timeout=10)
    finally:
        virsh(daemon, "destroy", name)
