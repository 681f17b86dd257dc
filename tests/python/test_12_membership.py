"""Live membership against the real QEMU: a guest reads four disks, each
at 4 MiB/s of its own, and its disks join a declared group of 6 MiB/s
while it reads (an update of each disk's <throttlefilters>), switch to
another group of the same limit, then leave: the chain of each disk is
rebuilt with blockdev-reopen, the new steps in place before the old ones
go. QEMU's own read counters, sampled five times a second from the host
(one bulk statistics call for the four), must show, over every window of
one second, the sum of the four never above the tighter limit in force by
more than the band, before, during and after each change; the guest's own measurement (iovprobe) must show
the sum settling at the new limit. Then bad changes: an undeclared group,
and a reopen QEMU refuses (the daemon restarted with a fault injected),
which must leave QEMU's nodes, the live and persistent definitions and
the status file as they were. One guest, about 45 s."""

import json
import os
import re
import subprocess
import threading
import time

import pytest

from conftest import MiB, iovirt, iovtest

LIVE = iovirt.AFFECT_LIVE
CONFIG = iovirt.AFFECT_CONFIG
DISKS = ("vda", "vdb", "vdc", "vdd")
PER_DISK = 4 * MiB
OWN = len(DISKS) * PER_DISK
CAP = 6 * MiB
# one window of one second may exceed the limit in force by this much
# (sampling times, and what a bucket lends a disk that paused a moment)
BAND = 1.10
REQUEST = 256 * 1024  # the guest's reads, one at a time on each disk
# a window that overlaps a change: blockdev-reopen drains the nodes it
# reopens, and QEMU then lets the request each disk has waiting go at
# once (charged to the group it waited for). And a bucket that was idle
# lends: QEMU admits a request while the bucket's level is at most its
# capacity (a tenth of a second of its rate), so an idle bucket lets that
# tenth and one whole request more through, spent within a few tens of
# ms. In a change, the idle buckets are the new group's (joining,
# switching), the old group's when the guest was starved of CPU just
# before (switching), or the disks' own, which ran below their limit
# inside the group (leaving). Such a window may carry, besides the band,
# the drained requests and what each of those buckets lends.
DRAINED = len(DISKS) * REQUEST
# windows that start this long after the last update must be within the
# new limit and the band alone (what was lent is spent by then)
SETTLE = 0.5
NAME = "member"


def images(daemon):
    paths = []
    for d in DISKS:
        path = os.path.join(daemon.tmp, "%s-%s.img" % (NAME, d))
        iovtest.make_image(path, 32 * MiB)
        paths.append(path)
    return paths


def disk_xml(target, path, groups):
    chain = ""
    if groups:
        chain = "<throttlefilters>%s</throttlefilters>" % "".join(
            "<throttlefilter group='%s'/>" % g for g in groups)
    return iovtest.file_disk(target, path, "<iothrottle bps_rd='%d'/>%s" % (PER_DISK, chain))


class Sampler(threading.Thread):
    """QEMU's read counters of the four disks, every 0.2 s, with the host's
    time: [(t, total bytes)]. One bulk statistics call reads all four in
    one query-blockstats; a sample whose call took over 30 ms (a busy
    host) is left out, its time being uncertain."""

    def __init__(self, uri):
        super().__init__(daemon=True)
        self.conn = iovirt.open(uri)
        self.samples = []
        self.dropped = 0
        self.stopping = threading.Event()

    def read(self):
        for dom, st in self.conn.getAllDomainStats(iovirt.DOMAIN_STATS_BLOCK,
                                                   iovirt.LIST_DOMAINS_ACTIVE):
            if dom.name() == NAME:
                return sum(st["block.%d.rd.bytes" % i] for i in range(st["block.count"]))
        raise AssertionError("no statistics of %s" % NAME)

    def run(self):
        while not self.stopping.is_set():
            before = time.monotonic()
            try:
                total = self.read()
            except iovirt.Error:
                break
            after = time.monotonic()
            if after - before <= 0.03:
                self.samples.append(((before + after) / 2, total))
            else:
                self.dropped += 1
            self.stopping.wait(0.2)

    def stop(self):
        self.stopping.set()
        self.join(5)
        self.conn.close()

    def windows(self, first, last):
        """Every window of one second (the first sample at least 1 s
        after another, at most 1.5 s) starting at or after `first` and
        ending at or before `last`: [(start, end, bytes per second)]."""
        out = []
        s = list(self.samples)
        for i, (t0, b0) in enumerate(s):
            if t0 < first:
                continue
            for t1, b1 in s[i + 1:]:
                if t1 - t0 >= 1.0:
                    if t1 <= last and t1 - t0 <= 1.5:
                        out.append((t0, t1, (b1 - b0) / (t1 - t0)))
                    break
        return out


def lent(idle):
    """What the idle buckets of limits `idle` let through at once: a
    tenth of a second of each one's rate and one request."""
    return sum(rate / 10 + REQUEST for rate in idle)


def check_windows(what, w, limit, extra=0, samples=()):
    """Every window's rate at most `limit` and the band, and `extra`
    bytes (in a change: the drained requests and what idle buckets
    lend); returns the worst. A failure shows the samples around the
    window, so that the bytes over it can be placed."""
    assert w, "%s: no window of one second" % what
    worst = max(r for _t0, _t1, r in w)
    print("%s: %d windows, %.2f to %.2f MiB/s (limit %.2f, + %.2f MiB)" % (
        what, len(w), min(r for _t0, _t1, r in w) / MiB, worst / MiB, limit / MiB,
        extra / MiB))
    for t0, t1, r in w:
        if r > limit * BAND + extra:
            b0 = next(b for t, b in samples if t >= t0)
            near = ["%+.3fs:%+.2fMiB" % (t - t0, (b - b0) / MiB)
                    for t, b in samples if t0 - 2 <= t <= t1 + 1]
            raise AssertionError(
                "%s: %.2f MiB/s over %.2f s against %.2f (band %.2f, + %.2f MiB); samples "
                "from the window's start: %s" % (what, r / MiB, t1 - t0, limit / MiB, BAND,
                                                 extra / MiB, " ".join(near)))
    return worst


def guest_rate(serial, first, last):
    """The guest's own figure: the sum of its four jobs' rates over its
    seconds first..last."""
    return sum(serial.rate(j, first=first, last=last) for j in range(len(DISKS)))


def last_sample(serial):
    serial.poll()
    return min(max([s[1] for s in serial.samples if s[0] == j] or [0]) for j in range(len(DISKS)))


def wait_all(serial, sec, timeout=60):
    for j in range(len(DISKS)):
        serial.wait_sample(j, sec, timeout=timeout)


def chain_of(dom, target):
    """What QEMU holds for disk `target`: its throttle nodes, by name, and
    the groups of its chain from the device down (read from the top
    node's description, whose "file" members nest down to the format)."""
    nodes = json.loads(dom.qemuMonitorCommand(
        '{"execute":"query-named-block-nodes","arguments":{"flat":true}}'))["return"]
    names = sorted(n["node-name"] for n in nodes
                   if n["node-name"] == "throttle-" + target
                   or n["node-name"].startswith("throttle-%s-" % target))
    top = [n for n in nodes if n["node-name"] == "throttle-" + target][0]
    desc = json.loads(top["image"]["filename"][len("json:"):])
    groups = []
    while isinstance(desc, dict) and desc.get("driver") == "throttle":
        groups.append(desc["throttle-group"])
        desc = desc["file"]
    return names, groups


def move_all(g, groups, flags=LIVE):
    """Every disk passes through `groups`, one update each; then 5 s of
    reading. The host's times before the first and after the last update."""
    t0 = time.monotonic()
    for d in DISKS:
        assert g["dom"].updateDeviceFlags(disk_xml(d, g["paths"][d], groups), flags) == 0
    t1 = time.monotonic()
    g["guest_sec"] = last_sample(g["serial"])
    print("four updates to %s took %.3f s" % (groups, t1 - t0))
    time.sleep(5.5)
    return t0, t1


def settled(g, limit, what):
    """The guest's own sum over its seconds 2 to 4 after the change."""
    sec = g["guest_sec"]
    wait_all(g["serial"], sec + 4)
    rate = guest_rate(g["serial"], sec + 2, sec + 4)
    print("%s, measured in the guest: %.2f MiB/s" % (what, rate / MiB))
    iovtest.assert_rate(what, rate, limit)


def change(g, groups, old, new, what, idle):
    """Move every disk to `groups` while the guest reads: the windows
    before it within `old`, those that overlap it within the looser of the
    two with the drained requests and what the buckets of limits `idle`
    lend, those from SETTLE after it within `new`; the guest settles at
    `new`."""
    sampler = g["sampler"]
    since = g["since"]
    t0, t1 = move_all(g, groups)
    g["since"] = t1 + SETTLE
    samples = list(sampler.samples)
    check_windows("%s: before" % what, sampler.windows(since, t0), old, samples=samples)
    during = [w for w in sampler.windows(t0 - 1.5, t1 + 2.5) if w[1] > t0 and w[0] < t1 + SETTLE]
    # the report: each window's start from the first update, and its rate
    print("%s: windows from the change: %s" % (what, " ".join(
        "%+.1fs:%.2f" % (w[0] - t0, w[2] / MiB) for w in during)))
    g["worst"][what] = check_windows("%s: during" % what, during, max(old, new),
                                     DRAINED + lent(idle), samples)
    check_windows("%s: after" % what, sampler.windows(t1 + SETTLE, t1 + 5.5), new,
                  samples=samples)
    settled(g, new, "%s: settled" % what)


@pytest.fixture(scope="module")
def guest(daemon, conn):
    paths = images(daemon)
    serial_path = os.path.join(daemon.tmp, NAME + "-serial.log")
    probe = ",".join("read:%s:bs=256k:time=34" % d for d in DISKS)
    xml = iovtest.guest_xml(NAME, [disk_xml(d, p, []) for d, p in zip(DISKS, paths)],
                            serial_path, probe=probe, after="idle")
    xml = xml.replace("  <devices>\n", "  <throttlegroups><throttlegroup name='cap' bps_rd='%d'/>"
                      "<throttlegroup name='cap2' bps_rd='%d'/></throttlegroups>\n  <devices>\n"
                      % (CAP, CAP), 1)
    dom = conn.defineXML(xml)
    g = {"dom": dom, "paths": dict(zip(DISKS, paths)), "serial": iovtest.Serial(serial_path),
         "worst": {}}
    yield g
    if "sampler" in g:
        g["sampler"].stop()
    try:
        d = iovirt.open(daemon.uri).lookupByName(NAME)
        if d.isActive():
            d.destroy()
    except iovirt.Error:
        pass


def test_disks_join_a_group_live_and_its_cap_holds_at_once(daemon, guest):
    dom, serial = guest["dom"], guest["serial"]
    assert dom.create(0) == 0
    wait_all(serial, 1, timeout=120)
    guest["sampler"] = Sampler(daemon.uri)
    guest["sampler"].start()
    # the first second lends the idle buckets' tenth: checked from after it
    guest["since"] = time.monotonic() + 1.5
    wait_all(serial, 5)
    rate = guest_rate(serial, 2, 4)
    print("own limits only, measured in the guest: %.2f MiB/s" % (rate / MiB))
    iovtest.assert_rate("four disks at 4 MiB/s", rate, OWN)

    change(guest, ["cap"], OWN, CAP, "joining", [CAP])
    live = dom.XMLDesc()
    assert live.count('<throttlefilter group="cap"/>') == len(DISKS), live
    # a live change only: the persistent definition did not change
    assert "throttlefilter group" not in dom.XMLDesc(iovirt.XML_INACTIVE)


def test_switching_group_keeps_the_cap_throughout(guest):
    change(guest, ["cap2"], CAP, CAP, "switching", [CAP, CAP])
    assert guest["dom"].XMLDesc().count('<throttlefilter group="cap2"/>') == len(DISKS)


def test_disks_leave_the_group_live_and_rise_to_their_own_bound(guest):
    change(guest, [], CAP, OWN, "leaving", [PER_DISK] * len(DISKS))
    assert "throttlefilter group" not in guest["dom"].XMLDesc()
    print("samples: %d kept, %d dropped (slow)" % (len(guest["sampler"].samples),
                                                   guest["sampler"].dropped))
    guest["sampler"].stop()
    del guest["sampler"]


def live_filters(dom, target):
    """The groups of disk `target`'s <throttlefilters> in the live XML."""
    for disk in re.findall(r"<disk .*?</disk>", dom.XMLDesc(), re.S):
        if 'dev="%s"' % target in disk:
            return re.findall(r'<throttlefilter group="([^"]*)"/>', disk)
    raise AssertionError("no disk %s" % target)


def test_groups_are_inserted_reordered_and_removed_in_qemu(daemon, guest):
    dom, path = guest["dom"], guest["paths"]["vdb"]
    steps = [
        (["cap"], ["throttle-vdb", "throttle-vdb-1"], ["tg-vdb", "tgg-cap"]),
        (["cap2", "cap"], ["throttle-vdb", "throttle-vdb-1", "throttle-vdb-2"],
         ["tg-vdb", "tgg-cap2", "tgg-cap"]),
        (["cap", "cap2"], ["throttle-vdb", "throttle-vdb-1", "throttle-vdb-2"],
         ["tg-vdb", "tgg-cap", "tgg-cap2"]),
        (["cap2"], ["throttle-vdb", "throttle-vdb-1"], ["tg-vdb", "tgg-cap2"]),
        ([], ["throttle-vdb"], ["tg-vdb"]),
    ]
    for i, (groups, nodes, chain) in enumerate(steps):
        # through update-device, the typed call, iovsh and virsh in turn
        if i % 4 == 0:
            assert dom.updateDeviceFlags(disk_xml("vdb", path, groups), LIVE) == 0
        elif i % 4 == 1:
            assert dom.setDiskThrottleFilters("vdb", groups, LIVE) is None
        elif i % 4 == 3:
            # the real virsh's update-device (procedure 174), libvirt's spelling
            doc = os.path.join(daemon.tmp, "vdb-update.xml")
            with open(doc, "w") as f:
                f.write("<disk type='file' device='disk'><driver name='qemu' type='raw' "
                        "cache='none'/><source file='%s'/><target dev='vdb' bus='virtio'/>"
                        "<iotune><read_bytes_sec>%d</read_bytes_sec></iotune>"
                        "<throttlefilters>%s</throttlefilters></disk>\n" % (
                            path, PER_DISK, "".join("<throttlefilter group='%s'/>" % g
                                                    for g in groups)))
            p = subprocess.run(["virsh", "-q", "-c", daemon.libvirt_uri, "update-device", NAME,
                                doc, "--live"], capture_output=True, text=True, timeout=60)
            assert p.returncode == 0, p.stderr
        else:
            p = subprocess.run([iovtest.IOVSH, "-c", daemon.uri, "blkiothrottle", NAME, "vdb",
                                "--throttle-groups", ",".join(groups), "--live"],
                               capture_output=True, text=True, timeout=60)
            assert p.returncode == 0, p.stderr
            assert p.stdout == "Disk 'vdb' of domain 'member' now passes through groups %s " \
                "(live).\n" % ", ".join(groups), p.stdout
        assert chain_of(dom, "vdb") == (nodes, chain), groups
        assert live_filters(dom, "vdb") == groups


def state(daemon, dom):
    """Everything a refused change must leave as it was."""
    qemu = {d: chain_of(dom, d) for d in DISKS}
    # a live change is written to the status file behind the reply,
    # within a second (QEMU_STATUS_WRITE_DELAY_MS): let an earlier test's
    # change land before reading it
    time.sleep(1.3)
    with open(os.path.join(daemon.state_dir, NAME + ".xml")) as f:
        status = f.read()
    return {"qemu": qemu, "live": dom.XMLDesc(), "config": dom.XMLDesc(iovirt.XML_INACTIVE),
            "status": status}


def test_an_undeclared_group_is_refused_and_changes_nothing(daemon, guest):
    dom = guest["dom"]
    before = state(daemon, dom)
    assert before["qemu"]["vda"] == (["throttle-vda"], ["tg-vda"])
    for flags in (LIVE, CONFIG, LIVE | CONFIG):
        with pytest.raises(iovirt.Error) as e:
            dom.updateDeviceFlags(disk_xml("vda", guest["paths"]["vda"], ["cap", "nope"]), flags)
        assert "disk 'vda'" in str(e.value) and "'nope'" in str(e.value), str(e.value)
    with pytest.raises(iovirt.Error) as e:
        dom.updateDeviceFlags(disk_xml("vda", guest["paths"]["vda"], ["cap", "cap"]), LIVE)
    assert "group 'cap' appears twice in its chain" in str(e.value)
    for flags in (LIVE, LIVE | CONFIG):
        with pytest.raises(iovirt.Error) as e:
            dom.setDiskThrottleFilters("vda", ["nope"], flags)
        assert "disk 'vda'" in str(e.value) and "'nope'" in str(e.value), str(e.value)
    with pytest.raises(iovirt.Error) as e:
        dom.setDiskThrottleFilters("vdz", ["cap"], LIVE)
    assert "disk 'vdz' not found in the live definition of domain 'member'" in str(e.value)
    with pytest.raises(TypeError):
        dom.setDiskThrottleFilters("vda", "cap", LIVE)
    assert state(daemon, dom) == before


def test_a_reopen_qemu_refuses_is_undone_and_changes_nothing(daemon, guest):
    # the chain the refused change starts from: one group, live and saved
    assert guest["dom"].updateDeviceFlags(disk_xml("vda", guest["paths"]["vda"], ["cap"]),
                                          LIVE | CONFIG) == 0
    # a daemon whose blockdev-reopen of a chain carries a member QEMU
    # does not know; the guest keeps running across the restart
    daemon.stop()
    restart_offset = os.path.getsize(daemon.log_file)
    os.environ["IOVIRT_TEST_FAIL_CHAIN_REOPEN"] = "1"
    try:
        daemon.start()
    finally:
        del os.environ["IOVIRT_TEST_FAIL_CHAIN_REOPEN"]
    c = iovirt.open(daemon.uri)
    try:
        dom = c.lookupByName(NAME)
        # the rebuilt chain came back from the status file, and the
        # reconnect rebuilt nothing
        assert live_filters(dom, "vda") == ["cap"]
        with open(daemon.log_file, errors="replace") as f:
            f.seek(restart_offset)
            assert "sending 'blockdev-" not in f.read()
        before = state(daemon, dom)
        assert before["qemu"]["vda"] == (["throttle-vda", "throttle-vda-1"], ["tg-vda", "tgg-cap"])
        # cap2 goes before cap: a node is added (step 2, over cap), then
        # the reopen of step 1 onto cap2 and it is refused
        offset = os.path.getsize(daemon.log_file)
        with pytest.raises(iovirt.Error) as e:
            dom.updateDeviceFlags(disk_xml("vda", guest["paths"]["vda"], ["cap2", "cap"]),
                                  LIVE | CONFIG)
        msg = str(e.value)
        print(msg)
        assert "internal error: disk 'vda': cannot change its throttle filters: blockdev-reopen " \
            "of node 'throttle-vda-1': unable to execute QEMU command 'blockdev-reopen': " \
            "Parameter 'options[0].x-iovirt-fault' is unexpected" in msg, msg
        assert state(daemon, dom) == before
        with open(daemon.log_file, errors="replace") as f:
            f.seek(offset)
            log = f.read()
        # the node added for step 2 was removed again
        assert "sending 'blockdev-add'" in log and "sending 'blockdev-del'" in log, log
    finally:
        c.close()
