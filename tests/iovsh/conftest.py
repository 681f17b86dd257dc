"""Fixtures and helpers shared by the tests of iovsh.

Every test file gets one session daemon (module scope) in a private
temporary directory; guests are defined in that daemon by the files that
need them and shared between the tests of a file. The daemon, and every
QEMU it started, is stopped when the file's tests end, also on failure
(iovtest kills them at exit too).

iovsh is run as a subprocess against the daemon's socket; `Shell.ok`
expects success and `Shell.fail` an error, so that each test states the
outcome it wants.
"""

import json
import os
import subprocess
import sys
import time
import uuid

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import iovtest  # noqa: E402

IOVSH = iovtest.IOVSH

# iovirt's field names and libvirt's, in the order of the throttle table
FIELDS = [
    ("bps", "total_bytes_sec"),
    ("bps_rd", "read_bytes_sec"),
    ("bps_wr", "write_bytes_sec"),
    ("iops", "total_iops_sec"),
    ("iops_rd", "read_iops_sec"),
    ("iops_wr", "write_iops_sec"),
    ("bps_max", "total_bytes_sec_max"),
    ("bps_rd_max", "read_bytes_sec_max"),
    ("bps_wr_max", "write_bytes_sec_max"),
    ("iops_max", "total_iops_sec_max"),
    ("iops_rd_max", "read_iops_sec_max"),
    ("iops_wr_max", "write_iops_sec_max"),
    ("bps_max_length", "total_bytes_sec_max_length"),
    ("bps_rd_max_length", "read_bytes_sec_max_length"),
    ("bps_wr_max_length", "write_bytes_sec_max_length"),
    ("iops_max_length", "total_iops_sec_max_length"),
    ("iops_rd_max_length", "read_iops_sec_max_length"),
    ("iops_wr_max_length", "write_iops_sec_max_length"),
    ("iops_size", "size_iops_sec"),
    ("group", "group_name"),
]
FIELD_NAMES = [f for f, _ in FIELDS]
ALIAS = dict(FIELDS)


class Result:
    def __init__(self, args, proc):
        self.args = args
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def __repr__(self):
        return "iovsh %s -> rc=%d\nstdout:\n%s\nstderr:\n%s" % (
            " ".join(self.args), self.rc, self.out, self.err)


class Shell:
    """Runs iovsh against one daemon."""

    def __init__(self, daemon):
        self.daemon = daemon

    def run(self, *args, uri=None, input=None, timeout=120, env=None):
        argv = [IOVSH]
        if uri is not False:
            argv += ["-c", uri or self.daemon.uri]
        argv += list(args)
        proc = subprocess.run(argv, input=input, capture_output=True, text=True,
                              env=env or self.daemon.env, timeout=timeout)
        return Result(list(args), proc)

    def ok(self, *args, **kw):
        """Run iovsh, expect success and no error output; return stdout."""
        r = self.run(*args, **kw)
        assert r.rc == 0, r
        assert r.err == "", r
        return r.out

    def fail(self, *args, **kw):
        """Run iovsh, expect exit status 1 and one error line; return it."""
        r = self.run(*args, **kw)
        assert r.rc == 1, r
        assert r.out == "", r
        assert r.err.startswith("error: "), r
        assert "Traceback" not in r.err and "Segmentation" not in r.err
        return r.err.strip()

    def json(self, *args, **kw):
        return json.loads(self.ok("-o", "json", *args, **kw))

    def throttle(self, dom, disk, *flags):
        """The limits of a disk, read back with blkiothrottle -o json."""
        return self.json("blkiothrottle", dom, disk, *flags)


def virsh(daemon, *args, ro=False):
    """Run the real virsh against the daemon; return the CompletedProcess."""
    uri = daemon.libvirt_uri_ro if ro else daemon.libvirt_uri
    return subprocess.run(["virsh", "-c", uri] + list(args), capture_output=True, text=True,
                          env=daemon.env, timeout=60)


def virsh_iotune(daemon, dom, disk, *flags):
    """The limits of a disk as the real virsh blkdeviotune shows them,
    keyed by iovirt's field names."""
    r = virsh(daemon, "blkdeviotune", dom, disk, *flags)
    assert r.returncode == 0, r.stderr
    by_alias = {}
    for line in r.stdout.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            by_alias[k.strip()] = v.strip()
    out = {}
    for name, alias in FIELDS:
        v = by_alias[alias]
        out[name] = v if name == "group" else int(v)
    return out


def parse_display(text):
    """The text display of blkiothrottle: field -> (value text), checking
    that the colons are aligned."""
    lines = text.splitlines()
    cols = {line.index(" : ") for line in lines}
    assert len(cols) == 1, "colons not aligned:\n" + text
    out = {}
    for line in lines:
        k, v = line.split(" : ", 1)
        out[k.strip()] = v
    return out


class Guest:
    """A test guest defined in a daemon: its name, images and serial log."""

    def __init__(self, daemon, name, disks, probe="", after="idle"):
        """disks: list of (target, iothrottle element or "")."""
        self.daemon = daemon
        self.name = name
        self.images = {}
        elems = []
        for target, throttle in disks:
            path = os.path.join(daemon.tmp, "%s-%s.img" % (name, target))
            iovtest.make_image(path, 32 * iovtest.MiB)
            self.images[target] = path
            elems.append(iovtest.file_disk(target, path, throttle))
        self.serial_path = os.path.join(daemon.tmp, name + "-serial.log")
        self.xml = iovtest.guest_xml(name, elems, self.serial_path, probe=probe, after=after)
        self.xml_path = os.path.join(daemon.tmp, name + ".xml")
        with open(self.xml_path, "w") as f:
            f.write(self.xml)

    def define(self, sh):
        out = sh.ok("define", self.xml_path)
        assert out == "Domain '%s' defined from %s\n" % (self.name, self.xml_path)
        return self

    def start(self, sh, wait_ready=True):
        open(self.serial_path, "w").close()
        self.serial = iovtest.Serial(self.serial_path)
        sh.ok("start", self.name)
        if wait_ready:
            self.serial.wait_line("GUEST-READY", timeout=60)
        return self


@pytest.fixture(scope="module")
def daemon():
    d = iovtest.Daemon().start()
    try:
        yield d
    finally:
        d.cleanup()


@pytest.fixture(scope="module")
def sh(daemon):
    return Shell(daemon)


class Tmux:
    """iovsh in a terminal: a private tmux server running one window."""

    def __init__(self, daemon, *args, width=160, height=50):
        # a name of its own (id() may be reused by a newer object while the
        # server of an older one is still shutting down)
        self.sock = "iovsh-test-%d-%s" % (os.getpid(), uuid.uuid4().hex[:12])
        self.env = dict(daemon.env)
        self.env["TERM"] = "xterm"
        self.env.pop("TMUX", None)
        argv = [IOVSH, "-c", daemon.uri] + list(args)
        p = self.tmux("new-session", "-d", "-s", "main", "-x", str(width), "-y", str(height),
                      " ".join("'%s'" % a for a in argv))
        assert p.returncode == 0, "tmux new-session failed: %s" % p.stderr

    def tmux(self, *args):
        return subprocess.run(["tmux", "-L", self.sock] + list(args), capture_output=True, text=True,
                              env=self.env, timeout=30)

    def keys(self, *keys):
        """Send keys by tmux name (Enter, Tab, C-c, Up...)."""
        self.tmux("send-keys", "-t", "main", *keys)

    def type(self, text):
        """Type text literally."""
        self.tmux("send-keys", "-t", "main", "-l", "--", text)

    def screen(self):
        return self.tmux("capture-pane", "-t", "main", "-p", "-S", "-200").stdout

    def wait(self, cond, timeout=20, what="screen"):
        """Wait until cond(screen) is true (or the text `cond` is on the
        screen); returns the screen."""
        test = cond if callable(cond) else (lambda s: cond in s)
        deadline = time.monotonic() + timeout
        while True:
            s = self.screen()
            if test(s):
                return s
            if time.monotonic() > deadline:
                raise AssertionError("%s not on the screen within %s s:\n%s" % (
                    cond if not callable(cond) else what, timeout, s))
            time.sleep(0.05)

    def line(self):
        """The last non-empty line of the screen (where the cursor is)."""
        lines = [line for line in self.screen().splitlines() if line.strip()]
        return lines[-1] if lines else ""

    def alive(self):
        return self.tmux("has-session", "-t", "main").returncode == 0

    def kill(self):
        self.tmux("kill-server")
