"""attach-disk and detach-disk on a running guest: the guest sees the disk
come and go; a paused guest leaves the unplug pending, which domblklist
shows, and resuming it completes the removal."""

import time

import pytest

from conftest import Guest
import iovtest


@pytest.fixture(scope="module")
def guest(daemon, sh):
    g = Guest(daemon, "hpl1", [("vda", ""), ("vdb", "")])
    # vdb is not in the definition: it is the image attached live
    g.xml = g.xml.replace(g.xml[g.xml.index("    <disk type='file'><driver name='qemu' type='raw' cache='none'/><source file='%s'" % g.images["vdb"]):g.xml.index("    <serial")], "")
    g.xml = g.xml.replace("iov.after=idle", "iov.after=idle iov.watch=none")
    with open(g.xml_path, "w") as f:
        f.write(g.xml)
    g.define(sh).start(sh)
    for pid in daemon.qemu_pids():
        iovtest.kill_at_exit(pid)
    yield g
    sh.run("destroy", g.name)


def test_attach_and_detach_live(sh, guest):
    start = len(guest.serial.lines)
    assert sh.ok("attach-disk", guest.name, guest.images["vdb"], "vdb", "--bps_rd", "4M",
                 "--live") == "Disk attached successfully\n"
    guest.serial.wait_line("GUEST-DISK-ADDED vdb=", start=start, timeout=30)
    out = sh.ok("domblklist", guest.name)
    assert "vdb" in out and "bps_rd=4194304" in out.replace(" ", "") or "4 MiB" in out, out
    start = len(guest.serial.lines)
    assert sh.ok("detach-disk", guest.name, "vdb", "--live") == "Disk detached successfully\n"
    guest.serial.wait_line("GUEST-DISK-REMOVED vdb", start=start, timeout=30)
    assert "vdb" not in sh.ok("domblklist", guest.name)


def test_paused_guest_leaves_the_unplug_pending(sh, guest):
    sh.ok("attach-disk", guest.name, guest.images["vdb"], "vdb", "--bps_rd", "4M", "--live")
    sh.ok("suspend", guest.name)
    err = sh.fail("detach-disk", guest.name, "vdb", "--live")
    assert "disk 'vdb' of domain 'hpl1': unplug pending" in err
    out = sh.ok("domblklist", guest.name)
    line = [l for l in out.splitlines() if l.strip().startswith("vdb")][0]
    assert "(unplug pending)" in line, out
    sh.ok("resume", guest.name)
    iovtest.wait_for(lambda: "vdb" not in sh.ok("domblklist", guest.name), timeout=30,
                     what="the pending unplug to complete")
