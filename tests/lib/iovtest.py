"""Helpers for the tests that drive a real iovirtd (and real guests).

A Daemon is a session iovirtd in a private temporary directory (its own
XDG_RUNTIME_DIR, XDG_CONFIG_HOME and HOME), so tests never touch the
machine's daemons. Every QEMU a daemon started is killed when the daemon is
stopped by stop_all(), at interpreter exit, and on SIGTERM.

The test guest (tests/guest/) prints iovprobe's measurements on its serial
port; Serial follows that file while the guest runs.

Paths come from the environment meson sets for the tests
(IOVIRT_BUILD_DIR, IOVIRT_SOURCE_DIR); run outside meson, they default to
the tree this file is in and its build/ directory.
"""

import atexit
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SOURCE_DIR = os.environ.get(
    "IOVIRT_SOURCE_DIR",
    os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BUILD_DIR = os.environ.get("IOVIRT_BUILD_DIR", os.path.join(SOURCE_DIR, "build"))

IOVIRTD = os.path.join(BUILD_DIR, "src", "daemon", "iovirtd")
IOVSH = os.path.join(BUILD_DIR, "tools", "iovsh")
XML_VALIDATE = os.path.join(BUILD_DIR, "tools", "iovirt-xml-validate")
GUEST_KERNEL = os.path.join(BUILD_DIR, "tests", "guest", "vmlinuz")
GUEST_INITRD = os.path.join(BUILD_DIR, "tests", "guest", "initrd.img")
PYTHON_MODULE_DIR = os.path.join(BUILD_DIR, "python")

MiB = 1024 * 1024

_daemons = []
_pids = set()


def _kill_pids():
    for pid in list(_pids):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    _pids.clear()


def stop_all():
    """Stop every daemon started here and kill every QEMU they started."""
    for d in list(_daemons):
        d.stop(kill_guests=True)
    _kill_pids()


atexit.register(stop_all)


def _on_sigterm(signum, frame):
    stop_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


signal.signal(signal.SIGTERM, _on_sigterm)


def kill_at_exit(pid):
    """Remember a process (nbdkit, nginx, ...) to kill at exit."""
    _pids.add(pid)


def _accepts(path):
    """Whether a unix socket at `path` accepts a connection now."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


class Daemon:
    """A session iovirtd in its own temporary directory."""

    def __init__(self, tmpdir=None, config=None, extra_args=()):
        self.tmp = tmpdir or tempfile.mkdtemp(prefix="iovirt-test-")
        os.chmod(self.tmp, 0o755)
        self.run_dir = os.path.join(self.tmp, "run")
        self.config_home = os.path.join(self.tmp, "config")
        self.home = os.path.join(self.tmp, "home")
        for d in (self.run_dir, self.config_home, self.home):
            os.makedirs(d, mode=0o700, exist_ok=True)
        self.sock_dir = os.path.join(self.run_dir, "iovirt")
        self.sock = os.path.join(self.sock_dir, "iovirt-sock")
        self.sock_ro = os.path.join(self.sock_dir, "iovirt-sock-ro")
        self.state_dir = os.path.join(self.sock_dir, "qemu")
        self.log_file = os.path.join(self.tmp, "iovirtd.log")
        self.guest_log_dir = os.path.join(self.config_home, "iovirt", "log", "qemu")
        self.config = config
        self.extra_args = list(extra_args)
        self.proc = None
        _daemons.append(self)

    @property
    def env(self):
        """The environment of a client that should reach this daemon by
        default (iovirt:///session)."""
        env = dict(os.environ)
        env.update({
            "XDG_RUNTIME_DIR": self.run_dir,
            "XDG_CONFIG_HOME": self.config_home,
            "HOME": self.home,
            "IOVIRTD": IOVIRTD,
            "IOVIRT_DEFAULT_URI": self.uri,
            "LD_LIBRARY_PATH": os.path.join(BUILD_DIR, "src"),
            "PYTHONPATH": PYTHON_MODULE_DIR,
        })
        return env

    @property
    def uri(self):
        return "iovirt+unix:///session?socket=" + self.sock

    @property
    def uri_ro(self):
        return "iovirt+unix:///session?socket=" + self.sock_ro

    @property
    def libvirt_uri(self):
        return "qemu+unix:///session?socket=" + self.sock

    @property
    def libvirt_uri_ro(self):
        return "qemu+unix:///session?socket=" + self.sock_ro

    def start(self, timeout=15):
        args = [IOVIRTD, "--session", "--log-level", "debug", "--log-file", self.log_file]
        if self.config:
            cfg = os.path.join(self.tmp, "iovirtd.conf")
            with open(cfg, "w") as f:
                f.write("[iovirtd]\n")
                for k, v in self.config.items():
                    f.write("%s=%s\n" % (k, v))
            args += ["--config", cfg]
        args += self.extra_args
        self.reported = False
        self.proc = subprocess.Popen(args, env=self.env, stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.tmp, "iovirtd.stderr"), "a"))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("iovirtd exited with %d: %s" % (
                    self.proc.returncode, self.stderr()))
            # a daemon killed before leaves its socket files: only one
            # that accepts a connection is this daemon, done starting
            if all(_accepts(p) for p in (self.sock, self.sock_ro)):
                return self
            time.sleep(0.02)
        raise RuntimeError("iovirtd did not accept connections within %d s" % timeout)

    def stderr(self):
        try:
            with open(os.path.join(self.tmp, "iovirtd.stderr")) as f:
                return f.read()
        except OSError:
            return ""

    def qemu_pids(self):
        """The pids of the QEMUs this daemon runs (from their pidfiles)."""
        pids = []
        for path in glob.glob(os.path.join(self.state_dir, "*.pid")):
            try:
                with open(path) as f:
                    pids.append(int(f.read().strip()))
            except (OSError, ValueError):
                pass
        return pids

    def stop(self, sig=signal.SIGTERM, kill_guests=False, timeout=20):
        """Stop the daemon (guests keep running unless kill_guests)."""
        self.report_unexpected_exit()
        pids = self.qemu_pids()
        if self.proc and self.proc.poll() is None:
            self.reported = True  # its end is ours, not news
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if kill_guests:
            for pid in pids + self.qemu_pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            if self in _daemons:
                _daemons.remove(self)

    def report_unexpected_exit(self):
        """A daemon that ended by itself (a crash, a sanitizer's report):
        its stderr and the end of its log go to this test's own stderr,
        past pytest's capture, so that the test log shows why."""
        if not self.proc or self.proc.poll() is None or getattr(self, "reported", False):
            return
        self.reported = True
        try:
            with open(self.log_file, errors="replace") as f:
                tail = f.read()[-20000:]
        except OSError:
            tail = ""
        sys.__stderr__.write("iovirtd %s ended by itself with status %d\n--- its stderr ---\n%s\n"
                             "--- the end of its log ---\n%s\n"
                             % (self.tmp, self.proc.returncode, self.stderr()[-20000:], tail))
        sys.__stderr__.flush()

    def kill(self):
        """SIGKILL the daemon; its guests keep running."""
        self.stop(sig=signal.SIGKILL)

    def cleanup(self):
        self.stop(kill_guests=True)
        if not os.environ.get("IOVIRT_KEEP_TMP"):
            shutil.rmtree(self.tmp, ignore_errors=True)


def make_image(path, size=64 * MiB, filled=None):
    """A raw image of `size` bytes, its first `filled` bytes (default all)
    written with a pattern (holes read fast, and we measure real reads)."""
    filled = size if filled is None else filled
    block = b"\xa5" * MiB
    with open(path, "wb") as f:
        for _ in range(filled // MiB):
            f.write(block)
        f.truncate(size)
    return path


def file_disk(target, image, throttle=""):
    """A <disk> element for a raw file."""
    return ("    <disk type='file'><driver name='qemu' type='raw' cache='none'/>"
            "<source file='%s'/><target dev='%s'/>%s</disk>\n" % (image, target, throttle))


def guest_xml(name, disks, serial, probe="", after="idle", memory_mib=192, watch=""):
    """A TCG guest running the test kernel, with iov.probe=`probe` and
    iov.after=`after` (poweroff, idle or reboot); with `watch`, it reports
    disks that come and go and runs iovprobe `watch` on each new one
    (iov.watch=, '@' standing for the disk)."""
    cmdline = "console=ttyS0 quiet panic=-1 iov.after=%s" % after
    if probe:
        cmdline += " iov.probe=" + probe
    if watch:
        cmdline += " iov.watch=" + watch
    return ("<domain type='qemu'>\n"
            "  <name>%s</name>\n"
            "  <memory unit='MiB'>%d</memory>\n"
            "  <vcpu>1</vcpu>\n"
            "  <os>\n"
            "    <kernel>%s</kernel>\n"
            "    <initrd>%s</initrd>\n"
            "    <cmdline>%s</cmdline>\n"
            "  </os>\n"
            "  <devices>\n%s"
            "    <serial type='file'><source path='%s'/></serial>\n"
            "  </devices>\n"
            "</domain>\n") % (name, memory_mib, GUEST_KERNEL, GUEST_INITRD, cmdline,
                              "".join(disks), serial)


_SAMPLE = re.compile(r"^IOVPROBE-SAMPLE job=(\d+) sec=(\d+) dt=([0-9.]+) bytes=(\d+) ops=(\d+)$")


class Serial:
    """A guest's serial log, read as it grows (only complete lines)."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.partial = b""
        self.lines = []
        self.samples = []  # (job, sec, dt, bytes, ops)

    def poll(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return 0
        self.offset += len(data)
        data = self.partial + data
        parts = data.split(b"\n")
        self.partial = parts.pop()
        for raw in parts:
            line = raw.replace(b"\0", b"").decode("utf-8", "replace").rstrip("\r")
            self.lines.append(line)
            m = _SAMPLE.match(line)
            if m:
                self.samples.append((int(m.group(1)), int(m.group(2)), float(m.group(3)),
                                     int(m.group(4)), int(m.group(5))))
        return len(parts)

    def wait_line(self, prefix, start=0, timeout=60):
        """The index of the first line at or after `start` beginning with
        `prefix`; raises TimeoutError."""
        deadline = time.monotonic() + timeout
        while True:
            self.poll()
            for i in range(start, len(self.lines)):
                if self.lines[i].startswith(prefix):
                    return i
            if time.monotonic() > deadline:
                raise TimeoutError("no line starting with %r in %s within %s s" % (
                    prefix, self.path, timeout))
            time.sleep(0.05)

    def wait_sample(self, job, sec, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            self.poll()
            if any(s[0] == job and s[1] >= sec for s in self.samples):
                return
            if time.monotonic() > deadline:
                raise TimeoutError("job %d did not reach second %d within %s s" % (job, sec, timeout))
            time.sleep(0.05)

    def rate(self, job, first=2, last=None, ops=False):
        """Average bytes (or ops) per second of `job` over samples first..last."""
        self.poll()
        total = dt = 0.0
        for j, sec, d, b, o in self.samples:
            if j != job or sec < first or (last is not None and sec > last):
                continue
            total += o if ops else b
            dt += d
        return total / dt if dt else 0.0


def assert_rate(what, measured, limit):
    """Within -15 % / +10 % of the limit: loose enough for a busy machine,
    tight enough to catch a limit that is not in force."""
    ratio = measured / limit
    assert 0.85 <= ratio <= 1.10, "%s: measured %.0f/s against a limit of %.0f/s (ratio %.3f)" % (
        what, measured, limit, ratio)


# iovsh linked with the client library, GLib and json-c statically
# (meson.build, iovsh_static)
IOVSH_STATIC = os.environ.get("IOVSH_STATIC") == "1"
# iovsh linked with a static libc: a command that needs a module runs in
# iovsh-full, which holds the copies the module binds to
IOVSH_FRONT = os.environ.get("IOVSH_FRONT") == "1"
MODULE_HOST = "iovsh-full" if IOVSH_FRONT else "iovsh"


def module_bindings(ld_debug_err, module):
    """From the stderr of a program run with LD_DEBUG=bindings: for each
    symbol that `module` (a file name, 'iovirt-tls.so') looked up, the base
    name of the object it was bound to. {symbol: object}"""
    found = {}
    for m in re.finditer(r"binding file (\S+) \[\d+\] to (\S+) \[\d+\]: "
                         r"normal symbol `([^'`]+)'", ld_debug_err):
        if os.path.basename(m.group(1)) == module:
            found[m.group(3)] = os.path.basename(m.group(2))
    return found


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(cond, timeout=30, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise TimeoutError("%s not met within %s s" % (what, timeout))
        time.sleep(interval)
