"""Domain events as the real clients see them: `virsh event --all --loop`
and python3-libvirt (domainEventRegisterAny with libvirt's default event
loop) subscribed to one iovirtd whose guests run under fake-qemu, and a
client that never reads, which must be dropped while the others go on."""

import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import iovtest  # noqa: E402

import libvirt  # noqa: E402  (python3-libvirt: scripts/install-deps)

FAKE_QEMU = os.path.join(iovtest.BUILD_DIR, "tests", "fake-qemu")

# libvirt's names, as virsh prints them
LIFECYCLE = ["Defined", "Undefined", "Started", "Suspended", "Resumed", "Stopped",
             "Shutdown", "PMSuspended", "Crashed"]


def domain_xml(name):
    return ("<domain type='qemu'><name>%s</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
            "<os><type>hvm</type><kernel>/nonexistent/kernel</kernel></os><devices>"
            "<disk type='file'><source file='/nonexistent/%s.img'/><target dev='vda'/>"
            "<iothrottle bps_rd='1000'/></disk></devices></domain>" % (name, name))


def qemu_pid(daemon, name):
    with open(os.path.join(daemon.state_dir, name + ".pid")) as f:
        return int(f.read().strip())


@pytest.fixture(scope="module")
def daemon():
    d = iovtest.Daemon(config={"qemu_binary": FAKE_QEMU,
                               "max_client_event_queue": 65536}).start()
    yield d
    d.cleanup()


class EventLoop:
    """libvirt's default event loop, run by a thread of this process."""

    started = False

    @classmethod
    def start(cls):
        if cls.started:
            return
        libvirt.virEventRegisterDefaultImpl()

        def run():
            while True:
                libvirt.virEventRunDefaultImpl()

        threading.Thread(target=run, daemon=True).start()
        cls.started = True


class PyWatcher:
    """A python3-libvirt connection registered for lifecycle, reboot and
    tunable events of every domain; the events as (domain, text)."""

    def __init__(self, uri):
        EventLoop.start()
        self.events = []
        self.lock = threading.Lock()
        self.conn = libvirt.open(uri)
        self.ids = [
            self.conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                             self._lifecycle, None),
            self.conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_REBOOT,
                                             self._reboot, None),
            self.conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_TUNABLE,
                                             self._tunable, None),
        ]

    def _add(self, dom, text):
        with self.lock:
            self.events.append((dom.name(), text))

    def _lifecycle(self, conn, dom, event, detail, opaque):
        self._add(dom, "lifecycle %d %d" % (event, detail))

    def _reboot(self, conn, dom, opaque):
        self._add(dom, "reboot")

    def _tunable(self, conn, dom, params, opaque):
        self._add(dom, "tunable " + " ".join("%s=%s" % kv for kv in sorted(params.items())))

    def of(self, name):
        with self.lock:
            return [t for n, t in self.events if n == name]

    def close(self):
        for i in self.ids:
            self.conn.domainEventDeregisterAny(i)
        self.conn.close()


class VirshWatcher:
    """`virsh event --all --loop`, its output gathered line by line."""

    def __init__(self, uri):
        self.proc = subprocess.Popen(["stdbuf", "-oL", "virsh", "-c", uri, "event", "--all", "--loop"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        iovtest.kill_at_exit(self.proc.pid)
        self.lines = []
        self.partial = b""

    def poll(self, timeout=0.1):
        # the pipe's descriptor itself: a buffered reader would hide lines from select
        fd = self.proc.stdout.fileno()
        while select.select([fd], [], [], timeout)[0]:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            self.partial += chunk
            *done, self.partial = self.partial.split(b"\n")
            self.lines += [line.decode() for line in done]
            timeout = 0

    def events(self, name):
        """The events of domain `name`: 'lifecycle Started Booted',
        'reboot', 'tunable k=v ...'."""
        self.poll(0)
        out = []
        for line in self.lines:
            m = re.match(r"event '(\w[\w-]*)' for domain '?([^':]+)'?(?::\s*(.*))?$", line)
            if m:
                if m.group(2) == name:
                    out.append([m.group(1) + (" " + m.group(3) if m.group(3) else "")])
                else:
                    out.append(None)
            elif out and out[-1] is not None and line.startswith("\t"):
                out[-1].append(line.strip().replace(": ", "="))
        return [" ".join(e) for e in out if e is not None]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def wait_until(what, cond, timeout=20):
    iovtest.wait_for(cond, timeout=timeout, what=what)


def test_virsh_and_python_see_every_event_once_in_order(daemon):
    virsh = VirshWatcher(daemon.libvirt_uri)
    py = PyWatcher(daemon.libvirt_uri)
    conn = libvirt.open(daemon.libvirt_uri)
    try:
        # virsh registers at its own pace: redefine a marker domain until
        # virsh reports it, then both watchers are in place
        deadline = time.monotonic() + 20
        while not virsh.events("marker"):
            assert time.monotonic() < deadline, "virsh event never reported anything: %s" % virsh.proc.stderr
            conn.defineXML(domain_xml("marker"))
            virsh.poll(0.2)

        dom = conn.defineXML(domain_xml("ev1"))
        dom.create()
        dom.suspend()
        dom.resume()
        dom.setBlockIoTune("vda", {"total_bytes_sec": 5000000, "read_iops_sec": 0,
                                   "write_iops_sec": 0, "total_iops_sec": 700},
                           libvirt.VIR_DOMAIN_AFFECT_LIVE)
        dom.reboot(0)
        wait_until("the reboot event", lambda: "reboot" in py.of("ev1"))
        os.kill(qemu_pid(daemon, "ev1"), signal.SIGUSR1)
        wait_until("the panic event", lambda: "lifecycle 8 0" in py.of("ev1"))
        dom.destroy()
        dom.undefine()

        dom2 = conn.defineXML(domain_xml("ev2"))
        dom2.create()
        os.kill(qemu_pid(daemon, "ev2"), signal.SIGKILL)
        wait_until("ev2's end", lambda: "lifecycle 5 5" in py.of("ev2"))

        tunable = ("tunable blkdeviotune.disk=vda blkdeviotune.read_bytes_sec=0"
                   " blkdeviotune.read_bytes_sec_max=0 blkdeviotune.read_bytes_sec_max_length=0"
                   " blkdeviotune.read_iops_sec=0 blkdeviotune.read_iops_sec_max=0"
                   " blkdeviotune.read_iops_sec_max_length=0 blkdeviotune.size_iops_sec=0"
                   " blkdeviotune.total_bytes_sec=5000000 blkdeviotune.total_bytes_sec_max=0"
                   " blkdeviotune.total_bytes_sec_max_length=0 blkdeviotune.total_iops_sec=700"
                   " blkdeviotune.total_iops_sec_max=0 blkdeviotune.total_iops_sec_max_length=0"
                   " blkdeviotune.write_bytes_sec=0 blkdeviotune.write_bytes_sec_max=0"
                   " blkdeviotune.write_bytes_sec_max_length=0 blkdeviotune.write_iops_sec=0"
                   " blkdeviotune.write_iops_sec_max=0 blkdeviotune.write_iops_sec_max_length=0")
        E = libvirt
        want_py = [
            "lifecycle %d %d" % (E.VIR_DOMAIN_EVENT_DEFINED, E.VIR_DOMAIN_EVENT_DEFINED_ADDED),
            "lifecycle %d %d" % (E.VIR_DOMAIN_EVENT_STARTED, E.VIR_DOMAIN_EVENT_STARTED_BOOTED),
            "lifecycle %d %d" % (E.VIR_DOMAIN_EVENT_SUSPENDED, E.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED),
            "lifecycle %d %d" % (E.VIR_DOMAIN_EVENT_RESUMED, E.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED),
            tunable,
            "reboot",
            "lifecycle %d %d" % (E.VIR_DOMAIN_EVENT_CRASHED, E.VIR_DOMAIN_EVENT_CRASHED_PANICKED),
            "lifecycle %d %d" % (E.VIR_DOMAIN_EVENT_STOPPED, E.VIR_DOMAIN_EVENT_STOPPED_DESTROYED),
            "lifecycle %d %d" % (E.VIR_DOMAIN_EVENT_UNDEFINED, E.VIR_DOMAIN_EVENT_UNDEFINED_REMOVED),
        ]
        want_py2 = [
            "lifecycle %d %d" % (E.VIR_DOMAIN_EVENT_DEFINED, E.VIR_DOMAIN_EVENT_DEFINED_ADDED),
            "lifecycle %d %d" % (E.VIR_DOMAIN_EVENT_STARTED, E.VIR_DOMAIN_EVENT_STARTED_BOOTED),
            "lifecycle %d %d" % (E.VIR_DOMAIN_EVENT_STOPPED, E.VIR_DOMAIN_EVENT_STOPPED_FAILED),
        ]
        wait_until("python's events of ev1", lambda: len(py.of("ev1")) >= len(want_py))
        time.sleep(0.5)  # nothing more may come
        assert py.of("ev1") == want_py
        assert py.of("ev2") == want_py2

        want_virsh = [
            "lifecycle Defined Added", "lifecycle Started Booted", "lifecycle Suspended Paused",
            "lifecycle Resumed Unpaused", tunable, "reboot", "lifecycle Crashed Panicked",
            "lifecycle Stopped Destroyed", "lifecycle Undefined Removed",
        ]
        want_virsh2 = ["lifecycle Defined Added", "lifecycle Started Booted", "lifecycle Stopped Failed"]
        deadline = time.monotonic() + 20
        while len(virsh.events("ev2")) < 3 and time.monotonic() < deadline:
            virsh.poll(0.2)
        virsh.poll(0.5)
        # virsh prints a tunable event's parameters in their order; the
        # expected text has them sorted
        got = ["tunable " + " ".join(sorted(e.split(" ")[1:])) if e.startswith("tunable") else e
               for e in virsh.events("ev1")]
        assert got == want_virsh, "\n".join(virsh.lines)
        assert virsh.events("ev2") == want_virsh2, "\n".join(virsh.lines)
    finally:
        virsh.stop()
        py.close()
        conn.close()


def _packet(proc, serial, payload=b""):
    body = struct.pack(">IIiIIi", 0x20008086, 1, proc, 0, serial, 0) + payload
    return struct.pack(">I", len(body) + 4) + body


def _read_packet(sock):
    def exact(n):
        buf = b""
        while len(buf) < n:
            chunk = sock.recv(n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return buf
    (length,) = struct.unpack(">I", exact(4))
    body = exact(length - 4)
    return struct.unpack(">IIiIIi", body[:24]), body[24:]


def test_a_client_that_does_not_read_is_dropped_and_others_go_on(daemon):
    conn = libvirt.open(daemon.libvirt_uri)
    dom = conn.defineXML(domain_xml("flood"))
    dom.create()
    py = PyWatcher(daemon.libvirt_uri_ro)

    # a read-only client with a tiny receive buffer: it opens, registers
    # for tunable events of every domain, reads the two replies, and then
    # reads nothing
    slow = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.connect(daemon.sock_ro)
    name = b"qemu:///session"
    pad = (4 - len(name) % 4) % 4
    slow.sendall(_packet(1, 0, struct.pack(">II", 1, len(name)) + name + b"\0" * pad + struct.pack(">I", 0)))
    hdr, _ = _read_packet(slow)
    assert hdr[5] == 0, "open failed"
    slow.sendall(_packet(316, 1, struct.pack(">iI", libvirt.VIR_DOMAIN_EVENT_ID_TUNABLE, 0)))
    hdr, payload = _read_packet(slow)
    assert hdr[5] == 0 and struct.unpack(">i", payload)[0] > 0

    def dropped():
        with open(daemon.log_file) as f:
            return "dropping client" in f.read()

    sent = 0
    deadline = time.monotonic() + 120
    while not dropped():
        assert time.monotonic() < deadline, "the client that does not read was never dropped"
        sent += 1
        # every change is answered while the slow client's queue grows
        dom.setBlockIoTune("vda", {"total_bytes_sec": 1000 + sent}, libvirt.VIR_DOMAIN_AFFECT_LIVE)
    with open(daemon.log_file) as f:
        assert re.search(r"dropping client \S+: it does not read its events \(\d+ bytes wait unread; "
                         r"the limit is 65536 bytes of events\)", f.read())

    # the others went on: the watcher saw every change, and calls are answered
    wait_until("the watcher's events", lambda: len(py.of("flood")) >= sent)
    assert len(py.of("flood")) == sent
    assert " blkdeviotune.total_bytes_sec=%d " % (1000 + sent) in py.of("flood")[-1]
    assert dom.isActive() == 1

    # and the slow client finds its connection closed once it reads
    slow.settimeout(10)
    with pytest.raises((EOFError, ConnectionResetError)):
        while True:
            _read_packet(slow)
    slow.close()
    py.close()
    dom.destroy()
    dom.undefine()
    conn.close()


def test_the_older_registration_gets_the_older_lifecycle_message(daemon):
    """A client that registers with CONNECT_DOMAIN_EVENT_REGISTER_ANY (167)
    gets DOMAIN_EVENT_LIFECYCLE (107) messages, without a callback id."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(daemon.sock_ro)
    s.settimeout(10)
    s.sendall(_packet(1, 0, struct.pack(">II", 0, 0)))
    assert _read_packet(s)[0][5] == 0
    s.sendall(_packet(167, 1, struct.pack(">i", libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE)))
    assert _read_packet(s)[0][5] == 0
    # a second registration of the same id is refused, as libvirt does
    s.sendall(_packet(167, 2, struct.pack(">i", libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE)))
    hdr, payload = _read_packet(s)
    assert hdr[5] == 1 and b"domain event 0 already registered" in payload
    conn = libvirt.open(daemon.libvirt_uri)
    conn.defineXML(domain_xml("old1"))
    hdr, payload = _read_packet(s)
    assert (hdr[2], hdr[3], hdr[4]) == (107, 2, 0)  # proc, MESSAGE, serial 0
    (nlen,) = struct.unpack(">I", payload[:4])
    name = payload[4:4 + nlen]
    off = 4 + nlen + (4 - nlen % 4) % 4 + 16
    dom_id, event, detail = struct.unpack(">iii", payload[off:off + 12])
    assert (name, dom_id, event, detail) == (b"old1", -1, libvirt.VIR_DOMAIN_EVENT_DEFINED,
                                             libvirt.VIR_DOMAIN_EVENT_DEFINED_ADDED)
    s.close()
    conn.lookupByName("old1").undefine()
    conn.close()
