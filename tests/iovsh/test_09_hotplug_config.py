"""attach-disk, attach-device, detach-disk, detach-device and update-device
on a guest that is not running: the saved definition changes (written
atomically), read back with dumpxml and blkiothrottle; bad input is refused
before anything is sent. No QEMU runs."""

import os
import re

import pytest

from conftest import Guest


@pytest.fixture(scope="module")
def guest(daemon, sh):
    return Guest(daemon, "hpc1", [("vda", "")]).define(sh)


def saved(daemon, name):
    with open(os.path.join(daemon.config_home, "iovirt", "qemu", name + ".xml")) as f:
        return f.read()


def test_attach_disk_to_the_definition_with_limits(sh, daemon, guest):
    out = sh.ok("attach-disk", guest.name, guest.images["vda"].replace("vda", "vdb"), "vdb",
                "--bps_rd", "8M", "--iops-wr", "200", "--cache", "none", "--config")
    assert out == "Disk attached successfully\n"
    t = sh.throttle(guest.name, "vdb", "--config")
    assert t["bps_rd"] == 8 * 1024 * 1024 and t["iops_wr"] == 200
    xml = sh.ok("dumpxml", guest.name, "--inactive")
    assert "<target dev=\"vdb\" bus=\"virtio\"/>" in xml and "cache=\"none\"" in xml
    assert "vdb" in saved(daemon, guest.name)


def test_update_device_sets_the_whole_limits(sh, daemon, guest, tmp_path):
    doc = tmp_path / "vdb.xml"
    doc.write_text("<disk type='file'><driver name='qemu' type='raw' cache='none'/>"
                   "<source file='%s'/><target dev='vdb'/><iotune><total_iops_sec>50"
                   "</total_iops_sec></iotune></disk>" % guest.images["vda"].replace("vda", "vdb"))
    assert sh.ok("update-device", guest.name, str(doc), "--config") == "Device updated successfully\n"
    t = sh.throttle(guest.name, "vdb", "--config")
    assert t["iops"] == 50 and t["bps_rd"] == 0 and t["iops_wr"] == 0


def test_a_sata_disk_goes_to_the_definition_only(sh, guest):
    sata = guest.images["vda"].replace("vda", "sdb")
    err = sh.fail("attach-disk", guest.name, sata, "sdb", "--live")
    assert err == "error: operation invalid: domain 'hpc1' is not running" or "not running" in err
    # the definition can have it; a running guest could not take it
    sh.ok("attach-disk", guest.name, sata, "sdb", "--config")
    assert "sdb" in sh.ok("dumpxml", guest.name, "--inactive")
    assert sh.ok("detach-disk", guest.name, "sdb", "--config") == "Disk detached successfully\n"


def test_detach_disk_from_the_definition(sh, daemon, guest):
    assert sh.ok("detach-disk", guest.name, "vdb") == "Disk detached successfully\n"
    assert "vdb" not in sh.ok("dumpxml", guest.name, "--inactive")
    assert "vdb" not in saved(daemon, guest.name)
    err = sh.fail("detach-disk", guest.name, "vdb", "--config")
    assert "disk 'vdb' not found in the persistent definition of domain 'hpc1'" in err


def test_bad_input_is_refused_before_connecting(sh, guest):
    err = sh.fail("attach-disk", guest.name, "/img/x.img", "vdc", "--type", "network")
    assert "--type 'network': attach-disk takes file or block" in err
    err = sh.fail("attach-disk", guest.name, "/img/x.img", "vdc", "--bps_rd", "8X")
    assert "invalid value '8X' for option --bps_rd" in err
    err = sh.fail("attach-disk", guest.name, "relative.img", "vdc", "--config")
    assert "source path 'relative.img' is not absolute" in err
    err = sh.fail("attach-disk", guest.name, "/img/x.img", "vdz", "--bps", "1", "--bps_rd", "1",
                  "--config")
    assert "bps (1) and bps_rd (1) cannot both be set" in err
    err = sh.fail("attach-disk", guest.name, "/img/x.img", "vda", "--config")
    assert "target 'vda' is already used by a disk in the persistent definition of domain 'hpc1'" in err
    err = sh.fail("attach-disk", guest.name, "/img/x.img", "vdc", "--current", "--live")
    assert "--current cannot be given with --live" in err


def test_a_document_that_is_no_disk_is_refused(sh, guest, tmp_path):
    doc = tmp_path / "nic.xml"
    doc.write_text("<interface type='network'><source network='default'/></interface>")
    err = sh.fail("attach-device", guest.name, str(doc), "--config")
    assert "only disks can be attached, detached or updated: the document's root is <interface>" in err


def test_change_media_in_the_definition(sh, guest, tmp_path):
    doc = tmp_path / "cdrom.xml"
    doc.write_text("<disk type='file' device='cdrom'><target dev='sdc' bus='sata'/>"
                   "<iothrottle iops='100'/></disk>")
    assert sh.ok("attach-device", guest.name, str(doc), "--config") == "Device attached successfully\n"
    iso = guest.images["vda"].replace("vda", "cd")
    assert sh.ok("change-media", guest.name, "sdc", iso, "--insert") == "Successfully changed media.\n"
    assert iso in sh.ok("dumpxml", guest.name, "--inactive")
    assert sh.throttle(guest.name, "sdc", "--config")["iops"] == 100
    assert sh.ok("change-media", guest.name, "sdc", "--eject", "--config") == "Successfully ejected media.\n"
    assert iso not in sh.ok("dumpxml", guest.name, "--inactive")
    assert sh.throttle(guest.name, "sdc", "--config")["iops"] == 100
    err = sh.fail("change-media", guest.name, "sdc", iso, "--eject")
    assert "--eject takes no SOURCE" in err
    err = sh.fail("change-media", guest.name, "sdz", iso, "--config")
    assert "the guest has no disk 'sdz'" in err
    sh.ok("detach-disk", guest.name, "sdc", "--config")


def test_attach_disk_through_declared_groups(sh, guest):
    sh.ok("domthrottlegroupset", guest.name, "cap", "--bps_rd", "10M", "--config")
    sh.ok("domthrottlegroupset", guest.name, "tenant", "--iops", "500", "--config")
    sh.ok("attach-disk", guest.name, "/img/scratch.img", "vdf", "--bps_rd", "8M",
          "--throttle-groups", "cap,tenant", "--config")
    xml = sh.ok("dumpxml", guest.name, "--inactive")
    assert re.search(r'<throttlefilter group="cap"/>\s*<throttlefilter group="tenant"/>', xml), xml
    err = sh.fail("attach-disk", guest.name, "/img/other.img", "vdg", "--throttle-groups", "nosuch",
                  "--config")
    assert "throttle filter group 'nosuch' is not declared in <throttlegroups>" in err
    sh.ok("detach-disk", guest.name, "vdf", "--config")
