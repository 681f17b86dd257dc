"""The real python3-libvirt 9.0 drives iovirtd: blockIoTune needs every
field with its libvirt type, setBlockIoTune fetches them first."""

import libvirt
import pytest

import iovtest


@pytest.fixture(scope="module")
def conn(daemon, guest):
    c = libvirt.open(daemon.libvirt_uri)
    yield c
    c.close()


def test_lookup_and_start(conn, daemon):
    dom = conn.lookupByName("compat1")
    assert dom.name() == "compat1"
    assert not dom.isActive()
    dom.create()
    iovtest.kill_at_exit(daemon.qemu_pids()[0])
    assert dom.isActive()
    assert dom.state()[0] == libvirt.VIR_DOMAIN_RUNNING


def test_block_io_tune_has_every_field(conn):
    t = conn.lookupByName("compat1").blockIoTune("vda", 0)
    assert len(t) == 20
    assert t["read_bytes_sec"] == 2097152
    assert t["group_name"] == ""
    assert t["total_iops_sec_max_length"] == 0


def test_set_block_io_tune_live_is_in_force(conn, guest):
    dom = conn.lookupByName("compat1")
    serial = guest["serial"]
    serial.wait_sample(0, 5, timeout=60)
    dom.setBlockIoTune("vda", {"read_bytes_sec": 4194304}, libvirt.VIR_DOMAIN_AFFECT_LIVE)
    assert dom.blockIoTune("vda", libvirt.VIR_DOMAIN_AFFECT_LIVE)["read_bytes_sec"] == 4194304
    assert dom.blockIoTune("vda", libvirt.VIR_DOMAIN_AFFECT_CONFIG)["read_bytes_sec"] == 2097152
    last = max(s[1] for s in serial.samples if s[0] == 0)
    serial.wait_sample(0, last + 5, timeout=30)
    iovtest.assert_rate("vda after setBlockIoTune 4 MiB/s", serial.rate(0, last + 3, last + 5),
                        4 * iovtest.MiB)


def test_set_block_io_tune_group_and_burst(conn):
    dom = conn.lookupByName("compat1")
    dom.setBlockIoTune("vdb", {"total_bytes_sec": 1000000, "total_bytes_sec_max": 3000000,
                               "total_bytes_sec_max_length": 4, "group_name": "pygrp"},
                       libvirt.VIR_DOMAIN_AFFECT_LIVE)
    t = dom.blockIoTune("vdb", 0)
    assert (t["total_bytes_sec"], t["total_bytes_sec_max"], t["total_bytes_sec_max_length"],
            t["group_name"]) == (1000000, 3000000, 4, "pygrp")


def test_errors_are_libvirt_errors(conn):
    dom = conn.lookupByName("compat1")
    with pytest.raises(libvirt.libvirtError) as e:
        dom.setBlockIoTune("vda", {"total_bytes_sec": 1, "read_bytes_sec": 1}, 0)
    assert "cannot both be set" in str(e.value)
    assert e.value.get_error_code() == libvirt.VIR_ERR_INVALID_ARG
    with pytest.raises(libvirt.libvirtError) as e:
        dom.blockIoTune("vdz", 0)
    assert "disk 'vdz' not found" in str(e.value)
    with pytest.raises(libvirt.libvirtError) as e:
        conn.lookupByName("nosuch")
    assert e.value.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN
    assert str(e.value) == "Domain not found: no domain with matching name 'nosuch'"


def test_block_stats(conn):
    rd_req, rd_bytes, wr_req, wr_bytes, errs = conn.lookupByName("compat1").blockStats("vda")
    assert rd_bytes > 4 * iovtest.MiB and rd_req > 64
    assert errs == 0


def test_read_only_connection(daemon):
    c = libvirt.openReadOnly(daemon.libvirt_uri_ro)
    dom = c.lookupByName("compat1")
    assert dom.blockIoTune("vda", 0)["read_bytes_sec"] == 4194304
    with pytest.raises(libvirt.libvirtError) as e:
        dom.setBlockIoTune("vda", {"read_bytes_sec": 1}, 0)
    assert e.value.get_error_code() == libvirt.VIR_ERR_OPERATION_DENIED
    c.close()


def test_list_and_destroy(conn):
    names = [d.name() for d in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)]
    assert names == ["compat1"]
    conn.lookupByName("compat1").destroy()
    assert conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE) == []
