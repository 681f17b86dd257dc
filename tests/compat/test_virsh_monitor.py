"""The monitor passthrough and the drift check, on one real guest: the real
virsh's qemu-monitor-command (libvirt's QEMU program) and iovsh's, the
taint it leaves (virsh and iovsh dominfo), limits read back from QEMU
after a change behind the daemon's back, and the read-only socket
refusing it."""

import json
import os
import subprocess

import pytest

import iovtest

MiB = iovtest.MiB
NAME = "mon1"
OWN = 8 * MiB       # vda's own read limit
CAP = 2 * MiB       # the group 'cap' vda passes through


def virsh(daemon, *args, ro=False, check=True):
    uri = daemon.libvirt_uri_ro if ro else daemon.libvirt_uri
    p = subprocess.run(["virsh", "-q", "-c", uri] + list(args), capture_output=True, text=True,
                       env=daemon.env, timeout=60)
    if check and p.returncode != 0:
        raise AssertionError("virsh %s failed: %s" % (" ".join(args), p.stderr))
    return p


def iovsh(daemon, *args, ro=False):
    uri = daemon.uri_ro if ro else daemon.uri
    return subprocess.run([iovtest.IOVSH, "-c", uri] + list(args), capture_output=True, text=True,
                          env=daemon.env, timeout=120)


def qmp(daemon, cmd, *flags):
    return json.loads(virsh(daemon, "qemu-monitor-command", NAME, json.dumps(cmd), *flags).stdout)


def group_limits_in_qemu(daemon, group):
    """What QEMU holds, asked through the passthrough itself."""
    return qmp(daemon, {"execute": "qom-get",
                        "arguments": {"path": group, "property": "limits"}})["return"]


@pytest.fixture(scope="module")
def mon(daemon):
    img = iovtest.make_image(os.path.join(daemon.tmp, "mon-a.img"))
    idle = iovtest.make_image(os.path.join(daemon.tmp, "mon-b.img"), 16 * MiB, 0)
    serial = os.path.join(daemon.tmp, "mon-serial.log")
    disk = iovtest.file_disk("vda", img, "<iothrottle bps_rd='%d'/><throttlefilters>"
                             "<throttlefilter group='cap'/></throttlefilters>" % OWN)
    idle_disk = iovtest.file_disk("vdb", idle, "<iothrottle bps_rd='%d'/>" % MiB)
    xml = iovtest.guest_xml(NAME, [disk, idle_disk], serial, probe="read:vda:bs=64k:time=300", after="idle")
    xml = xml.replace("  <devices>\n", "  <throttlegroups><throttlegroup name='cap' bps_rd='%d'/>"
                      "</throttlegroups>\n  <devices>\n" % CAP, 1)
    path = os.path.join(daemon.tmp, NAME + ".xml")
    with open(path, "w") as f:
        f.write(xml)
    virsh(daemon, "define", path)
    virsh(daemon, "start", NAME)
    for pid in daemon.qemu_pids():
        iovtest.kill_at_exit(pid)
    s = iovtest.Serial(serial)
    s.wait_line("GUEST-READY", timeout=90)
    yield {"serial": s}
    virsh(daemon, "destroy", NAME, check=False)


def test_virsh_monitor_command_query_status(daemon, mon):
    out = virsh(daemon, "qemu-monitor-command", NAME, '{"execute":"query-status"}').stdout
    reply = json.loads(out)
    assert reply["return"]["status"] == "running", out
    assert reply["return"]["running"] is True
    pretty = virsh(daemon, "qemu-monitor-command", NAME, "--pretty",
                   '{"execute":"query-status"}').stdout
    assert "\n" in pretty.strip() and json.loads(pretty)["return"]["running"] is True, pretty


def test_hmp_and_bad_commands_are_refused_clearly(daemon, mon):
    p = virsh(daemon, "qemu-monitor-command", NAME, "--hmp", "info status", check=False)
    assert p.returncode != 0
    assert "human monitor (HMP) commands are not supported" in p.stderr, p.stderr
    # (virsh itself wraps a bare word into {"execute": WORD})
    r = iovsh(daemon, "qemu-monitor-command", NAME, "query-status")
    assert r.returncode == 1 and "is not a QMP command" in r.stderr, r.stderr
    r = iovsh(daemon, "qemu-monitor-command", NAME, '{"execute":"query-status","arguments":[]}')
    assert r.returncode == 1 and '"arguments" must be a JSON object' in r.stderr, r.stderr
    p = virsh(daemon, "qemu-monitor-command", NAME, '{"execute":"no-such-command"}', check=False)
    assert p.returncode != 0
    assert "no-such-command" in p.stderr, p.stderr


def test_read_only_connections_are_refused(daemon, mon):
    p = virsh(daemon, "qemu-monitor-command", NAME, '{"execute":"query-status"}', ro=True,
              check=False)
    assert p.returncode != 0
    assert "read only access prevents virDomainQemuMonitorCommand" in p.stderr, p.stderr
    r = iovsh(daemon, "qemu-monitor-command", NAME, '{"execute":"query-status"}', ro=True)
    assert r.returncode == 1 and "read only access prevents" in r.stderr, r.stderr


def test_taint_is_shown_and_limits_come_from_qemu(daemon, mon):
    # an earlier test already passed commands: the guest is tainted
    out = virsh(daemon, "dominfo", NAME).stdout
    assert "tainted: custom monitor control commands issued" in out, out
    info = json.loads(iovsh(daemon, "-o", "json", "dominfo", NAME).stdout)
    assert info["messages"] == ["tainted: custom monitor control commands issued"], info
    text = iovsh(daemon, "dominfo", NAME).stdout
    assert "Messages:" in text and "tainted" in text, text

    # vda's own limit changed behind the daemon's back: read back from QEMU
    qmp(daemon, {"execute": "qom-set", "arguments": {"path": "tg-vda", "property": "limits",
                                                      "value": {"bps-read": 3 * MiB}}})
    assert group_limits_in_qemu(daemon, "tg-vda")["bps-read"] == 3 * MiB
    tune = virsh(daemon, "blkdeviotune", NAME, "vda").stdout
    assert "read_bytes_sec : %d" % (3 * MiB) in tune, tune
    # the iovsh passthrough too, --return-value
    r = iovsh(daemon, "qemu-monitor-command", NAME, "--return-value",
              '{"execute":"qom-get","arguments":{"path":"tg-vda","property":"limits"}}')
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["bps-read"] == 3 * MiB
    # setting it again through iovirt reaches QEMU although the daemon's
    # record already said so
    virsh(daemon, "blkdeviotune", NAME, "vda", "--read-bytes-sec", str(OWN), "--live")
    assert group_limits_in_qemu(daemon, "tg-vda")["bps-read"] == OWN


def check(daemon, *args):
    r = iovsh(daemon, "domblkcheck", NAME, "--seconds", "2", *args)
    assert "Traceback" not in r.stderr
    return r


def rows(out):
    """The table of domblkcheck: (disk, step) -> the whole line."""
    table = {}
    for line in out.splitlines()[1:]:
        if not line.strip():
            break
        words = line.split()
        step = "own" if words[1] == "own" else words[2]
        table[(words[0], step)] = line
    return table


def test_domblkcheck_clean_says_which_disk_is_held(daemon, mon):
    r = check(daemon)
    assert r.returncode == 0, (r.stdout, r.stderr)
    t = rows(r.stdout)
    assert set(t) == {("vda", "own"), ("vda", "cap"), ("vdb", "own")}, r.stdout
    assert "DRIFT" not in r.stdout
    assert "bps_rd=2 MiB" in t[("vda", "cap")] and "held at its limit" in t[("vda", "cap")], r.stdout
    assert "held" not in t[("vda", "own")] and "held" not in t[("vdb", "own")], r.stdout
    assert "vda: read" in r.stdout and "held at its limit by group 'cap' (bps_rd" in r.stdout
    assert "vdb: read 0 B/s" in r.stdout and "vdb: read 0 B/s (0 IO/s), write 0 B/s (0 IO/s) " \
        "over 2 s: not held at a limit" in r.stdout, r.stdout


def test_drift_behind_our_back_is_reported_then_cleared(daemon, mon):
    qmp(daemon, {"execute": "qom-set", "arguments": {"path": "tgg-cap", "property": "limits",
                                                      "value": {"bps-read": 3 * MiB}}})
    r = check(daemon)
    assert r.returncode == 1, (r.stdout, r.stderr)
    t = rows(r.stdout)
    line = t[("vda", "cap")]
    assert "DRIFT" in line and "bps_rd=2 MiB" in line and "bps_rd=3 MiB" in line, r.stdout
    assert "DRIFT" not in t[("vda", "own")] and "DRIFT" not in t[("vdb", "own")], r.stdout
    j = json.loads(check(daemon, "-o", "json").stdout)
    assert j["drift"] is True
    cap = [s for s in j["steps"] if s["group"] == "cap"][0]
    assert cap["live"] == {"bps_rd": CAP} and cap["qemu"] == {"bps_rd": 3 * MiB}, cap
    # the daemon reads QEMU's value back for the group too
    info = iovsh(daemon, "-o", "json", "domthrottlegroupinfo", NAME, "cap")
    assert json.loads(info.stdout)["bps_rd"] == 3 * MiB, info.stdout

    # the same value set again through iovirt reaches QEMU: clean again
    r = iovsh(daemon, "domthrottlegroupset", NAME, "cap", "--bps_rd", str(CAP), "--live")
    assert r.returncode == 0, r.stderr
    assert group_limits_in_qemu(daemon, "tgg-cap")["bps-read"] == CAP
    r = check(daemon)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert "DRIFT" not in r.stdout


def test_live_change_is_information_not_drift(daemon, mon):
    virsh(daemon, "blkdeviotune", NAME, "vdb", "--read-bytes-sec", str(2 * MiB), "--live")
    r = check(daemon)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert "live differs from config" in rows(r.stdout)[("vdb", "own")], r.stdout


def test_domblkcheck_errors_exit_2(daemon, mon):
    r = iovsh(daemon, "domblkcheck", "no-such-guest")
    assert r.returncode == 2 and "error:" in r.stderr, r.stderr
    r = iovsh(daemon, "domblkcheck", NAME, "--seconds", "0")
    assert r.returncode == 2 and "--seconds" in r.stderr, r.stderr


def test_python_bindings_pass_commands_and_see_the_taint(daemon, mon):
    """python3-libvirt's libvirt_qemu and iovirt's own module."""
    import sys
    import libvirt
    import libvirt_qemu
    conn = libvirt.open(daemon.libvirt_uri)
    try:
        dom = conn.lookupByName(NAME)
        reply = json.loads(libvirt_qemu.qemuMonitorCommand(dom, '{"execute":"query-status"}', 0))
        assert reply["return"]["running"] is True
    finally:
        conn.close()
    if iovtest.PYTHON_MODULE_DIR not in sys.path:
        sys.path.insert(0, iovtest.PYTHON_MODULE_DIR)
    import iovirt
    c = iovirt.open(daemon.uri)
    d = c.lookupByName(NAME)
    reply = json.loads(d.qemuMonitorCommand('{"execute":"query-name"}'))
    assert reply == {"return": {"name": NAME}}
    assert d.getMessages() == ["tainted: custom monitor control commands issued"]
    with pytest.raises(iovirt.Error) as e:
        d.qemuMonitorCommand("info status", iovirt.DOMAIN_QEMU_MONITOR_COMMAND_HMP)
    assert "human monitor (HMP) commands are not supported" in str(e.value)
    # the hypervisor's limits of a group, asked directly
    cap = d.throttleGroup("cap", iovirt.DOMAIN_THROTTLE_HYPERVISOR)
    assert cap["bps_rd"] == CAP


def test_taint_survives_a_daemon_restart(daemon, mon):
    """The status file keeps the taint: a restarted daemon still says so,
    and still reads limits back from QEMU."""
    daemon.stop()
    daemon.start()
    iovtest.wait_for(lambda: "running" in virsh(daemon, "domstate", NAME, check=False).stdout,
                     timeout=30, what="the guest reconnected")
    out = virsh(daemon, "dominfo", NAME).stdout
    assert "tainted: custom monitor control commands issued" in out, out
    qmp(daemon, {"execute": "qom-set", "arguments": {"path": "tg-vdb", "property": "limits",
                                                      "value": {"bps-read": 5 * MiB}}})
    tune = virsh(daemon, "blkdeviotune", NAME, "vdb").stdout
    assert "read_bytes_sec : %d" % (5 * MiB) in tune, tune
    r = check(daemon)
    assert r.returncode == 1 and "DRIFT" in rows(r.stdout)[("vdb", "own")], r.stdout
