"""blkiothrottle, blkdeviotune and the guest commands on guests that are
defined but not running: the display and set paths on the saved
definition, every flag, the suffixes, every kind of bad input, JSON output
parsed back, read back with iovsh and with the real virsh. No QEMU runs."""

import json
import os
import re

import pytest

from conftest import ALIAS, FIELD_NAMES, Guest, iovtest, parse_display, virsh, virsh_iotune

TOTAL = 1048576


@pytest.fixture(scope="module")
def guest(daemon, sh):
    return Guest(daemon, "cfg1", [
        ("vda", "<iothrottle bps_rd='2097152' bps_wr='1048576' iops='300'/>"),
        ("vdb", "<iothrottle bps='%d' group='G'/>" % TOTAL),
        ("vdc", "<iothrottle bps='%d' group='G'/>" % TOTAL),
        ("vdd", ""),
        ("vde", ""),
    ]).define(sh)


@pytest.fixture(scope="module")
def other(daemon, sh):
    """A second guest, for the commands that change a definition."""
    return Guest(daemon, "cfg2", [("vda", ""), ("vdb", "")]).define(sh)


def zeros(**kw):
    d = {f: 0 for f in FIELD_NAMES}
    d["group"] = ""
    d.update(kw)
    return d


# --- display ----------------------------------------------------------------

def test_display_shows_every_field_one_a_line_aligned_in_table_order(sh, guest):
    out = sh.ok("blkiothrottle", guest.name, "vda")
    lines = out.splitlines()
    assert [line.split(" : ")[0].strip() for line in lines] == FIELD_NAMES
    shown = parse_display(out)
    assert shown["bps_rd"] == "2097152 bytes/s (2 MiB/s)"
    assert shown["bps_wr"] == "1048576 bytes/s (1 MiB/s)"
    assert shown["iops"] == "300 IO/s"
    assert shown["bps"] == "0"
    assert shown["group"] == "(none)"


def test_display_json_has_field_names_and_integers(sh, guest):
    assert sh.throttle(guest.name, "vda") == zeros(bps_rd=2097152, bps_wr=1048576, iops=300)
    raw = sh.ok("-o", "json", "blkiothrottle", guest.name, "vda")
    values = json.loads(raw)
    assert list(values) == FIELD_NAMES
    assert all(type(v) is int for k, v in values.items() if k != "group")
    assert values["group"] == ""


def test_display_dash_o_after_the_command_is_the_same(sh, guest):
    assert sh.ok("blkiothrottle", guest.name, "vda", "-o", "json") == \
        sh.ok("-o", "json", "blkiothrottle", guest.name, "vda")
    assert sh.ok("blkiothrottle", guest.name, "vda", "--output=json") == \
        sh.ok("-o", "json", "blkiothrottle", guest.name, "vda")


def test_display_current_and_config_agree_on_a_shut_off_guest(sh, guest):
    assert sh.throttle(guest.name, "vda", "--config") == sh.throttle(guest.name, "vda")
    assert sh.throttle(guest.name, "vda", "--current") == sh.throttle(guest.name, "vda")


def test_display_matches_the_real_virsh(sh, daemon, guest):
    for disk in ("vda", "vdb"):
        assert virsh_iotune(daemon, guest.name, disk, "--config") == sh.throttle(guest.name, disk, "--config")


def test_display_of_a_group_member_names_the_group_and_its_disks(sh, guest):
    shown = parse_display(sh.ok("blkiothrottle", guest.name, "vdb"))
    assert shown["group"] == "G (disks vdb, vdc)"
    assert sh.throttle(guest.name, "vdb")["group"] == "G"


def test_display_live_of_a_shut_off_guest_is_the_daemons_error(sh, guest):
    err = sh.fail("blkiothrottle", guest.name, "vda", "--live")
    assert "not running" in err


def test_display_live_and_config_at_once_is_refused(sh, guest):
    assert sh.fail("blkiothrottle", guest.name, "vda", "--live", "--config") == (
        "error: command 'blkiothrottle' displays either --live or --config limits, not both at once")


def test_disk_named_by_its_source_path(sh, guest):
    assert sh.throttle(guest.name, guest.images["vda"]) == sh.throttle(guest.name, "vda")


def test_guest_named_by_its_uuid(sh, guest):
    uuid = sh.json("dominfo", guest.name)["uuid"]
    assert sh.throttle(uuid, "vda") == sh.throttle(guest.name, "vda")
    assert sh.throttle(uuid.replace("-", ""), "vda") == sh.throttle(guest.name, "vda")


# --- bad input --------------------------------------------------------------

def test_unknown_guest_is_the_daemons_error(sh):
    assert sh.fail("blkiothrottle", "nosuch", "vda") == (
        "error: Domain not found: no domain with matching name 'nosuch'")
    assert sh.fail("blkiothrottle", "nosuch", "vda", "--bps", "1") == (
        "error: Domain not found: no domain with matching name 'nosuch'")


def test_unknown_disk_is_the_daemons_error(sh, guest):
    err = sh.fail("blkiothrottle", guest.name, "vdz")
    assert err.startswith("error: invalid argument: disk 'vdz' not found"), err
    err = sh.fail("blkiothrottle", guest.name, "vdz", "--bps", "1M")
    assert "'vdz'" in err


@pytest.mark.parametrize("value", ["abc", "-5", "1.5M", "", " 5", "5 ", "+5", "1e6", "0x10", "5MiBs",
                                   "--live", "99999999999999999999", "1Q"])
def test_bad_byte_value_is_refused_naming_the_option(sh, guest, value):
    before = sh.throttle(guest.name, "vda")
    err = sh.fail("blkiothrottle", guest.name, "vda", "--bps_rd", value)
    assert err.startswith("error: invalid value '%s' for option --bps_rd: " % value), err
    assert sh.throttle(guest.name, "vda") == before


@pytest.mark.parametrize("value", ["abc", "-5", "1.5", "1K", "10k", "", "+1", "1e3", "99999999999999999999"])
def test_bad_plain_value_is_refused_naming_the_option(sh, guest, value):
    err = sh.fail("blkiothrottle", guest.name, "vda", "--iops", value)
    assert err == ("error: invalid value '%s' for option --iops: "
                   "expected a non-negative integer (IO/s, no suffix)" % value)


def test_bad_value_with_libvirt_name_names_that_option(sh, guest):
    err = sh.fail("blkdeviotune", guest.name, "vda", "--total-iops-sec", "1.5")
    assert err.startswith("error: invalid value '1.5' for option --total-iops-sec: ")
    err = sh.fail("blkdeviotune", guest.name, "vda", "--read-bytes-sec", "1.5M")
    assert err.startswith("error: invalid value '1.5M' for option --read-bytes-sec: ")


def test_suffix_on_a_length_is_refused(sh, guest):
    err = sh.fail("blkiothrottle", guest.name, "vda", "--bps_max_length", "1M")
    assert err == "error: invalid value '1M' for option --bps_max_length: expected a non-negative integer (s, no suffix)"


def test_value_above_qemus_maximum_is_the_daemons_error(sh, guest):
    err = sh.fail("blkiothrottle", guest.name, "vda", "--bps_rd", "2000000000000000")
    assert "bps_rd" in err and "2000000000000000" in err and "'vda'" in err


def test_total_with_read_is_refused_and_nothing_changes(sh, guest):
    before = sh.throttle(guest.name, "vda")
    err = sh.fail("blkiothrottle", guest.name, "vda", "--bps", "1M", "--bps_rd", "1M")
    assert err.startswith("error: invalid argument: disk 'vda': bps (1048576) and bps_rd (1048576)"), err
    assert sh.throttle(guest.name, "vda") == before


def test_max_below_base_is_refused(sh, guest):
    err = sh.fail("blkiothrottle", guest.name, "vdd", "--bps", "2M", "--bps_max", "1M")
    assert "bps_max (1048576)" in err and "'vdd'" in err


@pytest.mark.parametrize("flags,other", [
    (["--live", "--current"], "live"),
    (["--current", "--live"], "live"),
    (["--current", "--config"], "config"),
    (["--config", "--live", "--current"], "live"),
])
def test_current_excludes_live_and_config(sh, guest, flags, other):
    for extra in ([], ["--bps", "1M"]):
        assert sh.fail("blkiothrottle", guest.name, "vda", *flags, *extra) == (
            "error: options --current and --%s of command 'blkiothrottle' are mutually exclusive" % other)


def test_set_live_on_a_shut_off_guest_fails_and_changes_nothing(sh, guest):
    before = sh.throttle(guest.name, "vda")
    err = sh.fail("blkiothrottle", guest.name, "vda", "--iops", "5", "--live")
    assert "not running" in err
    err = sh.fail("blkiothrottle", guest.name, "vda", "--iops", "5", "--live", "--config")
    assert "not running" in err
    assert sh.throttle(guest.name, "vda") == before


def test_read_only_connection_displays_but_refuses_to_set(sh, daemon, guest):
    before = sh.throttle(guest.name, "vda")
    assert sh.json("blkiothrottle", guest.name, "vda", uri=daemon.uri_ro) == before
    err = sh.fail("blkiothrottle", guest.name, "vda", "--iops", "7", uri=daemon.uri_ro)
    assert err.startswith("error: operation forbidden: read only access"), err
    err = sh.fail("-r", "blkiothrottle", guest.name, "vda", "--iops", "7")
    assert err.startswith("error: operation forbidden: read only access"), err
    assert sh.throttle(guest.name, "vda") == before


# --- set --------------------------------------------------------------------

@pytest.mark.parametrize("flags", [[], ["--config"], ["--current"]])
def test_set_on_a_shut_off_guest_changes_the_saved_definition(sh, daemon, guest, flags):
    out = sh.ok("blkiothrottle", guest.name, "vdd", "--bps_rd", "3M", "--bps_wr", "1M", "--iops", "40", *flags)
    assert out == "Limits of disk 'vdd' of domain '%s' changed (config).\n" % guest.name
    want = zeros(bps_rd=3 * 1048576, bps_wr=1048576, iops=40)
    assert sh.throttle(guest.name, "vdd", "--config") == want
    assert virsh_iotune(daemon, guest.name, "vdd", "--config") == want
    sh.ok("blkiothrottle", guest.name, "vdd", "--bps_rd", "0", "--iops", "0")
    assert sh.throttle(guest.name, "vdd") == zeros()


def test_setting_a_member_of_a_family_resets_the_others(sh, guest):
    sh.ok("blkiothrottle", guest.name, "vde", "--bps_rd", "2M", "--bps_wr", "1M", "--iops_rd", "20")
    sh.ok("blkiothrottle", guest.name, "vde", "--bps", "5M")
    assert sh.throttle(guest.name, "vde") == zeros(bps=5 * 1048576, iops_rd=20)
    sh.ok("blkiothrottle", guest.name, "vde", "--bps", "0", "--iops", "0")
    assert sh.throttle(guest.name, "vde") == zeros()


@pytest.mark.parametrize("text,value", [
    ("1024", 1024), ("1k", 1024), ("1K", 1024), ("1KiB", 1024), ("1kib", 1024), ("1KB", 1000),
    ("1kb", 1000), ("2M", 2097152), ("2m", 2097152), ("2MiB", 2097152), ("3MB", 3000000),
    ("1G", 1073741824), ("1gib", 1073741824), ("5GB", 5000000000), ("7b", 7), ("9bytes", 9),
    ("0", 0), ("0M", 0),
])
def test_byte_values_take_virshs_suffixes(sh, daemon, guest, text, value):
    sh.ok("blkiothrottle", guest.name, "vde", "--bps_wr", text)
    assert sh.throttle(guest.name, "vde")["bps_wr"] == value
    assert virsh_iotune(daemon, guest.name, "vde", "--config")["bps_wr"] == value
    sh.ok("blkiothrottle", guest.name, "vde", "--bps_wr", "0")


def test_iops_size_takes_suffixes_too(sh, guest):
    sh.ok("blkiothrottle", guest.name, "vde", "--iops", "100", "--iops_size", "4K")
    assert sh.throttle(guest.name, "vde") == zeros(iops=100, iops_size=4096)
    shown = parse_display(sh.ok("blkiothrottle", guest.name, "vde"))
    assert shown["iops_size"] == "4096 bytes (4 KiB)"
    sh.ok("blkiothrottle", guest.name, "vde", "--iops", "0", "--iops_size", "0")


def test_dashed_and_underscored_spellings_are_the_same_option(sh, guest):
    sh.ok("blkiothrottle", guest.name, "vde", "--bps-rd", "1K", "--iops-wr", "3")
    assert sh.throttle(guest.name, "vde") == zeros(bps_rd=1024, iops_wr=3)
    sh.ok("blkiothrottle", guest.name, "vde", "--bps_rd", "0", "--iops_wr", "0")


def test_bursts_show_how_long_they_last_at_full_speed(sh, daemon, guest):
    sh.ok("blkiothrottle", guest.name, "vde", "--bps", "1M", "--bps_max", "4M", "--bps_max_length", "30",
          "--iops_wr", "100", "--iops_wr_max", "200")
    want = zeros(bps=1048576, bps_max=4194304, bps_max_length=30, iops_wr=100, iops_wr_max=200)
    assert sh.throttle(guest.name, "vde") == want
    assert virsh_iotune(daemon, guest.name, "vde", "--config") == want
    shown = parse_display(sh.ok("blkiothrottle", guest.name, "vde"))
    # bucket 4 MiB x 30 s, filled at 3 MiB/s at full speed, drained at 1 MiB/s
    assert shown["bps_max"] == ("4194304 bytes/s (4 MiB/s); "
                                "a burst lasts 40 s at full speed and refills in 120 s idle")
    assert shown["bps_max_length"] == "30 s"
    # length 0 counts as 1 s: bucket 200, filled at 100 IO/s, drained at 100 IO/s
    assert shown["iops_wr_max"] == "200 IO/s; a burst lasts 2 s at full speed and refills in 2 s idle"
    assert shown["iops_wr_max_length"] == "0 (the default, 1 s)"
    assert shown["bps_rd_max_length"] == "0"
    sh.ok("blkiothrottle", guest.name, "vde", "--bps", "0", "--bps_max", "0", "--iops_wr", "0",
          "--iops_wr_max", "0")
    assert sh.throttle(guest.name, "vde") == zeros()


def test_blkdeviotune_takes_libvirts_names(sh, daemon, guest):
    sh.ok("blkdeviotune", guest.name, "vde", "--read-bytes-sec", "2M", "--write_bytes_sec", "1KB",
          "--total-iops-sec", "50", "--size-iops-sec", "8192", "--total-iops-sec-max", "100",
          "--total_iops_sec_max_length", "4")
    want = zeros(bps_rd=2097152, bps_wr=1000, iops=50, iops_size=8192, iops_max=100, iops_max_length=4)
    assert sh.throttle(guest.name, "vde") == want
    assert sh.json("blkdeviotune", guest.name, "vde") == want
    assert virsh_iotune(daemon, guest.name, "vde", "--config") == want
    sh.ok("blkdeviotune", guest.name, "vde", "--read-bytes-sec", "0", "--total-iops-sec", "0",
          "--total-iops-sec-max", "0", "--size-iops-sec", "0", "--total-iops-sec-max-length", "0")
    assert sh.throttle(guest.name, "vde") == zeros()


def test_blkdeviotune_has_an_option_for_every_field(sh, guest):
    for name, alias in ALIAS.items():
        err = sh.fail("blkdeviotune", guest.name, "vde", "--" + alias.replace("_", "-"), "x y")
        assert err.startswith("error: invalid value 'x y' for option --%s: " % alias.replace("_", "-")) or \
            name == "group", err


def test_blkdeviotune_agrees_with_virsh_after_a_set_by_virsh(sh, daemon, guest):
    r = virsh(daemon, "blkdeviotune", guest.name, "vde", "--read-iops-sec", "77", "--config")
    assert r.returncode == 0, r.stderr
    assert sh.throttle(guest.name, "vde") == zeros(iops_rd=77)
    sh.ok("blkdeviotune", guest.name, "vde", "--read-iops-sec", "0")


def test_set_json_output_names_what_changed(sh, guest):
    out = sh.json("blkiothrottle", guest.name, "vde", "--iops", "9")
    assert out == {"domain": guest.name, "disk": "vde", "applied": ["config"]}
    sh.ok("blkiothrottle", guest.name, "vde", "--iops", "0")


# --- groups -----------------------------------------------------------------

def test_set_on_a_group_member_names_the_members_changed_with_it(sh, daemon, guest):
    out = sh.ok("blkiothrottle", guest.name, "vdb", "--bps", "3M")
    assert out == ("Limits of disk 'vdb' of domain '%s' changed (config).\n"
                   "Disk 'vdb' is in group 'G': disks vdb, vdc changed together.\n" % guest.name)
    for disk in ("vdb", "vdc"):
        assert sh.throttle(guest.name, disk) == zeros(bps=3 * 1048576, group="G")
        assert virsh_iotune(daemon, guest.name, disk, "--config")["bps"] == 3 * 1048576
    out = sh.json("blkiothrottle", guest.name, "vdc", "--bps", str(TOTAL))
    assert out == {"domain": guest.name, "disk": "vdc", "applied": ["config"], "group": "G",
                   "members": ["vdb", "vdc"]}
    assert sh.throttle(guest.name, "vdb") == zeros(bps=TOTAL, group="G")


def test_joining_and_leaving_a_group(sh, guest):
    out = sh.ok("blkiothrottle", guest.name, "vdd", "--group", "G")
    assert "Disk 'vdd' is in group 'G': disks vdb, vdc, vdd changed together." in out
    assert sh.throttle(guest.name, "vdd") == zeros(bps=TOTAL, group="G")
    out = sh.ok("blkdeviotune", guest.name, "vdd", "--group-name", "", "--total-bytes-sec", "0")
    assert out == "Limits of disk 'vdd' of domain '%s' changed (config).\n" % guest.name
    assert sh.throttle(guest.name, "vdd") == zeros()
    assert sh.throttle(guest.name, "vdb") == zeros(bps=TOTAL, group="G")


def test_a_group_of_one_is_named(sh, guest):
    out = sh.ok("blkiothrottle", guest.name, "vde", "--iops", "10", "--group", "Solo")
    assert "Disk 'vde' is the only member of group 'Solo'." in out
    sh.ok("blkiothrottle", guest.name, "vde", "--iops", "0", "--group", "")
    assert sh.throttle(guest.name, "vde") == zeros()


# --- guest commands on a shut-off guest ---------------------------------------

def test_list_shows_shut_off_guests_with_all_or_inactive_only(sh, guest, other):
    assert guest.name not in sh.ok("list")
    out = sh.ok("list", "--all")
    assert re.search(r"^ -\s+%s\s+shut off$" % guest.name, out, re.M), out
    assert out.splitlines()[0].split() == ["Id", "Name", "State"]
    assert guest.name in sh.ok("list", "--inactive")
    names = [d["name"] for d in sh.json("list", "--all")]
    assert names == sorted(names) and guest.name in names and other.name in names
    entry = [d for d in sh.json("list", "--all") if d["name"] == guest.name][0]
    assert entry["id"] == -1 and entry["state"] == "shut off" and entry["persistent"] is True
    assert sh.fail("list", "--all", "--inactive") == (
        "error: options --all and --inactive of command 'list' are mutually exclusive")


def test_domstate_and_dominfo_of_a_shut_off_guest(sh, guest):
    assert sh.ok("domstate", guest.name) == "shut off\n"
    info = sh.json("dominfo", guest.name)
    assert info["id"] == -1 and info["name"] == guest.name and info["state"] == "shut off"
    assert info["disks"] == 5 and info["persistent"] is True
    assert info["max_memory_kib"] == 192 * 1024 and info["vcpus"] == 1
    text = sh.ok("dominfo", guest.name)
    assert "Id:             -\n" in text and "Disks:          5\n" in text
    assert "UUID:           %s\n" % info["uuid"] in text


def test_dumpxml_shows_the_limits(sh, guest):
    xml = sh.ok("dumpxml", guest.name, "--inactive")
    assert "<name>%s</name>" % guest.name in xml
    assert re.search(r"<iothrottle [^>]*bps_rd=.2097152.", xml), xml
    assert sh.json("dumpxml", guest.name)["xml"] == sh.ok("dumpxml", guest.name)


def test_domblklist_shows_targets_sources_and_limits(sh, guest):
    out = sh.ok("domblklist", guest.name)
    lines = out.splitlines()
    assert lines[0].split() == ["Target", "Source", "Limits"]
    rows = {line.split()[0]: line.split(None, 2)[1:] for line in lines[2:]}
    assert rows["vda"] == [guest.images["vda"], "bps_rd=2097152 bps_wr=1048576 iops=300"]
    assert rows["vdb"] == [guest.images["vdb"], "bps=%d group=G" % TOTAL]
    assert rows["vde"] == [guest.images["vde"], "-"]
    disks = sh.json("domblklist", guest.name, "--inactive")
    assert [d["target"] for d in disks] == ["vda", "vdb", "vdc", "vdd", "vde"]
    assert disks[0]["source"] == guest.images["vda"]
    assert disks[0]["limits"] == zeros(bps_rd=2097152, bps_wr=1048576, iops=300)


def test_commands_needing_a_running_guest_fail_with_the_daemons_error(sh, guest):
    for cmd in (["suspend"], ["resume"], ["destroy"], ["shutdown"], ["domblkstat"],
                ["domblkstat", "--watch", "--count", "1"]):
        err = sh.fail(cmd[0], guest.name, *cmd[1:])
        assert "not running" in err, (cmd, err)


def test_define_errors(sh, daemon):
    err = sh.fail("define", "/nonexistent/x.xml")
    assert err.startswith("error: cannot read '/nonexistent/x.xml': ")
    bad = daemon.tmp + "/bad.xml"
    with open(bad, "w") as f:
        f.write("<domain type='qemu'><name>bad</name></domain>")
    err = sh.fail("define", bad)
    assert err.startswith("error: ") and len(err) > 10


def test_undefine_then_define_again(sh, other):
    assert sh.ok("undefine", other.name) == "Domain '%s' has been undefined\n" % other.name
    assert other.name not in sh.ok("list", "--all")
    assert sh.fail("undefine", other.name) == (
        "error: Domain not found: no domain with matching name '%s'" % other.name)
    other.define(sh)
    assert other.name in sh.ok("list", "--all")


# --- what a one-shot command loads ------------------------------------------

HEAVY = ("libxml2", "libgnutls", "libreadline", "libgssapi", "libkrb5", "libicu")


def loaded_objects(daemon, sh, *args):
    """The shared objects the dynamic loader opened while iovsh ran args
    (it reports each with LD_DEBUG=files), and iovsh's output."""
    env = dict(daemon.env, LD_DEBUG="files")
    r = sh.run(*args, env=env)
    assert r.rc == 0, r
    names = re.findall(r"file=(\S+)\s+\[\d+\];\s+(?:needed|dynamically loaded)", r.err)
    return [os.path.basename(n) for n in names], r.out


def test_a_get_and_a_set_load_neither_xml_tls_readline_nor_kerberos(daemon, sh, guest):
    objs, out = loaded_objects(daemon, sh, "blkiothrottle", guest.name, "vda", "--config")
    assert "bps_rd" in out
    if iovtest.IOVSH_STATIC:
        # the client library, GLib and json-c are in iovsh itself
        assert set(objs) <= {"libc.so.6", "libm.so.6"}, objs
    else:
        assert "libiovirt.so.0" in objs
    assert not [o for o in objs if o.startswith(HEAVY)], objs
    objs, out = loaded_objects(daemon, sh, "blkiothrottle", guest.name, "vde", "--config",
                               "--iops", "77")
    assert "changed" in out
    assert not [o for o in objs if o.startswith(HEAVY)], objs
    assert sh.throttle(guest.name, "vde", "--config")["iops"] == 77


def test_disk_listings_and_group_members_read_no_xml(daemon, sh, guest):
    """The disks come from the daemon's list of them (iovDomainListDisks),
    not from the domain's XML: no command that lists disks or names a
    group's members loads libxml2."""
    for args in (("domblklist", guest.name, "--inactive"), ("dominfo", guest.name)):
        objs, out = loaded_objects(daemon, sh, *args)
        assert not [o for o in objs if o.startswith(HEAVY) or o.startswith("iovsh-")], (args, objs)
    objs, out = loaded_objects(daemon, sh, "domblklist", guest.name, "--inactive")
    assert [line.split()[0] for line in out.splitlines()[2:]] == ["vda", "vdb", "vdc", "vdd", "vde"]
    assert re.search(r"^ vdb\s+%s\s" % re.escape(guest.images["vdb"]), out, re.M), out
    # a disk in a group: the display names the other members
    objs, out = loaded_objects(daemon, sh, "blkiothrottle", guest.name, "vdb", "--config")
    assert not [o for o in objs if o.startswith(HEAVY) or o.startswith("iovsh-")], objs
    assert parse_display(out)["group"] == "G (disks vdb, vdc)"


def change_media_cdrom(sh, other, tmp_path):
    """Give `other` a cdrom sdc in its definition; the ISO to insert."""
    doc = tmp_path / "cdrom.xml"
    doc.write_text("<disk type='file' device='cdrom'><target dev='sdc' bus='sata'/></disk>")
    assert sh.ok("attach-device", other.name, str(doc), "--config") == "Device attached successfully\n"
    return other.images["vda"].replace("vda", "cd")


@pytest.mark.skipif(not iovtest.IOVSH_STATIC, reason="iovsh links GLib as a shared library")
def test_a_module_in_a_static_iovsh_takes_glib_and_the_library_from_iovsh(daemon, sh, other,
                                                                          tmp_path):
    iso = change_media_cdrom(sh, other, tmp_path)
    env = dict(daemon.env, LD_DEBUG="files,bindings")
    r = sh.run("change-media", other.name, "sdc", iso, "--insert", "--config", env=env)
    assert r.rc == 0 and r.out == "Successfully changed media.\n", r
    bound = iovtest.module_bindings(r.err, "iovsh-xml.so")
    glib = {s: o for s, o in bound.items() if s.startswith("g_")}
    assert "g_strdup" in glib, bound
    assert set(glib.values()) == {iovtest.MODULE_HOST}, glib
    # no second GLib, no shared client library in the process
    objs = re.findall(r"file=(\S+)\s+\[\d+\];\s+(?:needed|dynamically loaded)", r.err)
    assert not [o for o in objs if "libglib" in o or "libiovirt" in o], objs
    assert sh.ok("change-media", other.name, "sdc", "--eject", "--config") == \
        "Successfully ejected media.\n"
    assert sh.ok("detach-disk", other.name, "sdc", "--config")


def test_a_command_that_edits_xml_loads_the_module_and_works(daemon, sh, other, tmp_path):
    iso = change_media_cdrom(sh, other, tmp_path)
    objs, out = loaded_objects(daemon, sh, "change-media", other.name, "sdc", iso, "--insert",
                               "--config")
    assert "iovsh-xml.so" in objs and "libxml2.so.2" in objs
    assert out == "Successfully changed media.\n"
    disks = {d["target"]: d for d in sh.json("domblklist", other.name, "--inactive")}
    assert disks["sdc"]["source"] == iso
    assert sh.ok("detach-disk", other.name, "sdc", "--config")



@pytest.mark.skipif(not iovtest.IOVSH_FRONT, reason="iovsh links the shared C library")
def test_the_static_iovsh_runs_without_a_loader_and_hands_over_for_a_module(daemon, sh, guest,
                                                                            other, tmp_path):
    """iovsh linked with a static libc has no dynamic loader, so LD_DEBUG
    has nothing to say about it; a command that needs a module runs in
    iovsh-full instead, whose loader does, with its output printed once."""
    env = dict(daemon.env, LD_DEBUG="files")
    r = sh.run("blkiothrottle", guest.name, "vda", "--config", env=env)
    assert r.rc == 0 and "bps_rd" in r.out and r.err == "", r
    r = sh.run("blkiothrottle", guest.name, "vde", "--config", "--iops", "78", env=env)
    assert r.rc == 0 and r.err == "", r
    r = sh.run("domblklist", guest.name, "--inactive", env=env)
    assert r.rc == 0 and r.err == "" and re.search(r"^ vde\s.*iops=78", r.out, re.M), r
    # the shell reading a script: handed over before reading anything
    r = sh.run(input="domstate %s\nblkiothrottle %s vde --config --iops 79\n" % (
        guest.name, guest.name), env=env)
    assert r.rc == 0, r
    assert r.out == "shut off\nLimits of disk 'vde' of domain 'cfg1' changed (config).\n", r
    assert "needed by %s" % os.path.join(iovtest.BUILD_DIR, "tools", "iovsh-full") in r.err
    assert sh.throttle(guest.name, "vde", "--config")["iops"] == 79
    # change-media edits the XML with iovsh-xml.so: iovsh-full runs it, once
    iso = change_media_cdrom(sh, other, tmp_path)
    r = sh.run("change-media", other.name, "sdc", iso, "--insert", "--config", env=env)
    assert r.rc == 0 and r.out == "Successfully changed media.\n", r
    assert "iovsh-xml.so" in r.err and "iovsh-full" in r.err
    assert sh.ok("detach-disk", other.name, "sdc", "--config")
