"""iovsh top: three guests read their vda at its limit (two limited in
bytes/s, one in IO/s) while their vdb stays idle; top shows each vda at
its limit with a full bar, those disks first, and the idle ones last."""

import json
import re

import pytest

from conftest import Guest, Tmux, iovtest

MiB = iovtest.MiB

LIMITS = {
    "top1": ("<iothrottle bps_rd='%d'/>" % MiB, "read:vda:bs=64k:time=90", "bps_rd", MiB),
    "top2": ("<iothrottle bps_rd='%d'/>" % (2 * MiB), "read:vda:bs=64k:time=90", "bps_rd",
             2 * MiB),
    "top3": ("<iothrottle iops_rd='60'/>", "read:vda:bs=4k:time=90", "iops_rd", 60),
}


@pytest.fixture(scope="module")
def guests(daemon, sh):
    gs = []
    for name, (throttle, probe, _, _) in sorted(LIMITS.items()):
        g = Guest(daemon, name, [("vda", throttle), ("vdb", "")], probe=probe).define(sh)
        g.start(sh, wait_ready=False)
        gs.append(g)
    for g in gs:
        g.serial.wait_sample(0, 2, timeout=120)
    return gs


def test_once_json_shows_every_disk_at_its_limit_closest_first(sh, guests):
    frame = json.loads(sh.ok("top", "--once", "-o", "json"))
    disks = frame["disks"]
    assert sorted((d["domain"], d["device"]) for d in disks) == \
        sorted((n, t) for n in LIMITS for t in ("vda", "vdb"))
    # the three busy disks first, then the unlimited idle ones
    assert [d["device"] for d in disks] == ["vda"] * 3 + ["vdb"] * 3
    loads = [d["load_percent"] for d in disks[:3]]
    assert loads == sorted(loads, reverse=True)
    for d in disks[:3]:
        _, _, field, limit = LIMITS[d["domain"]]
        measured = d["rd_iops"] if field == "iops_rd" else d["rd_bytes_per_sec"]
        iovtest.assert_rate("%s vda in top" % d["domain"], measured, limit)
        assert d["binding"] == field and 85 <= d["load_percent"] <= 110
        assert d["limits"][field] == limit
    for d in disks[3:]:
        assert d["load_percent"] is None and d["rd_bytes_per_sec"] == 0


def test_screen_in_a_terminal_refreshes_with_bars(daemon, guests):
    t = Tmux(daemon, "top")
    try:
        row = r"^(top\d)\s+vda\s+.*\[(#+)(\.*)\]\s+(\d+)% (bps_rd|iops_rd)$"

        def full(s):
            rows = re.findall(row, s.split("LOAD (rate / closest limit)")[-1], re.M)
            return len(rows) == 3 and all(len(r[1]) >= 17 and 85 <= int(r[3]) <= 110
                                          for r in rows)
        s = t.wait(full, timeout=30, what="three disks at their limits")
        frame = s.split("Disk I/O of every running guest")[-1]
        first = re.search(r"^\S.*$", frame.split("LOAD (rate / closest limit)")[1], re.M)
        assert re.match(r"top\d\s+vda", first.group(0)), frame
        clock = re.search(r"(\d\d:\d\d:\d\d)", frame).group(1)
        # it refreshes: a later frame carries a later clock
        t.wait(lambda s: re.search(r"(\d\d:\d\d:\d\d)", s.split("Disk I/O of every")[-1]).group(1)
               != clock, timeout=5, what="a refresh")
        for name in LIMITS:
            assert re.search(r"^%s\s+vdb\s+.*\[\.{20}\]\s+-$" % name, s, re.M), s
        t.keys("C-c")
        t.wait(lambda s: not t.alive() or "$" in s.splitlines()[-1], timeout=5, what="the end")
    finally:
        t.kill()
