"""Domain: identity, lifecycle, state, info, XML and statistics, against
real guests. The tests of this file run in order on shared guests."""

import uuid

import pytest

from conftest import MiB, Guest, iovirt, wait_state


@pytest.fixture(scope="module")
def web(daemon, conn):
    """A guest that reads 1 MiB of vda at boot, then idles."""
    g = Guest(daemon, conn, "web", disks=("vda", "vdb"), filled=True,
              probe="read:vda:bs=64k:size=1m")
    yield g
    g.stop()


@pytest.fixture(scope="module")
def spare(daemon, conn):
    """A guest that stays shut off."""
    return Guest(daemon, conn, "spare")


def test_identity(conn, web):
    dom = web.dom
    assert dom.name() == "web"
    u = dom.UUIDString()
    assert str(uuid.UUID(u)) == u
    assert dom.UUID() == uuid.UUID(u).bytes
    assert dom.ID() == -1
    assert dom.connect() is conn
    assert repr(dom) == "<iovirt.Domain 'web' %s>" % u


def test_start_paused(conn, web):
    assert web.dom.create(iovirt.START_PAUSED) == 0
    assert web.dom.state() == [iovirt.DOMAIN_PAUSED, iovirt.DOMAIN_PAUSED_USER]
    assert web.dom.isActive() is True
    assert web.dom.ID() > 0
    assert conn.lookupByID(web.dom.ID()).name() == "web"
    assert conn.lookupByName("web").ID() == web.dom.ID()


def test_resume_a_guest_started_paused(web):
    assert web.dom.resume() == 0
    assert web.dom.state() == [iovirt.DOMAIN_RUNNING, iovirt.DOMAIN_RUNNING_UNPAUSED]
    web.serial.wait_line("IOVPROBE-DONE", timeout=90)


def test_list_all_domains_running_flags(conn, web, spare):
    def names(flags):
        return [d.name() for d in conn.listAllDomains(flags)]

    assert names(0) == ["spare", "web"]
    assert names(iovirt.LIST_DOMAINS_ACTIVE) == ["web"]
    assert names(iovirt.LIST_DOMAINS_RUNNING) == ["web"]
    assert names(iovirt.LIST_DOMAINS_INACTIVE) == ["spare"]
    assert names(iovirt.LIST_DOMAINS_SHUTOFF) == ["spare"]
    assert names(iovirt.LIST_DOMAINS_PAUSED) == []
    assert names(iovirt.LIST_DOMAINS_PERSISTENT) == ["spare", "web"]


def test_info_of_a_running_guest(web):
    state, max_mem, memory, ncpu, cpu1 = web.dom.info()
    assert state == iovirt.DOMAIN_RUNNING
    assert max_mem == 192 * 1024 and memory == 192 * 1024
    assert ncpu == 1
    assert cpu1 > 0


def test_info_of_a_shut_off_guest(spare):
    assert spare.dom.info() == [iovirt.DOMAIN_SHUTOFF, 192 * 1024, 192 * 1024, 1, 0]
    assert spare.dom.state() == [iovirt.DOMAIN_SHUTOFF, iovirt.DOMAIN_SHUTOFF_UNKNOWN]
    assert spare.dom.isActive() is False
    assert spare.dom.isPersistent() is True


def test_block_stats_count_the_guest_reads(web):
    rd_req, rd_bytes, wr_req, wr_bytes, errs = web.dom.blockStats("vda")
    assert rd_bytes >= 1 * MiB
    assert rd_req >= 16
    assert (wr_req, wr_bytes) == (0, 0)
    assert errs in (0, -1)
    other = web.dom.blockStats("vdb")
    assert other[1] < MiB
    # a disk may also be named by its source path
    assert web.dom.blockStats(web.images["vda"])[1] == rd_bytes


def test_block_stats_flags(web):
    stats = web.dom.blockStatsFlags("vda")
    assert set(stats) >= {"rd_operations", "rd_bytes", "wr_operations", "wr_bytes",
                          "flush_operations", "rd_total_times", "wr_total_times",
                          "flush_total_times"}
    assert all(isinstance(v, int) for v in stats.values())
    assert stats["rd_bytes"] == web.dom.blockStats("vda")[1]
    assert stats["rd_operations"] == web.dom.blockStats("vda")[0]
    assert stats["rd_total_times"] > 0
    assert web.dom.blockStatsFlags(disk="vdb", flags=0)["rd_bytes"] < MiB


def test_suspend_and_resume(conn, web):
    assert web.dom.suspend() == 0
    assert web.dom.state() == [iovirt.DOMAIN_PAUSED, iovirt.DOMAIN_PAUSED_USER]
    assert web.dom.info()[0] == iovirt.DOMAIN_PAUSED
    assert [d.name() for d in conn.listAllDomains(iovirt.LIST_DOMAINS_PAUSED)] == ["web"]
    assert [d.name() for d in conn.listAllDomains(iovirt.LIST_DOMAINS_RUNNING)] == []
    assert web.dom.resume() == 0
    assert web.dom.state() == [iovirt.DOMAIN_RUNNING, iovirt.DOMAIN_RUNNING_UNPAUSED]


def test_xml_desc_live_and_inactive(web):
    web.dom.setBlockIoThrottle("vdb", {"iops": 777}, iovirt.AFFECT_LIVE)
    live = web.dom.XMLDesc()
    inactive = web.dom.XMLDesc(iovirt.XML_INACTIVE)
    assert "<name>web</name>" in live and "<name>web</name>" in inactive
    assert 'iops="777"' in live
    assert 'iops="777"' not in inactive
    assert web.dom.XMLDesc(flags=iovirt.XML_SECURE) == live
    web.dom.setBlockIoThrottle("vdb", {"iops": 0}, iovirt.AFFECT_LIVE)


def test_create_a_running_guest_fails(web):
    with pytest.raises(iovirt.Error) as e:
        web.dom.create()
    assert e.value.code == iovirt.ERR_OPERATION_INVALID
    assert "'web'" in e.value.message


def test_reboot(web):
    web.serial.poll()
    n = len(web.serial.lines)
    assert web.dom.reboot() == 0
    web.serial.wait_line("GUEST-BOOT", start=n, timeout=60)
    web.serial.wait_line("GUEST-READY", start=n, timeout=60)
    assert web.dom.state()[0] == iovirt.DOMAIN_RUNNING


def test_shutdown_presses_the_power_button(conn, web):
    web.serial.poll()
    n = len(web.serial.lines)
    assert web.dom.shutdown() == 0
    web.serial.wait_line("GUEST-POWERBUTTON", start=n, timeout=30)
    assert wait_state(web.dom, iovirt.DOMAIN_SHUTOFF) == [iovirt.DOMAIN_SHUTOFF,
                                                          iovirt.DOMAIN_SHUTOFF_SHUTDOWN]
    assert web.dom.isActive() is False
    assert conn.lookupByName("web").ID() == -1


@pytest.mark.parametrize("call", ["shutdown", "destroy", "suspend", "resume", "reboot"])
def test_lifecycle_calls_on_a_shut_off_guest_fail(web, call):
    with pytest.raises(iovirt.Error) as e:
        getattr(web.dom, call)()
    assert e.value.code == iovirt.ERR_OPERATION_INVALID
    assert e.value.message == "Requested operation is not valid: domain 'web' is not running"


def test_block_stats_of_a_shut_off_guest_fail(web):
    with pytest.raises(iovirt.Error) as e:
        web.dom.blockStats("vda")
    assert e.value.code == iovirt.ERR_OPERATION_INVALID
    with pytest.raises(iovirt.Error) as e:
        web.dom.blockStatsFlags("vda")
    assert e.value.code == iovirt.ERR_OPERATION_INVALID


def test_create_with_flags_and_destroy(web):
    web.serial.poll()
    n = len(web.serial.lines)
    assert web.dom.createWithFlags(0) == 0
    assert web.dom.state() == [iovirt.DOMAIN_RUNNING, iovirt.DOMAIN_RUNNING_BOOTED]
    assert web.dom.ID() > 0
    web.serial.wait_line("GUEST-READY", start=n)
    assert web.dom.destroy() == 0
    assert web.dom.state() == [iovirt.DOMAIN_SHUTOFF, iovirt.DOMAIN_SHUTOFF_DESTROYED]
    assert web.dom.ID() == -1
    assert web.dom.isActive() is False


def test_lifecycle_on_a_read_only_connection_is_denied(roconn, web):
    dom = roconn.lookupByName("web")
    for call in (dom.create, dom.destroy, dom.shutdown, dom.suspend, dom.resume, dom.reboot,
                 dom.undefine):
        with pytest.raises(iovirt.Error) as e:
            call()
        assert e.value.code == iovirt.ERR_OPERATION_DENIED, call
    # reads are allowed
    assert dom.state()[0] == iovirt.DOMAIN_SHUTOFF
    assert dom.info()[0] == iovirt.DOMAIN_SHUTOFF
    assert dom.isActive() is False and dom.isPersistent() is True
    assert dom.XMLDesc(iovirt.XML_INACTIVE) == web.dom.XMLDesc(iovirt.XML_INACTIVE)


def test_create_plain_then_undefine_makes_it_transient(conn, web):
    assert web.dom.create() == 0
    assert web.dom.state()[0] == iovirt.DOMAIN_RUNNING
    assert web.dom.undefine() == 0
    assert web.dom.isPersistent() is False
    assert web.dom.isActive() is True
    assert [d.name() for d in conn.listAllDomains(iovirt.LIST_DOMAINS_TRANSIENT)] == ["web"]
    assert web.dom.destroy() == 0
    with pytest.raises(iovirt.Error) as e:
        conn.lookupByName("web")
    assert e.value.code == iovirt.ERR_NO_DOMAIN
    with pytest.raises(iovirt.Error) as e:
        web.dom.state()
    assert e.value.code == iovirt.ERR_NO_DOMAIN
