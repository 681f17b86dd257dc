"""domblkstat --watch: the live view of each disk's rates beside its
limits, against a guest whose disks run at their limits: the rates shown
are the limits, the loads near 100 %, the binding field named, groups
summed; it follows a live change; Ctrl-C stops it in the shell."""

import json
import re

import pytest

from conftest import Guest, Tmux, iovtest

MiB = iovtest.MiB


@pytest.fixture(scope="module")
def guest(daemon, sh):
    """vda read at bps_rd = 2 MiB/s, vdb written at iops_wr = 50, vdc read
    in group G (with the idle vdd) at bps = 1 MiB/s, for 60 s from boot."""
    g = Guest(daemon, "watch1", [
        ("vda", "<iothrottle bps_rd='%d'/>" % (2 * MiB)),
        ("vdb", "<iothrottle iops_wr='50'/>"),
        ("vdc", "<iothrottle bps='%d' group='G'/>" % MiB),
        ("vdd", "<iothrottle bps='%d' group='G'/>" % MiB),
    ], probe="read:vda:bs=64k:time=60,write:vdb:bs=4k:time=60,read:vdc:bs=64k:time=60").define(sh)
    g.start(sh)
    g.serial.wait_sample(2, 2, timeout=60)
    return g


def frames(sh, *args):
    out = sh.ok("domblkstat", *args, "--watch", "-o", "json")
    return [json.loads(line) for line in out.splitlines()]


def by_device(frame):
    return {d["device"]: d for d in frame["disks"]}


def test_json_frames_show_rates_at_the_limits_and_the_binding_field(sh, guest):
    fs = frames(sh, guest.name, "--count", "3")
    assert len(fs) == 3
    last = by_device(fs[-1])
    assert list(last) == ["vda", "vdb", "vdc", "vdd"]
    iovtest.assert_rate("vda read as watched", last["vda"]["rd_bytes_per_sec"], 2 * MiB)
    assert last["vda"]["binding"] == "bps_rd" and 85 <= last["vda"]["load_percent"] <= 110
    assert last["vda"]["limits"]["bps_rd"] == 2 * MiB
    iovtest.assert_rate("vdb write IOPS as watched", last["vdb"]["wr_iops"], 50)
    assert last["vdb"]["binding"] == "iops_wr" and 85 <= last["vdb"]["load_percent"] <= 110
    # group members have no load of their own: the group has
    assert last["vdc"]["group"] == "G" and "load_percent" not in last["vdc"]
    assert last["vdd"]["rd_bytes_per_sec"] == 0
    group = fs[-1]["groups"]
    assert [g["group"] for g in group] == ["G"]
    iovtest.assert_rate("group G as watched", group[0]["rd_bytes_per_sec"], MiB)
    assert group[0]["binding"] == "bps" and 85 <= group[0]["load_percent"] <= 110
    assert all(type(v) is int for d in fs[-1]["disks"] for k, v in d.items()
               if k not in ("device", "group", "binding", "limits"))


def test_text_frame_has_a_row_per_direction_with_bars(sh, guest):
    out = sh.ok("domblkstat", guest.name, "--watch", "--count", "2")
    frame = out.strip().split("\n\n")[-1]
    lines = out.strip().split("\n\n")
    assert lines[0].startswith("Disk I/O of domain '%s', refreshed each second (Ctrl-C stops)" % guest.name)
    assert "\x1b" not in out  # no escapes when stdout is not a terminal
    rows = frame.splitlines()
    assert rows[0].split()[:6] == ["DISK", "I/O", "BYTES/S", "LIMIT", "IO/S", "LIMIT"]
    vda = rows[1]
    m = re.match(r"vda\s+read\s+([\d.]+) (\S+)/s\s+2 MiB/s\s+(\d+)\s+-\s+\[(#*)(\.*)\]\s+(\d+)% bps_rd$", vda)
    assert m, frame
    assert m.group(2) in ("MiB", "KiB") and len(m.group(4)) + len(m.group(5)) == 20
    assert len(m.group(4)) >= 17 and 85 <= int(m.group(6)) <= 110
    assert rows[2].split()[0] == "write" and rows[3].split()[0] == "total"
    vdb_write = rows[5]
    assert re.match(r"\s+write\s+.*\s+50\s+\[#{17,20}\.*\]\s+\d+% iops_wr$", vdb_write), frame
    assert re.match(r"vdc\s+read\s+.*limited with group 'G'$", rows[7]), frame
    group_total = [r for r in rows if r.lstrip().startswith("total") and "bps" in r][-1]
    assert "1 MiB/s" in group_total
    assert any(r.startswith("group G") for r in rows), frame


def test_watch_follows_a_live_change(sh, guest):
    sh.ok("blkiothrottle", guest.name, "vda", "--bps_rd", "1M", "--live")
    try:
        fs = frames(sh, guest.name, "vda", "--count", "3")
        last = by_device(fs[-1])
        assert list(last) == ["vda"] and fs[-1]["groups"] == []
        assert last["vda"]["limits"]["bps_rd"] == MiB
        iovtest.assert_rate("vda read after the live change", last["vda"]["rd_bytes_per_sec"], MiB)
    finally:
        sh.ok("blkiothrottle", guest.name, "vda", "--bps_rd", "2M", "--live")


def test_watching_one_member_of_a_group_shows_the_group(sh, guest):
    fs = frames(sh, guest.name, "vdc", "--count", "2")
    assert list(by_device(fs[-1])) == ["vdc"]
    assert [g["group"] for g in fs[-1]["groups"]] == ["G"]
    iovtest.assert_rate("group G seen from vdc", fs[-1]["groups"][0]["rd_bytes_per_sec"], MiB)


def test_watch_errors(sh, guest):
    assert sh.fail("domblkstat", guest.name, "--count", "2") == (
        "error: option --count of command 'domblkstat' needs --watch")
    assert sh.fail("domblkstat", guest.name, "--watch", "--count", "x") == (
        "error: invalid value 'x' for option --count: expected a non-negative integer")
    assert sh.fail("domblkstat", guest.name, "vdz", "--watch", "--count", "1") == (
        "error: domain '%s' has no disk 'vdz'" % guest.name)


def test_watch_in_the_shell_stops_on_ctrl_c(daemon, guest):
    t = Tmux(daemon)
    try:
        t.wait("iovsh #")
        t.type("domblkstat %s --watch" % guest.name)
        t.keys("Enter")
        s = t.wait(lambda s: re.search(r"vda\s+read\s+.*% bps_rd", s), what="a frame")
        assert "Disk I/O of domain '%s'" % guest.name in s
        t.keys("C-c")
        t.wait(lambda s: s.rstrip().endswith("iovsh #"), what="the prompt")
        t.type("domstate %s" % guest.name)
        t.keys("Enter")
        t.wait(lambda s: s.rstrip().endswith("running\niovsh #"), what="domstate's answer")
        assert t.alive()
    finally:
        t.kill()
