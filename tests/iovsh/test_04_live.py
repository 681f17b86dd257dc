"""blkiothrottle and blkdeviotune on running guests: the limits in force
are displayed, a live change is read back with iovsh and with the real
virsh, each flag changes what it should and only that, group members
follow, and the rate the guest measures follows a live change."""

import pytest

from conftest import FIELD_NAMES, Guest, iovtest, parse_display, virsh_iotune

MiB = iovtest.MiB


def zeros(**kw):
    d = {f: 0 for f in FIELD_NAMES}
    d["group"] = ""
    d.update(kw)
    return d


@pytest.fixture(scope="module")
def rate_guest(daemon, sh):
    """A guest reading vda for 24 s from boot, under bps_rd = 2 MiB/s."""
    g = Guest(daemon, "rate1", [("vda", "<iothrottle bps_rd='%d'/>" % (2 * MiB))],
              probe="read:vda:bs=64k:time=24").define(sh)
    return g.start(sh)


@pytest.fixture(scope="module")
def guest(daemon, sh):
    g = Guest(daemon, "live1", [
        ("vda", "<iothrottle bps_wr='1048576'/>"),
        ("vdb", "<iothrottle iops='200' group='G'/>"),
        ("vdc", "<iothrottle iops='200' group='G'/>"),
        ("vdd", ""),
    ]).define(sh)
    return g.start(sh)


def test_live_change_is_in_force_and_the_guest_rate_follows(sh, daemon, rate_guest):
    name = rate_guest.name
    serial = rate_guest.serial
    serial.wait_sample(0, 4, timeout=60)
    iovtest.assert_rate("before the change", serial.rate(0, first=2, last=4), 2 * MiB)
    assert sh.throttle(name, "vda") == zeros(bps_rd=2 * MiB)
    assert parse_display(sh.ok("blkiothrottle", name, "vda"))["bps_rd"] == "2097152 bytes/s (2 MiB/s)"

    serial.poll()
    changed_at = max(s[1] for s in serial.samples if s[0] == 0)
    out = sh.ok("blkiothrottle", name, "vda", "--bps_rd", "512K", "--live")
    assert out == "Limits of disk 'vda' of domain '%s' changed (live).\n" % name
    assert sh.throttle(name, "vda") == zeros(bps_rd=512 * 1024)
    assert sh.throttle(name, "vda", "--live") == zeros(bps_rd=512 * 1024)
    assert virsh_iotune(daemon, name, "vda", "--live")["bps_rd"] == 512 * 1024
    # the saved definition is untouched
    assert sh.throttle(name, "vda", "--config") == zeros(bps_rd=2 * MiB)
    assert virsh_iotune(daemon, name, "vda", "--config")["bps_rd"] == 2 * MiB

    first, last = changed_at + 2, changed_at + 6
    serial.wait_sample(0, last, timeout=60)
    iovtest.assert_rate("after the live change", serial.rate(0, first=first, last=last), 512 * 1024)


def test_live_is_the_default_on_a_running_guest(sh, daemon, guest):
    out = sh.ok("blkiothrottle", guest.name, "vdd", "--bps", "3M")
    assert out == "Limits of disk 'vdd' of domain '%s' changed (live).\n" % guest.name
    assert sh.throttle(guest.name, "vdd") == zeros(bps=3 * MiB)
    assert sh.throttle(guest.name, "vdd", "--live") == zeros(bps=3 * MiB)
    assert sh.throttle(guest.name, "vdd", "--current") == zeros(bps=3 * MiB)
    assert sh.throttle(guest.name, "vdd", "--config") == zeros()
    assert virsh_iotune(daemon, guest.name, "vdd")["bps"] == 3 * MiB
    sh.ok("blkiothrottle", guest.name, "vdd", "--bps", "0", "--current")
    assert sh.throttle(guest.name, "vdd") == zeros()


def test_config_changes_only_the_saved_definition(sh, daemon, guest):
    out = sh.ok("blkiothrottle", guest.name, "vdd", "--iops_rd", "77", "--config")
    assert out == "Limits of disk 'vdd' of domain '%s' changed (config).\n" % guest.name
    assert sh.throttle(guest.name, "vdd", "--config") == zeros(iops_rd=77)
    assert sh.throttle(guest.name, "vdd") == zeros()
    assert virsh_iotune(daemon, guest.name, "vdd", "--config")["iops_rd"] == 77
    assert virsh_iotune(daemon, guest.name, "vdd", "--live")["iops_rd"] == 0
    sh.ok("blkiothrottle", guest.name, "vdd", "--iops_rd", "0", "--config")


def test_live_and_config_change_both(sh, daemon, guest):
    out = sh.ok("blkiothrottle", guest.name, "vdd", "--bps_wr", "2M", "--iops_wr", "20", "--live", "--config")
    assert out == "Limits of disk 'vdd' of domain '%s' changed (live and config).\n" % guest.name
    want = zeros(bps_wr=2 * MiB, iops_wr=20)
    for flag in ("--live", "--config"):
        assert sh.throttle(guest.name, "vdd", flag) == want
        assert virsh_iotune(daemon, guest.name, "vdd", flag) == want
    assert sh.json("blkiothrottle", guest.name, "vdd", "--bps_wr", "0", "--iops_wr", "0", "--live",
                   "--config") == {"domain": guest.name, "disk": "vdd", "applied": ["live", "config"]}
    assert sh.throttle(guest.name, "vdd", "--config") == zeros()


def test_live_display_shows_the_limits_in_force_not_the_saved_ones(sh, guest):
    sh.ok("blkiothrottle", guest.name, "vda", "--bps_wr", "5M", "--live")
    assert parse_display(sh.ok("blkiothrottle", guest.name, "vda"))["bps_wr"] == "5242880 bytes/s (5 MiB/s)"
    assert parse_display(sh.ok("blkiothrottle", guest.name, "vda", "--config"))["bps_wr"] == \
        "1048576 bytes/s (1 MiB/s)"
    sh.ok("blkiothrottle", guest.name, "vda", "--bps_wr", "1M", "--live")


def test_live_bursts(sh, daemon, guest):
    sh.ok("blkiothrottle", guest.name, "vdd", "--iops", "100", "--iops_max", "1000", "--iops_max_length", "9")
    want = zeros(iops=100, iops_max=1000, iops_max_length=9)
    assert sh.throttle(guest.name, "vdd") == want
    assert virsh_iotune(daemon, guest.name, "vdd") == want
    shown = parse_display(sh.ok("blkiothrottle", guest.name, "vdd"))
    # bucket 9000, filled at 900 IO/s, drained at 100 IO/s
    assert shown["iops_max"] == "1000 IO/s; a burst lasts 10 s at full speed and refills in 90 s idle"
    sh.ok("blkiothrottle", guest.name, "vdd", "--iops", "0", "--iops_max", "0")
    assert sh.throttle(guest.name, "vdd") == zeros()


def test_live_set_on_a_group_member_changes_the_members(sh, daemon, guest):
    out = sh.ok("blkiothrottle", guest.name, "vdc", "--iops", "150", "--live")
    assert out == ("Limits of disk 'vdc' of domain '%s' changed (live).\n"
                   "Disk 'vdc' is in group 'G': disks vdb, vdc changed together.\n" % guest.name)
    for disk in ("vdb", "vdc"):
        assert sh.throttle(guest.name, disk) == zeros(iops=150, group="G")
        assert virsh_iotune(daemon, guest.name, disk, "--live")["iops"] == 150
        assert sh.throttle(guest.name, disk, "--config") == zeros(iops=200, group="G")


def test_live_and_config_set_on_a_group_member(sh, guest):
    out = sh.json("blkiothrottle", guest.name, "vdb", "--iops", "200", "--live", "--config")
    assert out == {"domain": guest.name, "disk": "vdb", "applied": ["live", "config"], "group": "G",
                   "members": ["vdb", "vdc"]}
    out = sh.ok("blkiothrottle", guest.name, "vdb", "--iops", "200", "--live", "--config")
    assert out.endswith("Disk 'vdb' is in group 'G': disks vdb, vdc changed together.\n")


def test_group_membership_differing_between_live_and_config_is_reported_for_each(sh, guest):
    sh.ok("blkiothrottle", guest.name, "vdd", "--group", "G", "--live")
    out = sh.ok("blkiothrottle", guest.name, "vdb", "--iops", "300", "--live", "--config")
    assert out == ("Limits of disk 'vdb' of domain '%s' changed (live and config).\n"
                   "Disk 'vdb' is in group 'G': disks vdb, vdc, vdd changed together (live).\n"
                   "Disk 'vdb' is in group 'G': disks vdb, vdc changed together (config).\n" % guest.name)
    sh.ok("blkiothrottle", guest.name, "vdd", "--group", "", "--iops", "0", "--live")
    sh.ok("blkiothrottle", guest.name, "vdb", "--iops", "200", "--live", "--config")
    assert sh.throttle(guest.name, "vdd") == zeros()


def test_blkdeviotune_live(sh, daemon, guest):
    sh.ok("blkdeviotune", guest.name, "vdd", "--read-bytes-sec", "1M", "--write-bytes-sec", "1000KB", "--live")
    want = zeros(bps_rd=MiB, bps_wr=1000000)
    assert sh.throttle(guest.name, "vdd", "--live") == want
    assert virsh_iotune(daemon, guest.name, "vdd", "--live") == want
    assert sh.json("blkdeviotune", guest.name, "vdd", "--live") == want
    sh.ok("blkdeviotune", guest.name, "vdd", "--read-bytes-sec", "0", "--live")


def test_errors_on_a_running_guest_change_nothing(sh, guest):
    before = sh.throttle(guest.name, "vda")
    assert "bps_max" in sh.fail("blkiothrottle", guest.name, "vda", "--bps_max", "1M", "--live")
    assert "bps_rd" in sh.fail("blkiothrottle", guest.name, "vda", "--bps", "1M", "--bps_rd", "1M")
    assert sh.fail("blkiothrottle", guest.name, "vda", "--bps_rd", "1.5M").startswith(
        "error: invalid value '1.5M' for option --bps_rd: ")
    assert sh.throttle(guest.name, "vda") == before


def test_read_only_connection_displays_live_limits_but_cannot_change_them(sh, daemon, guest):
    assert sh.json("blkiothrottle", guest.name, "vda", uri=daemon.uri_ro) == sh.throttle(guest.name, "vda")
    assert "read only" in sh.fail("blkiothrottle", guest.name, "vda", "--bps_wr", "0", uri=daemon.uri_ro)
