"""Job discipline under load: every change to a domain runs inside its job,
so concurrent changes never undo one another.

One session daemon runs three guests (r1, r2, r3, two disks each) and holds
two more defined but shut off (d1, d2). Twenty clients, each with its own
connection, work on them at once for IOVIRT_STRESS_SECONDS (default 60):

- one redefines r1 with a new <memory> each time (read the saved XML,
  change <memory>, define it) and checks that every define it made stays
  visible, through the API and in the file on disk, until its next one;
- three set read limits on disks they own and check the live limits and,
  for LIVE|CONFIG, the saved definition: the iovirt module on r1/vda (the
  guest being redefined), virsh on r2/vda, iovsh on r3/vdb; python3-libvirt
  sets LIVE on r3/vda (it cannot send LIVE|CONFIG: its setBlockIoTune first
  calls the get with the same flags, which libvirt's client refuses);
- two start and destroy d1 (iovirt) and d2 (python3-libvirt) and check the
  state they leave it in;
- fourteen read state, lists, definitions, statistics and limits of every
  guest, through iovirt, python3-libvirt (read-write and read-only) and
  iovsh.

Writers own disjoint fields, so each writer's last success must be visible
at the end. The one overlap is r1's saved limits: a define carries whatever
the saved XML held when the memory writer read it, so it may legitimately
set r1/vda's saved bps_rd back to what it read; the check forgives a saved
value only if it is the one a read-then-define of the memory writer that
overlapped the set carried.

After the run: the live limits of every disk equal those QEMU holds (read
with qom-get from each guest's monitor once the daemon is stopped: iovirtd
is otherwise its only client); no call failed except with "operation
invalid" (a guest found shut off by a client that does not own it) or a job
timeout; and with the same guests running as at the start, the daemon has
as many open files and threads as at the start.
"""

import collections
import json
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET

import pytest

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_HERE, "..", "lib"))
import iovtest  # noqa: E402

if iovtest.PYTHON_MODULE_DIR not in sys.path:
    sys.path.insert(0, iovtest.PYTHON_MODULE_DIR)

import iovirt  # noqa: E402
import libvirt  # noqa: E402

# errors are counted by the test, not printed by libvirt
libvirt.registerErrorHandler(lambda ctx, err: None, None)

DURATION = float(os.environ.get("IOVIRT_STRESS_SECONDS", "60"))

RUNNING = ("r1", "r2", "r3")
DEFINED = ("d1", "d2")
DISKS = ("vda", "vdb")
# the limit d1 and d2 carry in their XML, in force whenever they run
BOOT_BPS_RD = 4 * iovtest.MiB
BASE_MEMORY_KIB = 192 * 1024

LIVE = iovirt.AFFECT_LIVE
CONFIG = iovirt.AFFECT_CONFIG
MEMORY_RE = re.compile(r'<memory unit="KiB">(\d+)</memory>')

# the errors a client may get, by libvirt's (and iovirt's) numbers
OPERATION_INVALID = iovirt.ERR_OPERATION_INVALID
OPERATION_TIMEOUT = iovirt.ERR_OPERATION_TIMEOUT
# how virsh and iovsh print them (the daemon's text, libvirt's prefixes)
ERROR_PREFIXES = {
    OPERATION_INVALID: "Requested operation is not valid: ",
    OPERATION_TIMEOUT: "Timed out during operation: ",
}


class CallFailed(Exception):
    """A call failed with an error the client may get; it did nothing."""


class Run:
    """What the clients share: the end of the run and what they saw."""

    def __init__(self, daemon, duration):
        self.daemon = daemon
        self.end = time.monotonic() + duration
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.unexpected = []     # errors no client may get
        self.violations = []     # a client saw something it must not see
        self.allowed = collections.Counter()  # (client, code) -> count
        self.calls = collections.Counter()    # client -> calls made
        # the memory writer's read-then-define windows, counted when they
        # open and when they close, and the saved bps_rd of r1/vda each
        # one's define carries (see LimitsWriter.replaced_by_define)
        self.windows_opened = 0
        self.windows_closed = 0
        self.carried = {}
        self.memory = None       # MemoryWriter, for the checks at the end
        self.writers = []        # limits writers, for the checks at the end

    def running(self):
        return not self.stop.is_set() and time.monotonic() < self.end

    def violation(self, client, text):
        with self.lock:
            self.violations.append("%s: %s" % (client, text))

    def call(self, client, what, fn, *args, may_be_off=False):
        """fn(*args), counted; a failure allowed here raises CallFailed, any
        other is recorded and raises CallFailed too."""
        with self.lock:
            self.calls[client] += 1
        try:
            return fn(*args)
        except (iovirt.Error, libvirt.libvirtError) as e:
            if isinstance(e, iovirt.Error):
                code, message = e.code, e.message
            else:
                code, message = e.get_error_code(), e.get_error_message()
            self.failed(client, what, code, message, may_be_off)
            raise CallFailed() from None

    def run_tool(self, client, what, argv, may_be_off=False):
        """Run virsh or iovsh; its stdout, or CallFailed as call() does."""
        with self.lock:
            self.calls[client] += 1
        p = subprocess.run(argv, env=self.daemon.env, capture_output=True, text=True, timeout=120)
        if p.returncode == 0:
            return p.stdout
        err = p.stderr.strip()
        code = None
        for c, prefix in ERROR_PREFIXES.items():
            if prefix in err:
                code = c
        self.failed(client, what, code, err, may_be_off)
        raise CallFailed()

    def failed(self, client, what, code, message, may_be_off):
        ok = code == OPERATION_TIMEOUT or (code == OPERATION_INVALID and may_be_off)
        with self.lock:
            if ok:
                self.allowed[(client, code)] += 1
            else:
                self.unexpected.append("%s: %s: error %s: %s" % (client, what, code, message))


class Client(threading.Thread):
    """One client: its own connection, its own loop, until the run ends."""

    def __init__(self, run, name):
        super().__init__(name=name, daemon=True)
        self.run_ = run
        self.rng = random.Random(name)

    def run(self):
        try:
            self.body()
        except CallFailed:
            pass
        except Exception as e:  # noqa: B902 - any crash of a client fails the test
            with self.run_.lock:
                self.run_.unexpected.append("%s: stopped by %r" % (self.name, e))

    def body(self):
        raise NotImplementedError


def memory_of(xml):
    m = MEMORY_RE.search(xml)
    return int(m.group(1)) if m else None


def bps_rd_of(xml, target):
    """The bps_rd a definition gives disk `target` (0: none)."""
    for disk in ET.fromstring(xml).iter("disk"):
        if disk.find("target").get("dev") == target:
            th = disk.find("iothrottle")
            return int(th.get("bps_rd", 0)) if th is not None else 0
    raise AssertionError("no disk %s in %s" % (target, xml))


class MemoryWriter(Client):
    """Redefines r1 with <memory> one KiB larger each time. After every
    successful define, and before the next, the saved definition (read
    through the API and from the file on disk) must hold that value:
    nothing else changes <memory>."""

    def __init__(self, run, name):
        super().__init__(run, name)
        self.defines = 0          # successful defines
        self.undone = []          # (value defined, seen by the API, seen on disk)
        self.last = None          # the value of the last successful define
        self.last_undone = False

    def check(self, xml):
        with open(self.path) as f:
            on_disk = memory_of(f.read())
        seen = memory_of(xml)
        if (seen != self.last or on_disk != self.last) and not self.last_undone:
            self.last_undone = True
            self.undone.append((self.last, seen, on_disk))

    def body(self):
        run = self.run_
        conn = iovirt.open(run.daemon.uri)
        try:
            dom = conn.lookupByName("r1")
            self.path = os.path.join(run.daemon.config_home, "iovirt", "qemu", "r1.xml")
            value = BASE_MEMORY_KIB
            while run.running():
                with run.lock:
                    run.windows_opened += 1
                    window = run.windows_opened
                try:
                    xml = run.call(self.name, "dumpxml --inactive r1", dom.XMLDesc,
                                   iovirt.XML_INACTIVE)
                    with run.lock:
                        run.carried[window] = bps_rd_of(xml, "vda")
                    if self.last is not None:
                        self.check(xml)
                    value += 1
                    new = MEMORY_RE.sub('<memory unit="KiB">%d</memory>' % value, xml)
                    try:
                        run.call(self.name, "define r1", conn.defineXML, new)
                    except CallFailed:
                        continue
                finally:
                    with run.lock:
                        run.windows_closed += 1
                self.defines += 1
                self.last = value
                self.last_undone = False
                self.check(run.call(self.name, "dumpxml --inactive r1", dom.XMLDesc,
                                    iovirt.XML_INACTIVE))
        finally:
            conn.close()


class LimitsWriter(Client):
    """Sets a new bps_rd on one disk each time, then checks the live limits
    and (with CONFIG) the saved ones through its own iovirt connection.
    Subclasses send the change through one client program each."""

    config = True

    def __init__(self, run, name, guest, disk):
        super().__init__(run, name)
        self.guest = guest
        self.disk = disk
        self.sets = 0
        self.forgiven = 0              # saved values a define may have replaced
        self.last = None               # bps_rd of the last successful set
        self.last_closed = 0           # windows closed before that set began
        self.base = {"r1": 1, "r2": 2, "r3": 3}[guest] * 10**9 + (DISKS.index(disk) + 1) * 10**8

    def replaced_by_define(self, closed_before, saved):
        """Whether a read-then-define of r1 by the memory writer that
        overlapped the span from a set (begun after `closed_before` windows
        had closed) to now carried `saved`, the bps_rd it read before the
        set: its define then legitimately replaced the set's saved value."""
        if (self.guest, self.disk) != ("r1", "vda"):
            return False
        run = self.run_
        with run.lock:
            return any(run.carried.get(w) == saved
                       for w in range(closed_before + 1, run.windows_opened + 1))

    def verify(self, dom, value, closed):
        """Check the limits after a set of `value`, begun when `closed`
        read-then-define windows had closed."""
        run = self.run_
        live = run.call(self.name, "live limits", dom.blockIoThrottle, self.disk, LIVE)
        if live["bps_rd"] != value:
            run.violation(self.name, "%s/%s: live bps_rd is %d after a set of %d" % (
                self.guest, self.disk, live["bps_rd"], value))
        if not self.config:
            return
        saved = run.call(self.name, "saved limits", dom.blockIoThrottle, self.disk, CONFIG)
        if saved["bps_rd"] == value:
            return
        if self.replaced_by_define(closed, saved["bps_rd"]):
            self.forgiven += 1
        else:
            run.violation(self.name, "%s/%s: saved bps_rd is %d after a set of %d" % (
                self.guest, self.disk, saved["bps_rd"], value))

    def connect(self):
        pass

    def disconnect(self):
        pass

    def body(self):
        run = self.run_
        conn = iovirt.open(run.daemon.uri)
        self.connect()
        try:
            dom = conn.lookupByName(self.guest)
            value = self.base
            while run.running():
                value += 1
                with run.lock:
                    closed = run.windows_closed
                try:
                    self.set(value)
                except CallFailed:
                    continue
                self.sets += 1
                self.last, self.last_closed = value, closed
                try:
                    self.verify(dom, value, closed)
                except CallFailed:
                    pass
        finally:
            self.disconnect()
            conn.close()


class IovirtLimitsWriter(LimitsWriter):
    """LIVE|CONFIG through the iovirt module."""

    def connect(self):
        self.conn = iovirt.open(self.run_.daemon.uri)
        self.dom = self.conn.lookupByName(self.guest)

    def disconnect(self):
        # a domain handle keeps its connection open
        self.dom = None
        self.conn.close()

    def set(self, value):
        self.run_.call(self.name, "set %s/%s" % (self.guest, self.disk),
                       self.dom.setBlockIoThrottle, self.disk, {"bps_rd": value}, LIVE | CONFIG)


class VirshLimitsWriter(LimitsWriter):
    """blkdeviotune --live --config through the real virsh."""

    def set(self, value):
        d = self.run_.daemon
        self.run_.run_tool(self.name, "blkdeviotune %s %s" % (self.guest, self.disk),
                           ["virsh", "-q", "-c", d.libvirt_uri, "blkdeviotune", self.guest,
                            self.disk, "--read-bytes-sec", str(value), "--live", "--config"])


class IovshLimitsWriter(LimitsWriter):
    """blkiothrottle --live --config through iovsh."""

    def set(self, value):
        d = self.run_.daemon
        self.run_.run_tool(self.name, "blkiothrottle %s %s" % (self.guest, self.disk),
                           [iovtest.IOVSH, "-c", d.uri, "blkiothrottle", self.guest, self.disk,
                            "--bps_rd", str(value), "--live", "--config"])


class LibvirtLimitsWriter(LimitsWriter):
    """LIVE only, through python3-libvirt's setBlockIoTune."""

    config = False

    def connect(self):
        self.conn = libvirt.open(self.run_.daemon.libvirt_uri)
        self.dom = self.conn.lookupByName(self.guest)

    def disconnect(self):
        # a domain handle keeps its connection open
        self.dom = None
        self.conn.close()

    def set(self, value):
        self.run_.call(self.name, "setBlockIoTune %s/%s" % (self.guest, self.disk),
                       self.dom.setBlockIoTune, self.disk, {"read_bytes_sec": value},
                       libvirt.VIR_DOMAIN_AFFECT_LIVE)


class Lifecycle(Client):
    """Starts and destroys one of the defined guests, which it alone does:
    after a start it must run, with its XML's limit in force, and after a
    destroy be shut off. It leaves the guest shut off."""

    def __init__(self, run, name, guest, use_libvirt):
        super().__init__(run, name)
        self.guest = guest
        self.use_libvirt = use_libvirt
        self.cycles = 0

    def body(self):
        run = self.run_
        if self.use_libvirt:
            conn = libvirt.open(run.daemon.libvirt_uri)
            running, shutoff = libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_SHUTOFF
        else:
            conn = iovirt.open(run.daemon.uri)
            running, shutoff = iovirt.DOMAIN_RUNNING, iovirt.DOMAIN_SHUTOFF
        dom = conn.lookupByName(self.guest)
        try:
            while run.running():
                try:
                    run.call(self.name, "start " + self.guest, dom.create)
                    state = run.call(self.name, "state " + self.guest, dom.state)[0]
                    if state != running:
                        run.violation(self.name, "%s is in state %d after a start" % (
                            self.guest, state))
                    if self.use_libvirt:
                        bps_rd = run.call(self.name, "limits " + self.guest, dom.blockIoTune, "vda",
                                          libvirt.VIR_DOMAIN_AFFECT_LIVE)["read_bytes_sec"]
                    else:
                        bps_rd = run.call(self.name, "limits " + self.guest, dom.blockIoThrottle,
                                          "vda", LIVE)["bps_rd"]
                    if bps_rd != BOOT_BPS_RD:
                        run.violation(self.name, "%s/vda runs with bps_rd %d, not %d" % (
                            self.guest, bps_rd, BOOT_BPS_RD))
                    run.call(self.name, "destroy " + self.guest, dom.destroy)
                    state = run.call(self.name, "state " + self.guest, dom.state)[0]
                    if state != shutoff:
                        run.violation(self.name, "%s is in state %d after a destroy" % (
                            self.guest, state))
                    self.cycles += 1
                except CallFailed:
                    pass
        finally:
            try:
                if dom.isActive():
                    dom.destroy()
            finally:
                conn.close()


class Reader(Client):
    """Reads, in a random order, every kind of state of every guest. The
    running guests must be running; the live bps_rd of a disk a writer owns
    never goes down (writers only raise it); a defined guest may be found
    shut off by a read that needs it running."""

    OWNED = {("r1", "vda"), ("r2", "vda"), ("r3", "vda"), ("r3", "vdb")}

    def __init__(self, run, name, api, readonly):
        super().__init__(run, name)
        self.api = api
        self.readonly = readonly
        self.seen = {}

    def open(self):
        d = self.run_.daemon
        if self.api == "iovirt":
            return (iovirt.openReadOnly(d.uri_ro) if self.readonly else iovirt.open(d.uri))
        return (libvirt.openReadOnly(d.libvirt_uri_ro) if self.readonly
                else libvirt.open(d.libvirt_uri))

    def monotonic(self, guest, disk, bps_rd):
        key = (guest, disk)
        if key not in self.OWNED:
            return
        if bps_rd < self.seen.get(key, 0):
            self.run_.violation(self.name, "%s/%s: live bps_rd went down from %d to %d" % (
                guest, disk, self.seen[key], bps_rd))
        self.seen[key] = bps_rd

    def body(self):
        run = self.run_
        conn = self.open()
        try:
            lib = self.api == "libvirt"
            live_flag = libvirt.VIR_DOMAIN_AFFECT_LIVE if lib else LIVE
            config_flag = libvirt.VIR_DOMAIN_AFFECT_CONFIG if lib else CONFIG
            inactive = libvirt.VIR_DOMAIN_XML_INACTIVE if lib else iovirt.XML_INACTIVE
            running = libvirt.VIR_DOMAIN_RUNNING if lib else iovirt.DOMAIN_RUNNING
            doms = {n: conn.lookupByName(n) for n in RUNNING + DEFINED}
            while run.running():
                name = self.rng.choice(RUNNING + DEFINED)
                dom = doms[name]
                off = name in DEFINED
                op = self.rng.choice(("list", "state", "limits", "xml", "info", "stats"))
                try:
                    if op == "list":
                        names = sorted(d.name() for d in run.call(self.name, "list",
                                                                  conn.listAllDomains, 0))
                        if names != sorted(RUNNING + DEFINED):
                            run.violation(self.name, "list shows %s" % names)
                    elif op == "state":
                        state = run.call(self.name, "state " + name, dom.state)[0]
                        if not off and state != running:
                            run.violation(self.name, "%s is in state %d" % (name, state))
                    elif op == "limits":
                        disk = self.rng.choice(DISKS) if not off else "vda"
                        flags = self.rng.choice((0, live_flag, config_flag))
                        fn = dom.blockIoTune if lib else dom.blockIoThrottle
                        what = "limits %s/%s (flags %d)" % (name, disk, flags)
                        limits = run.call(self.name, what, fn, disk, flags, may_be_off=off)
                        if not off and flags != config_flag:
                            self.monotonic(name, disk,
                                           limits["read_bytes_sec" if lib else "bps_rd"])
                    elif op == "xml":
                        flags = self.rng.choice((0, inactive))
                        xml = run.call(self.name, "dumpxml %s (flags %d)" % (name, flags),
                                       dom.XMLDesc, flags)
                        if "<name>%s</name>" % name not in xml:
                            run.violation(self.name, "the XML of %s does not name it" % name)
                    elif op == "info":
                        run.call(self.name, "info " + name, dom.info)
                    else:
                        run.call(self.name, "blockstats %s/vda" % name, dom.blockStats, "vda",
                                 may_be_off=off)
                except CallFailed:
                    pass
        finally:
            conn.close()


class IovshReader(Client):
    """Lists the guests and shows limits with iovsh."""

    def body(self):
        run = self.run_
        d = run.daemon
        while run.running():
            name = self.rng.choice(RUNNING + DEFINED)
            try:
                if self.rng.random() < 0.5:
                    out = run.run_tool(self.name, "list --all", [iovtest.IOVSH, "-c", d.uri, "list",
                                                                 "--all"])
                    for n in RUNNING + DEFINED:
                        if not re.search(r"\b%s\b" % n, out):
                            run.violation(self.name, "iovsh list --all misses %s: %s" % (n, out))
                else:
                    run.run_tool(self.name, "blkiothrottle " + name,
                                 [iovtest.IOVSH, "-c", d.uri, "blkiothrottle", name, "vda"],
                                 may_be_off=name in DEFINED)
            except CallFailed:
                pass


def make_clients(run):
    """The twenty clients."""
    run.memory = MemoryWriter(run, "memory-writer")
    run.writers = [
        IovirtLimitsWriter(run, "limits-iovirt-r1", "r1", "vda"),
        VirshLimitsWriter(run, "limits-virsh-r2", "r2", "vda"),
        IovshLimitsWriter(run, "limits-iovsh-r3", "r3", "vdb"),
        LibvirtLimitsWriter(run, "limits-libvirt-r3", "r3", "vda"),
    ]
    clients = [run.memory] + run.writers + [
        Lifecycle(run, "lifecycle-d1", "d1", use_libvirt=False),
        Lifecycle(run, "lifecycle-d2", "d2", use_libvirt=True),
        IovshReader(run, "reader-iovsh"),
    ]
    for i in range(4):
        clients.append(Reader(run, "reader-iovirt-%d" % i, "iovirt", readonly=False))
    for i in range(3):
        clients.append(Reader(run, "reader-iovirt-ro-%d" % i, "iovirt", readonly=True))
    for i in range(3):
        clients.append(Reader(run, "reader-libvirt-%d" % i, "libvirt", readonly=False))
    for i in range(2):
        clients.append(Reader(run, "reader-libvirt-ro-%d" % i, "libvirt", readonly=True))
    assert len(clients) == 20
    return clients


def daemon_counts(pid):
    """The daemon's open files and threads."""
    return (len(os.listdir("/proc/%d/fd" % pid)), len(os.listdir("/proc/%d/task" % pid)))


def daemon_fds(pid):
    out = []
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            out.append(os.readlink("/proc/%d/fd/%s" % (pid, fd)))
        except OSError:
            pass
    return sorted(out)


def qmp_limits(path, groups):
    """qom-get of the `limits` of each throttle-group object in `groups`,
    through the QMP socket at `path` (nobody else may be connected)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(path)
    f = s.makefile("rw")

    def execute(cmd, **args):
        f.write(json.dumps({"execute": cmd, "arguments": args}) + "\n")
        f.flush()
        while True:
            reply = json.loads(f.readline())
            if "return" in reply:
                return reply["return"]
            if "error" in reply:
                raise RuntimeError("%s: %s" % (cmd, reply["error"]))

    try:
        json.loads(f.readline())  # the greeting
        execute("qmp_capabilities")
        return {g: execute("qom-get", path="/objects/" + g, property="limits") for g in groups}
    finally:
        f.close()
        s.close()


def as_qemu(limits):
    """iovirt's limits of a disk as QEMU's `limits` object holds them: a
    burst length of 0 (the default) is sent to QEMU as 1."""
    out = {}
    for field in iovirt.throttleFields():
        if field.qemu_key is None:
            continue
        v = limits[field.name]
        if field.name.endswith("_length") and v == 0:
            v = 1
        out[field.qemu_key] = v
    return out


@pytest.fixture(scope="module")
def daemon():
    d = iovtest.Daemon().start()
    yield d
    d.cleanup()


def define_guests(daemon, conn):
    for name in RUNNING + DEFINED:
        disks = []
        for target in (DISKS if name in RUNNING else ("vda",)):
            image = iovtest.make_image(os.path.join(daemon.tmp, "%s-%s.img" % (name, target)),
                                       16 * iovtest.MiB, filled=0)
            th = "" if name in RUNNING else "<iothrottle bps_rd='%d'/>" % BOOT_BPS_RD
            disks.append(iovtest.file_disk(target, image, th))
        serial = os.path.join(daemon.tmp, name + "-serial.log")
        conn.defineXML(iovtest.guest_xml(name, disks, serial))


@pytest.fixture(scope="module")
def stress(daemon):
    """Runs the clients, then gathers what the tests check."""
    t0 = time.monotonic()
    conn = iovirt.open(daemon.uri)
    define_guests(daemon, conn)
    for name in RUNNING:
        conn.lookupByName(name).create()
    timing = {"setup": time.monotonic() - t0}
    pid = daemon.proc.pid
    before = daemon_counts(pid)
    before_fds = daemon_fds(pid)

    run = Run(daemon, DURATION)
    clients = make_clients(run)
    started = time.monotonic()
    try:
        for c in clients:
            c.start()
        for c in clients:
            c.join(max(run.end - time.monotonic(), 0) + 120)
    finally:
        run.stop.set()
    stuck = [c.name for c in clients if c.is_alive()]
    elapsed = time.monotonic() - started

    result = {"run": run, "stuck": stuck, "elapsed": elapsed, "before": before}
    # the state every writer left
    r1 = conn.lookupByName("r1")
    result["memory_api"] = memory_of(r1.XMLDesc(iovirt.XML_INACTIVE))
    with open(os.path.join(daemon.config_home, "iovirt", "qemu", "r1.xml")) as f:
        result["memory_disk"] = memory_of(f.read())
    result["live"] = {(n, d): conn.lookupByName(n).blockIoThrottle(d, LIVE)
                      for n in RUNNING for d in DISKS}
    result["saved"] = {(n, d): conn.lookupByName(n).blockIoThrottle(d, CONFIG)
                       for n in RUNNING for d in DISKS}
    result["active"] = sorted(d.name() for d in conn.listAllDomains(iovirt.LIST_DOMAINS_ACTIVE))
    ids = {n: conn.lookupByName(n).ID() for n in RUNNING}

    # the daemon at rest: every client has gone, the same guests run
    try:
        iovtest.wait_for(lambda: daemon_counts(pid) == before, timeout=30,
                         what="the daemon's fd and thread counts back to %s" % (before,))
    except TimeoutError:
        pass
    timing["idle"] = time.monotonic() - t0 - timing["setup"] - elapsed
    result["after"] = daemon_counts(pid)
    result["fds_gained"] = sorted((collections.Counter(daemon_fds(pid))
                                   - collections.Counter(before_fds)).elements())
    conn.close()

    # QEMU's own limits: the daemon is its monitor's only client, so stop
    # it (the guests keep running) and ask each QEMU
    qemu_pids = daemon.qemu_pids()
    daemon.stop()
    for qpid in qemu_pids:
        iovtest.kill_at_exit(qpid)
    result["qemu"] = {}
    for n in RUNNING:
        path = os.path.join(daemon.state_dir, "%d.qmp" % ids[n])
        groups = qmp_limits(path, ["tg-" + d for d in DISKS])
        for d in DISKS:
            result["qemu"][(n, d)] = groups["tg-" + d]
    timing["end"] = time.monotonic() - t0 - timing["setup"] - elapsed - timing["idle"]

    print("\n%d clients for %.0f s; calls: %s" % (len(clients), elapsed, dict(run.calls)))
    print("allowed errors: %s" % dict(run.allowed))
    print("defines of r1: %d, undone: %d" % (run.memory.defines, len(run.memory.undone)))
    print("sets: %s" % {w.name: w.sets for w in run.writers})
    print("saved values replaced by a define: %s" % {w.name: w.forgiven for w in run.writers})
    print("r1/vda: live %s, QEMU %s" % (as_qemu(result["live"][("r1", "vda")]),
                                       result["qemu"][("r1", "vda")]))
    print("timing: %s" % timing)
    print("fds/threads before %s, after %s" % (before, result["after"]))
    return result


def test_every_client_ran_and_ended(stress):
    run = stress["run"]
    assert not stress["stuck"], "clients still running at the end: %s" % stress["stuck"]
    idle = [name for name, n in sorted(run.calls.items()) if n < 5]
    assert not idle, "clients that hardly ran: %s (calls: %s)" % (idle, dict(run.calls))
    assert run.memory.defines > 0 and all(w.sets > 0 for w in run.writers), (
        "a writer never succeeded: %d defines, sets %s" % (
            run.memory.defines, {w.name: w.sets for w in run.writers}))


def test_no_define_is_undone(stress):
    m = stress["run"].memory
    assert not m.undone, (
        "%d of %d successful defines of r1 were undone: the saved <memory> went back "
        "(first ones, as (defined, read through the API, read on disk) KiB: %s)" % (
            len(m.undone), m.defines, m.undone[:5]))


def test_last_define_is_saved(stress):
    m = stress["run"].memory
    assert (stress["memory_api"], stress["memory_disk"]) == (m.last, m.last), (
        "r1's last successful define set <memory> to %d KiB; the saved definition has %s "
        "(API) and %s (on disk)" % (m.last, stress["memory_api"], stress["memory_disk"]))


def test_writers_saw_their_changes(stress):
    v = stress["run"].violations
    assert not v, "%d violations, first ones:\n%s" % (len(v), "\n".join(v[:20]))


def test_last_limits_are_in_force_and_saved(stress):
    run = stress["run"]
    wrong = []
    for w in run.writers:
        key = (w.guest, w.disk)
        live = stress["live"][key]["bps_rd"]
        if live != w.last:
            wrong.append("%s/%s: live bps_rd %d, last set %d" % (w.guest, w.disk, live, w.last))
        saved = stress["saved"][key]["bps_rd"]
        if w.config and saved != w.last and not w.replaced_by_define(w.last_closed, saved):
            wrong.append("%s/%s: saved bps_rd %d, last set %d" % (w.guest, w.disk, saved, w.last))
    assert not wrong, "\n".join(wrong)


def test_live_limits_equal_qemus(stress):
    wrong = []
    for key, live in sorted(stress["live"].items()):
        if as_qemu(live) != stress["qemu"][key]:
            wrong.append("%s/%s: live %s, QEMU %s" % (key[0], key[1], as_qemu(live),
                                                       stress["qemu"][key]))
    assert not wrong, "\n".join(wrong)


def test_no_unexpected_errors(stress):
    u = stress["run"].unexpected
    assert not u, "%d calls failed with errors no client may get, first ones:\n%s" % (
        len(u), "\n".join(u[:20]))


def test_daemon_back_to_its_fds_and_threads(stress):
    assert stress["active"] == list(RUNNING), "running at the end: %s" % stress["active"]
    assert stress["after"] == stress["before"], (
        "the daemon had %d fds and %d threads before the run, %d and %d after "
        "(fds gained: %s)" % (stress["before"] + stress["after"] + (stress["fds_gained"],)))
