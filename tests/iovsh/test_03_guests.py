"""The guest commands against running guests: start (and --paused),
suspend, resume, shutdown (--wait, --wait=SECONDS), destroy, undefine of a
running guest, list, domstate, dominfo, dumpxml, domblklist and domblkstat,
with a guest named by name, id or uuid."""

import re

import pytest

from conftest import Guest, iovtest


@pytest.fixture(scope="module")
def guest(daemon, sh):
    g = Guest(daemon, "life1", [("vda", "<iothrottle bps_rd='4194304'/>"), ("vdb", "")]).define(sh)
    out = sh.ok("start", g.name)
    assert out == "Domain '%s' started\n" % g.name
    g.start_out = out
    g.serial = iovtest.Serial(g.serial_path)
    g.serial.wait_line("GUEST-READY", timeout=60)
    return g


def test_start_makes_it_running_booted(sh, guest):
    assert sh.ok("domstate", guest.name, "--reason") == "running (booted)\n"
    assert sh.json("domstate", guest.name) == {"state": "running", "reason": "booted"}


def test_list_shows_the_running_guest_with_its_id(sh, guest):
    out = sh.ok("list")
    m = re.search(r"^ (\d+)\s+%s\s+running$" % guest.name, out, re.M)
    assert m, out
    entry = [d for d in sh.json("list") if d["name"] == guest.name][0]
    assert entry["id"] == int(m.group(1)) and entry["state"] == "running"
    assert guest.name not in sh.ok("list", "--inactive")


def test_guest_named_by_id_and_uuid(sh, guest):
    info = sh.json("dominfo", guest.name)
    assert info["id"] >= 1 and info["state"] == "running"
    assert sh.json("dominfo", str(info["id"])) == info
    assert sh.json("dominfo", info["uuid"])["name"] == guest.name
    text = sh.ok("dominfo", str(info["id"]))
    assert "Id:             %d\n" % info["id"] in text and "State:          running\n" in text
    assert re.search(r"^CPU time:\s+\d+\.\ds$", text, re.M), text


def test_start_of_a_running_guest_is_the_daemons_error(sh, guest):
    err = sh.fail("start", guest.name)
    assert "running" in err or "active" in err, err


def test_suspend_and_resume(sh, guest):
    assert sh.ok("suspend", guest.name) == "Domain '%s' suspended\n" % guest.name
    assert sh.ok("domstate", guest.name, "--reason") == "paused (user)\n"
    assert sh.ok("resume", guest.name) == "Domain '%s' resumed\n" % guest.name
    assert sh.ok("domstate", guest.name, "--reason") == "running (unpaused)\n"


def test_domblkstat_of_one_disk_prints_virshs_lines(sh, guest):
    out = sh.ok("domblkstat", guest.name, "vda")
    names = [line.split()[1] for line in out.splitlines()]
    assert names[:5] == ["rd_req", "rd_bytes", "wr_req", "wr_bytes", "flush_operations"]
    assert all(line.split()[0] == "vda" for line in out.splitlines())
    values = {line.split()[1]: int(line.split()[2]) for line in out.splitlines()}
    assert values["rd_req"] >= 1 and values["rd_bytes"] >= 512
    j = sh.json("domblkstat", guest.name, "vda")
    assert j["device"] == "vda" and j["rd_req"] >= values["rd_req"]


def test_domblkstat_of_every_disk(sh, guest):
    out = sh.ok("domblkstat", guest.name)
    assert {line.split()[0] for line in out.splitlines()} == {"vda", "vdb"}
    j = sh.json("domblkstat", guest.name)
    assert [d["device"] for d in j] == ["vda", "vdb"]
    assert sh.json("domblkstat", guest.name, guest.images["vdb"])["device"] == guest.images["vdb"]


def test_domblkstat_of_an_unknown_disk_is_the_daemons_error(sh, guest):
    assert "vdz" in sh.fail("domblkstat", guest.name, "vdz")


def test_domblklist_shows_the_live_limits_and_inactive_the_saved_ones(sh, guest):
    sh.ok("blkiothrottle", guest.name, "vda", "--bps_rd", "1M", "--live")
    live = {d["target"]: d["limits"]["bps_rd"] for d in sh.json("domblklist", guest.name)}
    saved = {d["target"]: d["limits"]["bps_rd"] for d in sh.json("domblklist", guest.name, "--inactive")}
    assert live == {"vda": 1048576, "vdb": 0}
    assert saved == {"vda": 4194304, "vdb": 0}
    assert "bps_rd=1048576" in sh.ok("domblklist", guest.name)
    assert "bps_rd=4194304" in sh.ok("domblklist", guest.name, "--inactive")
    xml_live = sh.ok("dumpxml", guest.name)
    xml_saved = sh.ok("dumpxml", guest.name, "--inactive")
    assert "bps_rd=\"1048576\"" in xml_live or "bps_rd='1048576'" in xml_live
    assert "1048576" not in xml_saved


def boot(sh, guest, *flags):
    """Start the guest and wait until it is ready (power button included)."""
    guest.serial.poll()
    start = len(guest.serial.lines)
    sh.ok("start", guest.name, *flags)
    if "--paused" not in flags:
        guest.serial.wait_line("GUEST-READY", start=start, timeout=60)


def test_shutdown_wait_with_a_timeout_fails_on_a_guest_that_does_not_stop(sh, guest):
    sh.ok("suspend", guest.name)
    err = sh.fail("shutdown", guest.name, "--wait=1")
    assert err == "error: domain '%s' is still paused after 1 s" % guest.name
    # the button was pressed: the guest powers off once it runs again
    sh.ok("resume", guest.name)
    iovtest.wait_for(lambda: sh.ok("domstate", guest.name) == "shut off\n", timeout=30,
                     what="guest off")


def test_shutdown_wait_returns_when_the_guest_is_off(sh, guest):
    boot(sh, guest)
    out = sh.ok("shutdown", guest.name, "--wait=60")
    assert out == "Domain '%s' is shut off\n" % guest.name
    assert sh.ok("domstate", guest.name, "--reason") == "shut off (shutdown)\n"
    guest.serial.wait_line("GUEST-POWERBUTTON", timeout=5)


def test_shutdown_wait_bad_seconds_is_refused(sh, guest):
    assert sh.fail("shutdown", guest.name, "--wait=soon") == (
        "error: invalid value 'soon' for option --wait: expected a number of seconds")


def test_start_paused_then_resume(sh, guest):
    guest.serial.poll()
    guest.ready_from = len(guest.serial.lines)
    assert sh.ok("start", guest.name, "--paused") == "Domain '%s' started (paused)\n" % guest.name
    assert sh.ok("domstate", guest.name) == "paused\n"
    sh.ok("resume", guest.name)
    assert sh.ok("domstate", guest.name) == "running\n"


def test_shutdown_without_wait_returns_at_once(sh, guest):
    guest.serial.wait_line("GUEST-READY", start=guest.ready_from, timeout=60)
    assert sh.ok("shutdown", guest.name) == "Domain '%s' is being shutdown\n" % guest.name
    iovtest.wait_for(lambda: sh.ok("domstate", guest.name) == "shut off\n", timeout=30,
                     what="guest off")


def test_destroy(sh, guest):
    sh.ok("start", guest.name)
    assert sh.ok("destroy", guest.name) == "Domain '%s' destroyed\n" % guest.name
    assert sh.ok("domstate", guest.name, "--reason") == "shut off (destroyed)\n"
    assert "not running" in sh.fail("destroy", guest.name)


def test_undefine_a_running_guest_leaves_it_transient_until_it_stops(sh, guest):
    sh.ok("start", guest.name)
    sh.ok("undefine", guest.name)
    assert sh.json("dominfo", guest.name)["persistent"] is False
    assert guest.name in sh.ok("list")
    sh.ok("destroy", guest.name)
    assert guest.name not in sh.ok("list", "--all")
    guest.define(sh)


def test_shutdown_wait_of_a_transient_guest_returns_when_it_vanishes(sh, guest):
    boot(sh, guest)
    sh.ok("undefine", guest.name)
    assert sh.ok("shutdown", guest.name, "--wait") == "Domain '%s' is shut off\n" % guest.name
    assert guest.name not in sh.ok("list", "--all")
    guest.define(sh)
