"""The calls fleet and monitoring tools make, driven by the real clients:
listing by id, host facts, autostart and bulk statistics (virsh domstats,
python3-libvirt getAllDomainStats, Debian's prometheus-libvirt-exporter).

Five guests with two disks each run on fake-qemu (tests/daemon/fake-qemu.c),
whose counters grow at every query-blockstats: a bulk value must lie
between the per-disk values read just before and just after it. Two real
guests, idle once booted (so their counters stand still), prove autostart
across a daemon restart and the exporter's counters against domblkstat.
"""

import os
import re
import subprocess
import sys
import time
import urllib.request
import xml.etree.ElementTree as ET

import libvirt
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import iovtest  # noqa: E402

FAKE_QEMU = os.path.join(iovtest.BUILD_DIR, "tests", "fake-qemu")
NGUESTS = 5
COUNTERS = (("rd.reqs", 0), ("rd.bytes", 1), ("wr.reqs", 2), ("wr.bytes", 3))


def virsh(uri, *args):
    r = subprocess.run(["virsh", "-c", uri] + list(args), capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, "virsh %s: %s" % (" ".join(args), r.stderr)
    return r.stdout


def define_and_start(daemon, name, throttle_vda="", start=True, probe="", after="idle"):
    disks = []
    for target in ("vda", "vdb"):
        img = iovtest.make_image(os.path.join(daemon.tmp, "%s-%s.img" % (name, target)),
                                 4 * iovtest.MiB)
        disks.append(iovtest.file_disk(target, img, throttle_vda if target == "vda" else ""))
    serial = os.path.join(daemon.tmp, name + "-serial.log")
    path = os.path.join(daemon.tmp, name + ".xml")
    with open(path, "w") as f:
        f.write(iovtest.guest_xml(name, disks, serial, probe=probe, after=after, memory_mib=96))
    virsh(daemon.libvirt_uri, "define", path)
    if start:
        virsh(daemon.libvirt_uri, "start", name)
    return iovtest.Serial(serial)


@pytest.fixture(scope="module")
def fleet():
    """A daemon on fake-qemu with five running guests ('f0'..'f4', vda of
    f<i> limited to (i+1) MiB/s of reads) and one defined ('off')."""
    d = iovtest.Daemon(config={"qemu_binary": FAKE_QEMU}).start()
    for i in range(NGUESTS):
        define_and_start(d, "f%d" % i, "<iothrottle bps_rd='%d'/>" % ((i + 1) * iovtest.MiB))
    define_and_start(d, "off", start=False)
    conn = libvirt.open(d.libvirt_uri)
    yield d, conn
    conn.close()
    d.cleanup()


def test_listing_by_id_and_counts(fleet):
    d, conn = fleet
    running = {conn.lookupByName("f%d" % i).ID() for i in range(NGUESTS)}
    assert set(conn.listDomainsID()) == running
    assert conn.numOfDomains() == NGUESTS
    assert conn.listDefinedDomains() == ["off"]
    assert conn.numOfDefinedDomains() == 1
    # virsh list falls back on nothing here, but the ids match its table
    out = virsh(d.libvirt_uri_ro, "list")
    assert {int(m) for m in re.findall(r"^\s*(\d+)\s+f\d", out, re.M)} == running


def test_host_facts(fleet):
    _, conn = fleet
    model, mem_mib, cpus, mhz, nodes, sockets, cores, threads = conn.getInfo()
    with open("/proc/meminfo") as f:
        total_kib = int(re.search(r"^MemTotal:\s+(\d+)", f.read(), re.M).group(1))
    assert model == os.uname().machine
    assert mem_mib == total_kib // 1024
    assert cpus == os.cpu_count() and nodes * sockets * cores * threads == cpus
    caps = ET.fromstring(conn.getCapabilities())
    assert caps.findtext("host/cpu/arch") == os.uname().machine
    assert caps.find("guest/arch/domain[@type='qemu']") is not None
    assert caps.findtext("guest/os_type") == "hvm"
    assert conn.getMaxVcpus("qemu") >= 1
    assert 0 < conn.getFreeMemory() <= total_kib * 1024
    assert ET.fromstring(conn.getSysinfo()).get("type") == "smbios"


def _bracketed(before, value, after, what):
    assert before <= value <= after, "%s: %d not within [%d, %d]" % (what, value, before, after)


def test_python_get_all_domain_stats_agrees_with_block_stats(fleet):
    _, conn = fleet
    doms = {n: conn.lookupByName(n) for n in ["f%d" % i for i in range(NGUESTS)]}
    before = {(n, t): dom.blockStats(t) for n, dom in doms.items() for t in ("vda", "vdb")}
    records = conn.getAllDomainStats(0, libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE)
    after = {(n, t): dom.blockStats(t) for n, dom in doms.items() for t in ("vda", "vdb")}
    assert sorted(dom.name() for dom, _ in records) == sorted(doms)
    for dom, st in records:
        n = dom.name()
        assert st["state.state"] == libvirt.VIR_DOMAIN_RUNNING
        assert "cpu.time" in st
        assert st["block.count"] == 2
        for i, t in enumerate(("vda", "vdb")):
            assert st["block.%d.name" % i] == t
            assert st["block.%d.path" % i].endswith("%s-%s.img" % (n, t))
            for key, k in COUNTERS:
                _bracketed(before[(n, t)][k], st["block.%d.%s" % (i, key)], after[(n, t)][k],
                           "%s %s %s" % (n, t, key))
            assert st["block.%d.capacity" % i] == 4 * iovtest.MiB
            # the limits in force, as blockIoTune reads them
            tune = dom.blockIoTune(t, libvirt.VIR_DOMAIN_AFFECT_LIVE)
            assert st["iothrottle.%d.name" % i] == t
            assert st["iothrottle.%d.bps_rd" % i] == tune["read_bytes_sec"]
            assert st["iothrottle.%d.bps" % i] == tune["total_bytes_sec"]
        assert st["iothrottle.0.bps_rd"] == (int(n[1:]) + 1) * iovtest.MiB


def test_domain_list_get_stats_and_inactive_domains(fleet):
    _, conn = fleet
    pick = [conn.lookupByName("f3"), conn.lookupByName("off")]
    records = conn.domainListGetStats(pick, libvirt.VIR_DOMAIN_STATS_STATE |
                                      libvirt.VIR_DOMAIN_STATS_BLOCK)
    assert [dom.name() for dom, _ in records] == ["f3", "off"]
    f3, off = records[0][1], records[1][1]
    assert f3["state.state"] == libvirt.VIR_DOMAIN_RUNNING and f3["block.count"] == 2
    assert "cpu.time" not in f3 and "iothrottle.count" not in f3
    assert off == {"state.state": libvirt.VIR_DOMAIN_SHUTOFF, "state.reason": off["state.reason"]}
    # the whole list, filtered on the daemon's side
    inactive = conn.getAllDomainStats(libvirt.VIR_DOMAIN_STATS_STATE,
                                      libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_INACTIVE)
    assert [dom.name() for dom, _ in inactive] == ["off"]


def test_virsh_domstats_block_agrees_with_domblkstat(fleet):
    d, _ = fleet
    names = ["f%d" % i for i in range(NGUESTS)]

    def domblkstat(n, t):
        out = virsh(d.libvirt_uri_ro, "domblkstat", n, t)
        return {k: int(v) for k, v in re.findall(r"^\S+ (\w+) (\d+)$", out, re.M)}

    before = {(n, t): domblkstat(n, t) for n in names for t in ("vda", "vdb")}
    out = virsh(d.libvirt_uri_ro, "domstats", "--block", *names)
    after = {(n, t): domblkstat(n, t) for n in names for t in ("vda", "vdb")}
    stats = {}
    for block in out.strip().split("\n\n"):
        lines = block.strip().splitlines()
        name = re.match(r"Domain: '(.*)'", lines[0]).group(1)
        stats[name] = dict(l.strip().split("=", 1) for l in lines[1:])
    assert sorted(stats) == names
    for n in names:
        assert stats[n]["block.count"] == "2"
        for i, t in enumerate(("vda", "vdb")):
            assert stats[n]["block.%d.name" % i] == t
            for key, field in (("rd.reqs", "rd_req"), ("rd.bytes", "rd_bytes"),
                               ("wr.reqs", "wr_req"), ("wr.bytes", "wr_bytes")):
                _bracketed(before[(n, t)][field], int(stats[n]["block.%d.%s" % (i, key)]),
                           after[(n, t)][field], "%s %s %s" % (n, t, key))


# ---- real guests: autostart across a restart, the exporter ----

@pytest.fixture(scope="module")
def real():
    d = iovtest.Daemon().start()
    yield d
    d.cleanup()


def test_autostart_across_daemon_restart(real):
    d = real
    uri = d.libvirt_uri
    running = define_and_start(d, "auto-run")
    stopped = define_and_start(d, "auto-off", start=False)
    define_and_start(d, "manual", start=False)
    virsh(uri, "autostart", "auto-run")
    virsh(uri, "autostart", "auto-off")
    assert "Autostart:      enable" in virsh(uri, "dominfo", "auto-off")
    assert "Autostart:      disable" in virsh(uri, "dominfo", "manual")
    assert sorted(re.findall(r"auto-\w+", virsh(uri, "list", "--all", "--autostart"))) == \
        ["auto-off", "auto-run"]
    running.wait_line("GUEST-AFTER", timeout=120)
    pid_before = d.qemu_pids()
    assert len(pid_before) == 1

    d.stop()        # the running guest keeps running
    d.start(timeout=60)
    conn = libvirt.open(uri)
    try:
        run, off, manual = (conn.lookupByName(n) for n in ("auto-run", "auto-off", "manual"))
        assert run.isActive() and off.isActive() and not manual.isActive()
        # the one already running was reconnected to, not started again
        assert pid_before[0] in d.qemu_pids() and len(d.qemu_pids()) == 2
        assert run.autostart() == 1 and off.autostart() == 1 and manual.autostart() == 0
        stopped.wait_line("GUEST-AFTER", timeout=120)
        # unmarked, it stays stopped the next time
        off.setAutostart(0)
        off.destroy()
    finally:
        conn.close()
    d.stop()
    d.start(timeout=60)
    conn = libvirt.open(uri)
    try:
        assert not conn.lookupByName("auto-off").isActive()
        assert conn.lookupByName("auto-run").isActive()
    finally:
        conn.close()


def test_prometheus_exporter_block_counters_equal_domblkstat(real):
    """Run after the autostart test: 'auto-run' is running and idle."""
    d = real
    names = sorted(n for n in virsh(d.libvirt_uri_ro, "list", "--name").split())
    assert names, "no running guest"
    port = iovtest.free_port()
    exporter = subprocess.Popen(
        ["prometheus-libvirt-exporter", "--web.listen-address=127.0.0.1:%d" % port,
         "--libvirt.uri=" + d.libvirt_uri_ro],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(d.tmp, "exporter.log"), "w"))
    iovtest.kill_at_exit(exporter.pid)
    try:
        def scrape():
            try:
                return urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                              timeout=10).read().decode()
            except OSError:
                return None
        text = iovtest.wait_for(scrape, timeout=20, what="the exporter's metrics")
    finally:
        exporter.terminate()
        exporter.wait()
    assert re.search(r"^libvirt_up 1$", text, re.M), text[-2000:]
    metrics = {}
    for m in re.finditer(r'^libvirt_domain_block_stats_(\w+)_total\{([^}]*)\} (\S+)$', text, re.M):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
        metrics[(labels["domain"], labels["target_device"], m.group(1))] = int(float(m.group(3)))
    for n in names:
        for t in ("vda", "vdb"):
            out = virsh(d.libvirt_uri_ro, "domblkstat", n, t)
            want = {k: int(v) for k, v in re.findall(r"^\S+ (\w+) (\d+)$", out, re.M)}
            assert want["rd_req"] > 0, "guest %s never read %s" % (n, t)
            assert metrics[(n, t, "read_requests")] == want["rd_req"]
            assert metrics[(n, t, "read_bytes")] == want["rd_bytes"]
            assert metrics[(n, t, "write_requests")] == want["wr_req"]
            assert metrics[(n, t, "write_bytes")] == want["wr_bytes"]
