"""The named throttle group commands (virsh 11's names) and blkiothrottle's
display of a disk's whole chain, on a defined guest's saved definition:
create, change, show, list and delete a group, every refusal with its
message and nothing changed. No QEMU runs (the live path is in
tests/python/test_09_groups.py, against a real guest)."""

import json
import re

import pytest

from conftest import Guest, parse_display, virsh

CHAIN = ("<iothrottle bps_rd='8388608'/>"
         "<throttlefilters><throttlefilter group='cap'/><throttlefilter group='tenant'/>"
         "</throttlefilters>")


@pytest.fixture(scope="module")
def guest(daemon, sh):
    g = Guest(daemon, "grp1", [("vda", CHAIN), ("vdb", "<iothrottle group='shared'/>"), ("vdc", "")])
    g.xml = g.xml.replace("  <devices>\n", "  <throttlegroups><throttlegroup name='cap' bps_rd='10485760'/>"
                          "<throttlegroup name='tenant' iops='2000'/>"
                          "<throttlegroup name='shared' bps='4194304'/></throttlegroups>\n"
                          "  <devices>\n", 1)
    with open(g.xml_path, "w") as f:
        f.write(g.xml)
    return g.define(sh)


def test_list_shows_the_declared_groups_in_order(sh, guest):
    out = sh.ok("domthrottlegrouplist", guest.name)
    assert re.findall(r"^ (\w+)$", out, re.M) == ["Name", "cap", "tenant", "shared"]
    assert sh.json("domthrottlegrouplist", guest.name) == ["cap", "tenant", "shared"]


def test_info_shows_the_limits_and_the_disks(sh, guest):
    shown = parse_display(sh.ok("domthrottlegroupinfo", guest.name, "cap"))
    assert shown["bps_rd"] == "10485760 bytes/s (10 MiB/s)"
    assert shown["bps"] == "0"
    assert shown["disks"] == "vda"
    assert parse_display(sh.ok("domthrottlegroupinfo", guest.name, "shared"))["disks"] == "vdb"
    values = sh.json("domthrottlegroupinfo", guest.name, "tenant")
    assert values["iops"] == 2000 and values["disks"] == ["vda"] and values["group"] == "tenant"
    assert "group" not in [k for k in values if k not in ("group", "disks")]


def test_blkiothrottle_shows_the_disks_whole_chain(sh, guest):
    out = sh.ok("blkiothrottle", guest.name, "vda")
    assert parse_display(out.split("\n\n")[0])["bps_rd"] == "8388608 bytes/s (8 MiB/s)"
    assert "Then, in order, through the throttle groups:\n" \
           "  1. group 'cap': bps_rd 10485760 bytes/s (10 MiB/s)\n" \
           "  2. group 'tenant': iops 2000 IO/s\n" in out, out
    values = sh.json("blkiothrottle", guest.name, "vda")
    assert [g["group"] for g in values["chain"]] == ["cap", "tenant"]
    assert values["chain"][0]["bps_rd"] == 10485760
    # a disk without filters shows its fields only
    assert "chain" not in sh.json("blkiothrottle", guest.name, "vdc")
    assert "Then" not in sh.ok("blkiothrottle", guest.name, "vdc")


def test_set_creates_and_changes_a_group_with_suffixes(sh, guest):
    out = sh.ok("domthrottlegroupset", guest.name, "spare", "--config")
    assert out == "Throttle group 'spare' of domain 'grp1' set (config).\n"
    assert parse_display(sh.ok("domthrottlegroupinfo", guest.name, "spare"))["disks"] == "(none)"
    sh.ok("domthrottlegroupset", guest.name, "cap", "--bps-rd", "20M")
    assert sh.json("domthrottlegroupinfo", guest.name, "cap")["bps_rd"] == 20 * 2**20
    # naming bps resets the bytes family: bps_rd becomes 0
    sh.ok("domthrottlegroupset", guest.name, "cap", "--bps", "30M", "--config")
    values = sh.json("domthrottlegroupinfo", guest.name, "cap", "--config")
    assert values["bps"] == 30 * 2**20 and values["bps_rd"] == 0
    # a group joined by group= carries its members along
    sh.ok("domthrottlegroupset", guest.name, "shared", "--bps", "6M")
    assert sh.throttle(guest.name, "vdb")["bps"] == 6 * 2**20
    # and the real virsh sees libvirt's spelling
    xml = virsh(guest.daemon, "dumpxml", guest.name).stdout
    assert re.search(r"<group_name>spare</group_name>", xml), xml


def test_refusals_name_the_problem_and_change_nothing(sh, guest):
    before = sh.ok("dumpxml", guest.name)
    err = sh.fail("domthrottlegroupset", guest.name, "cap", "--bps", "1000", "--bps_max", "500")
    assert "group 'cap': bps_max (500) must not be below bps (1000)" in err
    err = sh.fail("domthrottlegroupset", guest.name, "cap", "--bps_rd", "1000", "--bps", "5")
    assert "group 'cap': bps (5) and bps_rd (1000) cannot both be set" in err
    err = sh.fail("domthrottlegroupset", guest.name, "a/b")
    assert "throttle group 'a/b': a name must be 1 to 64 characters" in err
    err = sh.fail("domthrottlegroupset", guest.name, "cap", "--bps", "lots")
    assert "invalid value 'lots' for option --bps" in err
    err = sh.fail("domthrottlegroupdel", guest.name, "tenant")
    assert "throttle group 'tenant' is still used by disk 'vda'" in err
    err = sh.fail("domthrottlegroupdel", guest.name, "shared")
    assert "throttle group 'shared' is still used by disk 'vdb'" in err
    err = sh.fail("domthrottlegroupinfo", guest.name, "nope")
    assert "throttle group 'nope' not found in the persistent definition of domain 'grp1'" in err
    err = sh.fail("domthrottlegroupset", guest.name, "cap", "--live")
    assert "domain 'grp1' is not running" in err
    assert sh.ok("dumpxml", guest.name) == before


def test_a_disk_joins_a_declared_group_with_its_limits(sh, guest):
    # vdc joins 'shared' (6M since the test above) and carries its limits
    sh.ok("blkiothrottle", guest.name, "vdc", "--group", "shared")
    assert sh.throttle(guest.name, "vdc")["bps"] == 6 * 2**20
    assert parse_display(sh.ok("domthrottlegroupinfo", guest.name, "shared"))["disks"] == "vdb, vdc"
    # a member's change is the group's change
    sh.ok("blkiothrottle", guest.name, "vdc", "--bps", "7M")
    assert sh.json("domthrottlegroupinfo", guest.name, "shared")["bps"] == 7 * 2**20
    assert sh.throttle(guest.name, "vdb")["bps"] == 7 * 2**20
    # a disk whose filter names the group cannot join it as its own too
    err = sh.fail("blkiothrottle", guest.name, "vda", "--group", "cap")
    assert "disk 'vda': group 'cap' appears twice in its chain" in err


def test_del_removes_an_unused_group(sh, guest):
    assert sh.ok("domthrottlegroupdel", guest.name, "spare") == \
        "Throttle group 'spare' of domain 'grp1' deleted (config).\n"
    assert sh.json("domthrottlegrouplist", guest.name) == ["cap", "tenant", "shared"]


def test_throttle_groups_change_a_disks_chain(sh, guest):
    assert sh.ok("blkiothrottle", guest.name, "vdc", "--throttle-groups", "tenant,cap") == \
        "Disk 'vdc' of domain 'grp1' now passes through groups tenant, cap (config).\n"
    values = sh.json("blkiothrottle", guest.name, "vdc")
    assert [g["group"] for g in values["chain"]] == ["tenant", "cap"]
    assert parse_display(sh.ok("domthrottlegroupinfo", guest.name, "cap"))["disks"] == "vda, vdc"
    # spaces around the names are ignored; -o json says what was applied
    out = sh.json("blkiothrottle", guest.name, "vdc", "--throttle-groups", " cap ", "--config")
    assert out == {"domain": "grp1", "disk": "vdc", "applied": ["config"],
                   "throttle_groups": ["cap"]}
    assert [g["group"] for g in sh.json("blkiothrottle", guest.name, "vdc")["chain"]] == ["cap"]
    # '' leaves every group, and the disk's own limits stay
    own = sh.throttle(guest.name, "vdc")
    del own["chain"]
    assert sh.ok("blkiothrottle", guest.name, "vdc", "--throttle-groups", "") == \
        "Disk 'vdc' of domain 'grp1' now passes through no group (config).\n"
    assert "chain" not in sh.json("blkiothrottle", guest.name, "vdc")
    assert sh.throttle(guest.name, "vdc") == own


def test_throttle_groups_refusals_change_nothing(sh, guest):
    before = sh.ok("dumpxml", guest.name)
    err = sh.fail("blkiothrottle", guest.name, "vda", "--throttle-groups", "cap,nope")
    assert "disk 'vda'" in err and "'nope'" in err, err
    err = sh.fail("blkiothrottle", guest.name, "vda", "--throttle-groups", "cap,cap")
    assert "disk 'vda': group 'cap' appears twice in its chain of throttle filters" in err
    err = sh.fail("blkiothrottle", guest.name, "vda", "--throttle-groups", "cap,,tenant")
    assert "invalid value 'cap,,tenant' for option --throttle-groups: an empty group name" in err
    err = sh.fail("blkiothrottle", guest.name, "vda", "--throttle-groups", "cap", "--bps", "1M")
    assert "option --throttle-groups of command 'blkiothrottle' is given in a command of its " \
           "own, without limits" in err
    err = sh.fail("blkiothrottle", guest.name, "vdz", "--throttle-groups", "cap")
    assert "disk 'vdz' not found in the persistent definition of domain 'grp1'" in err
    err = sh.fail("blkiothrottle", guest.name, "vda", "--throttle-groups", "cap", "--live")
    assert "domain 'grp1' is not running" in err
    err = sh.fail("blkiothrottle", guest.name, "vda", "--throttle-groups",
                  ",".join("g%d" % i for i in range(9)))
    assert "disk 'vda': at most 8 throttle filters per disk" in err
    assert sh.ok("dumpxml", guest.name) == before
