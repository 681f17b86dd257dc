"""Live migration between two daemons on this machine (standing for two
hosts; the storage at the same path), one real guest carried back and
forth by the real virsh (client-driven and --p2p, over unix and TLS),
iovsh and the Python module: the limits in force travel (a --live change,
a hot-plugged disk, a guest-wide group), measured inside the guest and in
QEMU's counters on arrival; a migration holds the guest (a limit change
is refused, domjobinfo shows it, domjobabort cancels it); and every
failure leaves the guest running on the source with its limits, and the
destination holding nothing."""

import glob
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import pytest

import iovtest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import pki  # noqa: E402

MiB = iovtest.MiB
NAME = "mig1"
FIRST = 2 * MiB    # vda's own read limit as defined
LIVE = 3 * MiB     # ... as changed --live before the first migration
CAP = 5 * MiB      # the guest-wide group every disk passes through
VDB = 4 * MiB      # the hot-plugged disk's own read limit
DN = "O=iovirt tests,CN=iovirt test client"


def run(argv, env, check=True, timeout=120):
    p = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError("%s failed: %s%s" % (" ".join(argv), p.stdout, p.stderr))
    return p


def virsh(d, *args, check=True, uri=None):
    return run(["virsh", "-q", "-c", uri or d.libvirt_uri] + list(args), d.env, check=check)


def iovsh(d, *args, check=True):
    return run([iovtest.IOVSH, "-c", d.uri] + list(args), d.env, check=check)


def read_limit(d, disk="vda"):
    out = virsh(d, "blkdeviotune", NAME, disk).stdout
    for line in out.splitlines():
        k, _, v = line.partition(":")
        if k.strip() == "read_bytes_sec":
            return int(v)
    raise AssertionError("no read_bytes_sec in %r" % out)


def holds_nothing(d):
    """The daemon has no domain of that name, no QEMU, no status file."""
    assert virsh(d, "domstate", NAME, check=False).returncode != 0, "%s still knows %s" % (d.tmp, NAME)
    assert d.qemu_pids() == [], "a QEMU still runs for %s" % d.tmp
    assert glob.glob(os.path.join(d.state_dir, "*.xml")) == [], "a status file is left"
    alive = [p for p in all_qemus() if p not in owned_pids()]
    assert alive == [], "a QEMU nobody owns runs: %s" % alive


_owners = []


def owned_pids():
    return [p for d in _owners for p in d.qemu_pids()]


def all_qemus():
    """The test guest's QEMUs on this machine started by our daemons."""
    out = subprocess.run(["pgrep", "-f", "guest=%s," % NAME], capture_output=True, text=True)
    pids = [int(x) for x in out.stdout.split()]
    mine = []
    for pid in pids:
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                cmd = f.read().decode(errors="replace")
        except OSError:
            continue
        if any(d.tmp in cmd for d in _owners):
            mine.append(pid)
    return mine


def runs_here(d):
    assert virsh(d, "domstate", NAME).stdout.strip() == "running"
    assert len(d.qemu_pids()) == 1


@pytest.fixture(scope="module")
def pkidir():
    d = tempfile.mkdtemp(prefix="iovirt-pki-")
    p = pki.make_pki(d)
    yield p
    subprocess.run(["rm", "-rf", d])


@pytest.fixture(scope="module")
def hosts(pkidir):
    """Two daemons: a, and b, which listens for TLS too."""
    port = iovtest.free_port()
    # each daemon's incoming guests listen on one port of their own, so
    # that the test kills the stream's connection and nothing else's
    a_port, b_port = iovtest.free_port(), iovtest.free_port()
    a = iovtest.Daemon(config={"migration_address": "127.0.0.1",
                               "migration_port_min": a_port,
                               "migration_port_max": a_port}).start()
    a.migration_port = a_port
    b = iovtest.Daemon(config={
        "listen_tls": 1, "listen_addr": "127.0.0.1", "tls_port": port,
        "ca_file": pkidir["ca"]["cert"], "cert_file": pkidir["server"]["cert"],
        "key_file": pkidir["server"]["key"], "tls_allowed_dn_list": DN,
        "migration_port_min": b_port, "migration_port_max": b_port}).start()
    b.tls_uri = "qemu+tls://127.0.0.1:%d/session?pkipath=%s" % (port, pkidir["pkipath"])
    _owners.extend([a, b])
    try:
        yield a, b
    finally:
        for pid in all_qemus():
            os.kill(pid, signal.SIGKILL)
        a.cleanup()
        b.cleanup()


@pytest.fixture(scope="module")
def guest(hosts):
    """mig1 running on a, reading vda at 2 MiB/s through the group 'cap'."""
    a, b = hosts
    shared = tempfile.mkdtemp(prefix="iovirt-shared-")
    os.chmod(shared, 0o755)
    img = iovtest.make_image(os.path.join(shared, "vda.img"))
    vdb = iovtest.make_image(os.path.join(shared, "vdb.img"))
    serial = os.path.join(shared, "serial.log")
    disk = iovtest.file_disk("vda", img, "<iothrottle bps_rd='%d'/><throttlefilters>"
                             "<throttlefilter group='cap'/></throttlefilters>" % FIRST)
    xml = iovtest.guest_xml(NAME, [disk], serial, probe="read:vda:bs=64k:time=900",
                            watch="read:@:bs=64k:time=900")
    xml = xml.replace("  <devices>\n", "  <throttlegroups><throttlegroup name='cap' bps_rd='%d'/>"
                      "</throttlegroups>\n  <devices>\n" % CAP, 1)
    path = os.path.join(shared, NAME + ".xml")
    with open(path, "w") as f:
        f.write(xml)
    virsh(a, "define", path)
    virsh(a, "start", NAME)
    s = iovtest.Serial(serial)
    s.wait_sample(0, 3, timeout=90)
    yield {"serial": s, "shared": shared, "vda": img, "vdb": vdb}
    subprocess.run(["rm", "-rf", shared])


def rate_after(s, settle=1, secs=4):
    """The guest's read rate of vda over `secs` seconds, `settle` seconds
    after now (a limit change lets a burst through: QEMU does not carry
    the bucket's level)."""
    s.poll()
    start = max([x[1] for x in s.samples if x[0] == 0] or [0])
    s.wait_sample(0, start + settle + secs, timeout=60)
    return s.rate(0, first=start + settle + 1, last=start + settle + secs)


def counters(d, disk):
    out = virsh(d, "domblkstat", NAME, disk).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1] == "rd_bytes":
            return int(parts[2])
    raise AssertionError("no rd_bytes in %r" % out)


def host_rates(d, disks, secs=5):
    """Read rates of `disks` from QEMU's counters over `secs` seconds."""
    before = {x: counters(d, x) for x in disks}
    t0 = time.monotonic()
    time.sleep(secs)
    after = {x: counters(d, x) for x in disks}
    dt = time.monotonic() - t0
    return {x: (after[x] - before[x]) / dt for x in disks}


def assert_capped(what, measured, cap):
    """The sum of two disks under a group: at most the cap (+10 %), and
    not far below it (-25 %: QEMU's counters seen from the host, on a
    machine shared with other work, while the guest's two readers share
    one TCG vCPU)."""
    ratio = measured / cap
    assert 0.75 <= ratio <= 1.10, "%s: %.0f/s against a cap of %.0f/s (ratio %.3f)" % (
        what, measured, cap, ratio)


def qmp(d, cmd):
    return json.loads(virsh(d, "qemu-monitor-command", NAME, json.dumps(cmd)).stdout)


def slow_stream(d, bps):
    """Bound the source QEMU's migration stream, so that a migration lasts."""
    qmp(d, {"execute": "migrate-set-parameters", "arguments": {"max-bandwidth": bps}})


def streaming(d):
    """The migration of the guest from `d` sends its memory now
    (virsh domjobinfo), or False."""
    out = virsh(d, "domjobinfo", NAME, check=False).stdout
    return "Unbounded" in out and "Data processed" in out and out


def migrate_and_hit(src, dst, hit, flags=("--live",), timeout=60):
    """Start the real `virsh migrate` of the guest from `src` to `dst`,
    call `hit()` once its memory streams, and return virsh's stderr: the
    migration must fail."""
    proc = subprocess.Popen(["virsh", "-q", "-c", src.libvirt_uri, "migrate"] + list(flags) +
                            [NAME, dst.libvirt_uri], env=src.env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        iovtest.wait_for(lambda: streaming(src), timeout=30, what="the stream under way")
        hit()
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0, out
    return err.strip()


def dropped(d):
    """`d`, the destination of a failed migration, lets the guest go and
    then holds nothing of it."""
    iovtest.wait_for(lambda: d.qemu_pids() == [] and
                     virsh(d, "domstate", NAME, check=False).returncode != 0,
                     timeout=20, what="the destination dropping the guest")
    holds_nothing(d)


def test_01_virsh_migrate_live_keeps_the_live_limit(hosts, guest):
    a, b = hosts
    s = guest["serial"]
    iovtest.assert_rate("vda on a as defined", rate_after(s, settle=0, secs=2), FIRST)
    virsh(a, "blkdeviotune", NAME, "vda", "--read-bytes-sec", str(LIVE), "--live")
    assert read_limit(a) == LIVE
    t0 = time.monotonic()
    virsh(a, "migrate", "--live", "--persistent", "--undefinesource", "--verbose", NAME,
          b.libvirt_uri)
    took = time.monotonic() - t0
    runs_here(b)
    holds_nothing(a)
    assert read_limit(b) == LIVE
    assert "Persistent:     yes" in virsh(b, "dominfo", NAME).stdout
    measured = rate_after(s)
    iovtest.assert_rate("vda on b after virsh migrate --live", measured, LIVE)
    stats = virsh(b, "domjobinfo", NAME, "--completed").stdout
    print("virsh migrate --live: %.2f s; on b: %.0f B/s; b's domjobinfo --completed:\n%s"
          % (took, measured, stats))
    assert "Completed" in stats and "Total downtime:" in stats, stats
    # the guest ran on: one boot, its probe's seconds go on
    s.poll()
    assert sum(1 for x in s.lines if x.startswith("GUEST-BOOT")) == 1


def test_02_a_migration_holds_the_guest_and_domjobabort_cancels_it(hosts, guest):
    a, b = hosts
    slow_stream(b, 8 * MiB)
    p = subprocess.Popen(["virsh", "-q", "-c", b.libvirt_uri, "migrate", "--live", NAME,
                          a.libvirt_uri], env=b.env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        info = iovtest.wait_for(lambda: streaming(b), timeout=30, what="a migration job on b")
        print("b's domjobinfo during the migration:\n" + info)
        assert "Data processed" in info or "Memory processed" in info
        refused = virsh(b, "blkdeviotune", NAME, "vda", "--read-bytes-sec", str(MiB), "--live",
                        check=False)
        assert refused.returncode != 0
        assert "a migration is in progress" in refused.stderr
        refused = run([iovtest.IOVSH, "-c", b.uri, "domjobinfo", NAME], b.env)
        assert "Unbounded" in refused.stdout
        # python3-libvirt's jobInfo() is the older call (DOMAIN_GET_JOB_INFO)
        code = ("import libvirt, sys\n"
                "d = libvirt.open(sys.argv[1]).lookupByName(sys.argv[2])\n"
                "print(d.jobInfo())\n")
        info = eval(run(["/usr/bin/python3", "-c", code, b.libvirt_uri, NAME], b.env).stdout)
        assert info[0] == 2 and info[3] > 0, info  # VIR_DOMAIN_JOB_UNBOUNDED, dataTotal
        virsh(b, "domjobabort", NAME)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode != 0
    assert "cancelled" in err
    runs_here(b)
    holds_nothing(a)
    assert read_limit(b) == LIVE
    iovtest.assert_rate("vda on b after the cancelled migration", rate_after(guest["serial"]), LIVE)


def test_03_failures_leave_the_guest_on_the_source(hosts, guest):
    a, b = hosts
    slow_stream(b, 1 << 40)
    live = virsh(b, "dumpxml", NAME).stdout

    # a disk path the destination lacks
    bad = os.path.join(guest["shared"], "missing.xml")
    with open(bad, "w") as f:
        f.write(live.replace(guest["vda"], "/nonexistent/vda.img"))
    p = virsh(b, "migrate", "--live", "--xml", bad, NAME, a.libvirt_uri, check=False)
    assert p.returncode != 0 and "/nonexistent/vda.img" in p.stderr, p.stderr
    runs_here(b)
    holds_nothing(a)

    # a name the destination already has
    other = iovtest.guest_xml(NAME, [iovtest.file_disk("vda", guest["vda"])], "/dev/null")
    path = os.path.join(guest["shared"], "other.xml")
    with open(path, "w") as f:
        f.write(other)
    virsh(a, "define", path)
    p = virsh(b, "migrate", "--live", NAME, a.libvirt_uri, check=False)
    assert p.returncode != 0 and "already exists" in p.stderr, p.stderr
    virsh(a, "undefine", NAME)
    runs_here(b)
    holds_nothing(a)

    # a group that does not hold: vda's own limits say group 'cap'
    # while the group is declared with others
    clash = os.path.join(guest["shared"], "clash.xml")
    with open(clash, "w") as f:
        f.write(live.replace("<iotune>", "<iotune><group_name>cap</group_name>", 1))
    p = virsh(b, "migrate", "--live", "--xml", clash, NAME, a.libvirt_uri, check=False)
    assert p.returncode != 0 and "cap" in p.stderr, p.stderr
    runs_here(b)
    holds_nothing(a)

    # the destination's QEMU dies in the middle of the stream
    slow_stream(b, 8 * MiB)
    def kill_qemu():
        pids = iovtest.wait_for(a.qemu_pids, timeout=10, what="a's QEMU")
        os.kill(pids[0], signal.SIGKILL)
    print("destination QEMU killed mid-way: " + migrate_and_hit(b, a, kill_qemu))
    runs_here(b)
    dropped(a)

    # the stream's connection drops (network): its socket is killed
    pid = b.qemu_pids()[0]

    def kill_connection():
        p = a.migration_port
        killed = subprocess.run(["ss", "-K", "-t", "-n", "state", "established",
                                 "( sport = :%d or dport = :%d )" % (p, p)],
                                capture_output=True, text=True)
        assert killed.returncode == 0, killed.stderr
        assert ":%d" % p in killed.stdout, killed.stdout
    print("stream connection killed: " + migrate_and_hit(b, a, kill_connection))
    assert b.qemu_pids() == [pid]
    runs_here(b)
    dropped(a)
    # the destination daemon dies in the middle (its QEMU goes on and
    # takes the whole stream): the source keeps the guest, and the
    # restarted destination drops what it was receiving
    print("destination daemon killed mid-way: " + migrate_and_hit(b, a, a.kill, timeout=90))
    runs_here(b)
    a.start()
    holds_nothing(a)
    with open(a.log_file) as f:
        assert "incoming migration was cut short by the daemon's restart" in f.read()
    slow_stream(b, 1 << 40)
    assert read_limit(b) == LIVE
    iovtest.assert_rate("vda on b after the failures", rate_after(guest["serial"]), LIVE)


def test_04_virsh_migrate_p2p(hosts, guest):
    a, b = hosts
    t0 = time.monotonic()
    virsh(b, "migrate", "--live", "--p2p", "--persistent", "--undefinesource", NAME,
          a.libvirt_uri)
    print("virsh migrate --live --p2p: %.2f s" % (time.monotonic() - t0))
    runs_here(a)
    holds_nothing(b)
    assert read_limit(a) == LIVE
    iovtest.assert_rate("vda on a after --p2p", rate_after(guest["serial"]), LIVE)


def test_05_hotplugged_disk_and_group_arrive_over_tls(hosts, guest):
    a, b = hosts
    s = guest["serial"]
    disk = os.path.join(guest["shared"], "vdb.xml")
    with open(disk, "w") as f:
        f.write("<disk type='file'><driver name='qemu' type='raw' cache='none'/>"
                "<source file='%s'/><target dev='vdb'/><iothrottle bps_rd='%d'/>"
                "<throttlefilters><throttlefilter group='cap'/></throttlefilters></disk>"
                % (guest["vdb"], VDB))
    mark = len(s.lines)
    iovsh(a, "attach-device", NAME, disk, "--live")
    s.wait_line("GUEST-DISK-ADDED vdb=", start=mark, timeout=30)
    time.sleep(3)
    before = host_rates(a, ["vda", "vdb"], secs=6)
    t0 = time.monotonic()
    virsh(a, "migrate", "--live", "--p2p", "--persistent", "--undefinesource", NAME, b.tls_uri)
    print("virsh migrate --live --p2p over TLS: %.2f s" % (time.monotonic() - t0))
    runs_here(b)
    holds_nothing(a)
    assert read_limit(b, "vda") == LIVE
    assert read_limit(b, "vdb") == VDB
    group = iovsh(b, "domthrottlegroupinfo", NAME, "cap").stdout
    assert str(CAP) in group or "5M" in group, group
    time.sleep(2)
    after = host_rates(b, ["vda", "vdb"], secs=6)
    print("a before: %s; b after: %s" % (before, after))
    for where, r in (("a", before), ("b", after)):
        # the group holds the sum at its cap, each disk under its own
        assert_capped("vda+vdb under 'cap' on %s" % where, r["vda"] + r["vdb"], CAP)
        assert r["vda"] <= LIVE * 1.1 and r["vdb"] <= VDB * 1.1


def test_06_iovsh_and_python_migrate(hosts, guest):
    a, b = hosts
    iovsh(b, "migrate", NAME, a.uri, "--live", "--undefinesource")
    runs_here(a)
    holds_nothing(b)
    assert read_limit(a, "vdb") == VDB
    code = ("import iovirt, sys\n"
            "c = iovirt.open(sys.argv[1])\n"
            "d = c.lookupByName(sys.argv[3])\n"
            "d.migrateToURI3(sys.argv[2], {}, iovirt.MIGRATE_LIVE | iovirt.MIGRATE_PEER2PEER)\n"
            "print('ok')\n")
    out = run(["/usr/bin/python3", "-c", code, a.uri, b.uri, NAME], a.env).stdout
    assert "ok" in out
    runs_here(b)
    holds_nothing(a)
    assert read_limit(b, "vda") == LIVE and read_limit(b, "vdb") == VDB
    # and back, the module driving both daemons: the Domain it returns is a's
    code = ("import iovirt, sys\n"
            "src, dst = iovirt.open(sys.argv[1]), iovirt.open(sys.argv[2])\n"
            "d = src.lookupByName(sys.argv[3]).migrate(dst, iovirt.MIGRATE_LIVE)\n"
            "print(d.name(), d.isActive(), d.connect() is dst)\n")
    out = run(["/usr/bin/python3", "-c", code, b.uri, a.uri, NAME], b.env).stdout
    assert out.split() == [NAME, "True", "True"], out
    runs_here(a)
    holds_nothing(b)
    assert read_limit(a, "vda") == LIVE and read_limit(a, "vdb") == VDB
    assert_capped("vda+vdb under 'cap' after two more hops",
                  sum(host_rates(a, ["vda", "vdb"]).values()), CAP)


def shut_off_defined(d):
    """The daemon keeps the guest's definition, shut off, and no QEMU."""
    assert virsh(d, "domstate", NAME).stdout.strip() == "shut off"
    assert "Persistent:     yes" in virsh(d, "dominfo", NAME).stdout
    assert d.qemu_pids() == []


def test_07_back_to_a_host_that_kept_the_definition(hosts, guest):
    """A guest migrated away without --undefinesource leaves its saved
    definition behind; migrating it back there is the usual round trip
    (maintenance of the other host) and lands on that definition: a
    failure keeps it as it was, a success runs the guest with the limits
    in force, not those saved."""
    a, b = hosts
    # a runs it (test 06); --persistent makes it b's, then back to a
    # without --undefinesource: b keeps a shut-off definition
    virsh(a, "migrate", "--live", "--persistent", "--undefinesource", NAME, b.libvirt_uri)
    virsh(b, "migrate", "--live", "--persistent", NAME, a.libvirt_uri)
    runs_here(a)
    shut_off_defined(b)
    saved = virsh(b, "dumpxml", "--inactive", NAME).stdout

    # a migration cancelled half-way leaves b's definition as it was
    slow_stream(a, 8 * MiB)
    err = migrate_and_hit(a, b, lambda: virsh(a, "domjobabort", NAME),
                          flags=("--live", "--persistent"))
    assert "cancelled" in err, err
    runs_here(a)
    shut_off_defined(b)
    assert virsh(b, "dumpxml", "--inactive", NAME).stdout == saved

    # and a migration that completes runs it there, with the limit in force
    slow_stream(a, 1 << 40)
    virsh(a, "blkdeviotune", NAME, "vda", "--read-bytes-sec", str(FIRST), "--live")
    virsh(a, "migrate", "--live", NAME, b.libvirt_uri)
    runs_here(b)
    assert read_limit(b) == FIRST
    assert "Persistent:     yes" in virsh(b, "dominfo", NAME).stdout
    assert virsh(b, "dumpxml", "--inactive", NAME).stdout == saved
    iovtest.assert_rate("vda on b, back on its kept definition", rate_after(guest["serial"]),
                        FIRST)
