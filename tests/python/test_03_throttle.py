"""Disk limits: blockIoThrottle / setBlockIoThrottle (iovirt's names) and
blockIoTune / setBlockIoTune (libvirt-python's shapes), every flag, groups,
and round trips through virsh, python3-libvirt and iovsh."""

import os
import re
import subprocess

import pytest

from conftest import (ALIAS, IOVIRT_ORDER, LIBVIRT_ORDER, MiB, Guest, iovirt, iovtest,
                      unlimited)

LIVE, CONFIG, CURRENT = iovirt.AFFECT_LIVE, iovirt.AFFECT_CONFIG, iovirt.AFFECT_CURRENT
BOTH = LIVE | CONFIG


@pytest.fixture(scope="module")
def tg(daemon, conn):
    """A running guest: vda limited in its XML, vdb, vdc and vdd free,
    vde and vdf in group 'G'."""
    g = Guest(daemon, conn, "tg", disks=("vda", "vdb", "vdc", "vdd", "vde", "vdf"),
              throttle={"vda": {"bps": 1048576},
                        "vde": {"group": "G", "iops": 100},
                        "vdf": {"group": "G", "iops": 100}})
    g.start(wait_ready=False)
    yield g
    g.stop()


@pytest.fixture(scope="module")
def cold(daemon, conn):
    """A guest that stays shut off, vda limited to bps_rd 1000."""
    return Guest(daemon, conn, "cold", throttle={"vda": {"bps_rd": 1000}})


@pytest.fixture
def libvirt_dom(daemon, tg):
    libvirt = pytest.importorskip("libvirt")
    c = libvirt.open(daemon.libvirt_uri)
    yield c.lookupByName("tg")
    c.close()


def reset(dom, disk, flags=BOTH):
    """Remove every limit of `disk` (live and saved)."""
    dom.setBlockIoThrottle(disk, {"bps": 0, "iops": 0, "bps_max": 0, "iops_max": 0,
                                  "iops_size": 0}, flags)


def expect(**changes):
    d = unlimited()
    d.update(changes)
    return d


# ---- reading ----

def test_get_returns_every_table_field_in_table_order(tg):
    limits = tg.dom.blockIoThrottle("vda")
    assert list(limits) == [f.name for f in iovirt.throttleFields()] == IOVIRT_ORDER
    assert limits == expect(bps=1048576)
    assert all(type(v) is int for k, v in limits.items() if k != "group")
    assert type(limits["group"]) is str


@pytest.mark.parametrize("flags", [CURRENT, LIVE, CONFIG])
def test_get_with_each_flag_on_a_running_guest(tg, flags):
    assert tg.dom.blockIoThrottle("vda", flags) == expect(bps=1048576)
    assert tg.dom.blockIoThrottle(disk="vda", flags=flags) == expect(bps=1048576)
    assert tg.dom.blockIoTune("vda", flags)["total_bytes_sec"] == 1048576


def test_get_names_the_disk_by_source_path(tg):
    assert tg.dom.blockIoThrottle(tg.images["vda"]) == expect(bps=1048576)


def test_get_group_members(tg):
    for disk in ("vde", "vdf"):
        assert tg.dom.blockIoThrottle(disk) == expect(iops=100, group="G")
        assert tg.dom.blockIoTune(disk)["group_name"] == "G"


def test_block_io_tune_has_libvirt_names_in_libvirt_order(tg):
    tune = tg.dom.blockIoTune("vda")
    assert list(tune) == LIBVIRT_ORDER
    throttle = tg.dom.blockIoThrottle("vda")
    assert tune == {ALIAS[k]: v for k, v in throttle.items()}
    assert {f.alias for f in iovirt.throttleFields()} == set(tune)


def test_block_io_tune_is_what_python3_libvirt_returns(tg, libvirt_dom):
    tg.dom.setBlockIoThrottle("vdb", {"bps_rd": 5 * MiB, "bps_wr": 3 * MiB, "iops": 300,
                                      "iops_max": 600, "iops_max_length": 4, "iops_size": 8192})
    for disk in ("vda", "vdb", "vde"):
        for flags in (CURRENT, LIVE, CONFIG):
            mine = tg.dom.blockIoTune(disk, flags)
            theirs = libvirt_dom.blockIoTune(disk, flags)
            assert mine == theirs
            assert list(mine) == list(theirs)
    reset(tg.dom, "vdb")


# ---- setting ----

def test_set_with_iovirt_names(tg):
    assert tg.dom.setBlockIoThrottle("vdb", {"bps_rd": 2 * MiB, "bps_wr": MiB}) is None
    assert tg.dom.blockIoThrottle("vdb") == expect(bps_rd=2 * MiB, bps_wr=MiB)
    reset(tg.dom, "vdb")


def test_set_with_libvirt_aliases(tg):
    assert tg.dom.setBlockIoTune("vdb", {"read_iops_sec": 400, "write_iops_sec": 200}) == 0
    assert tg.dom.blockIoThrottle("vdb") == expect(iops_rd=400, iops_wr=200)
    assert tg.dom.setBlockIoThrottle("vdb", {"total_bytes_sec": 123456}) is None
    assert tg.dom.blockIoTune("vdb")["total_bytes_sec"] == 123456
    assert tg.dom.setBlockIoTune("vdb", {"bps": 654321, "iops": 0}) == 0
    assert tg.dom.blockIoThrottle("vdb") == expect(bps=654321)
    reset(tg.dom, "vdb")


def test_set_as_python3_libvirt_code_does(tg, libvirt_dom):
    """Code written for libvirt-python gives the same result on iovirt."""
    def tune(dom):
        params = dom.blockIoTune("vdc", 0)
        params = {k: v for k, v in params.items() if k.startswith("total_")}
        params["total_bytes_sec"] = 4 * MiB
        params["total_bytes_sec_max"] = 8 * MiB
        params["total_bytes_sec_max_length"] = 5
        assert dom.setBlockIoTune("vdc", params, 1) == 0  # VIR_DOMAIN_AFFECT_LIVE
        return dom.blockIoTune("vdc", 0)

    mine = tune(tg.dom)
    reset(tg.dom, "vdc")
    theirs = tune(libvirt_dom)
    assert mine == theirs
    assert theirs["total_bytes_sec_max_length"] == 5
    reset(tg.dom, "vdc")


def test_naming_a_family_member_resets_the_rest_of_the_family(tg):
    d = tg.dom
    d.setBlockIoThrottle("vdc", {"bps": MiB, "iops": 50, "iops_size": 4096})
    d.setBlockIoThrottle("vdc", {"bps_rd": 2 * MiB})
    assert d.blockIoThrottle("vdc") == expect(bps_rd=2 * MiB, iops=50, iops_size=4096)
    d.setBlockIoThrottle("vdc", {"iops_wr": 70})
    assert d.blockIoThrottle("vdc") == expect(bps_rd=2 * MiB, iops_wr=70, iops_size=4096)
    reset(d, "vdc")
    assert d.blockIoThrottle("vdc") == unlimited()


def test_bursts(tg):
    d = tg.dom
    d.setBlockIoThrottle("vdc", {"bps": MiB, "bps_max": 4 * MiB, "bps_max_length": 3,
                                 "iops_wr": 10, "iops_wr_max": 20})
    assert d.blockIoThrottle("vdc") == expect(bps=MiB, bps_max=4 * MiB, bps_max_length=3,
                                              iops_wr=10, iops_wr_max=20)
    # zeroing a max also resets its length
    d.setBlockIoThrottle("vdc", {"bps_max": 0})
    assert d.blockIoThrottle("vdc") == expect(bps=MiB, iops_wr=10, iops_wr_max=20)
    reset(d, "vdc")


def test_largest_values(tg):
    top = iovirt.THROTTLE_VALUE_MAX
    tg.dom.setBlockIoThrottle("vdc", {"bps": top, "iops_rd": top, "iops_size": top})
    assert tg.dom.blockIoThrottle("vdc") == expect(bps=top, iops_rd=top, iops_size=top)
    reset(tg.dom, "vdc")


def test_int_subclasses_and_index_objects_are_accepted(tg):
    class Size:
        def __index__(self):
            return 3 * MiB

    class Big(int):
        pass

    tg.dom.setBlockIoThrottle("vdc", {"bps": Size(), "iops": Big(33)})
    assert tg.dom.blockIoThrottle("vdc") == expect(bps=3 * MiB, iops=33)
    reset(tg.dom, "vdc")


# ---- flags ----

def test_set_current_on_a_running_guest_changes_the_live_limits_only(tg):
    tg.dom.setBlockIoThrottle("vdd", {"bps": 1111})
    assert tg.dom.blockIoThrottle("vdd", LIVE)["bps"] == 1111
    assert tg.dom.blockIoThrottle("vdd", CONFIG)["bps"] == 0
    assert 'bps="1111"' in tg.dom.XMLDesc()
    assert 'bps="1111"' not in tg.dom.XMLDesc(iovirt.XML_INACTIVE)
    reset(tg.dom, "vdd")


def test_set_live(tg):
    tg.dom.setBlockIoThrottle("vdd", {"bps": 2222}, LIVE)
    assert tg.dom.blockIoThrottle("vdd", LIVE)["bps"] == 2222
    assert tg.dom.blockIoThrottle("vdd", CONFIG)["bps"] == 0
    reset(tg.dom, "vdd")


def test_set_config(tg):
    tg.dom.setBlockIoThrottle("vdd", {"bps": 3333}, CONFIG)
    assert tg.dom.blockIoThrottle("vdd", LIVE)["bps"] == 0
    assert tg.dom.blockIoThrottle("vdd")["bps"] == 0
    assert tg.dom.blockIoThrottle("vdd", CONFIG)["bps"] == 3333
    assert 'bps="3333"' in tg.dom.XMLDesc(iovirt.XML_INACTIVE)
    reset(tg.dom, "vdd")


def test_set_live_and_config(tg):
    tg.dom.setBlockIoTune("vdd", {"total_bytes_sec": 4444}, flags=BOTH)
    assert tg.dom.blockIoThrottle("vdd", LIVE)["bps"] == 4444
    assert tg.dom.blockIoThrottle("vdd", CONFIG)["bps"] == 4444
    reset(tg.dom, "vdd")
    assert tg.dom.blockIoThrottle("vdd", LIVE) == tg.dom.blockIoThrottle("vdd", CONFIG) == unlimited()


def test_get_live_and_config_together_is_refused(tg):
    with pytest.raises(iovirt.Error) as e:
        tg.dom.blockIoThrottle("vda", BOTH)
    assert e.value.code == iovirt.ERR_INVALID_ARG
    with pytest.raises(iovirt.Error) as e:
        tg.dom.blockIoTune("vda", BOTH)
    assert e.value.code == iovirt.ERR_INVALID_ARG


def test_current_on_a_shut_off_guest_is_the_saved_definition(cold):
    assert cold.dom.blockIoThrottle("vda") == expect(bps_rd=1000)
    assert cold.dom.blockIoThrottle("vda", CONFIG) == expect(bps_rd=1000)
    cold.dom.setBlockIoThrottle("vda", {"bps_wr": 2000})
    assert cold.dom.blockIoThrottle("vda") == expect(bps_wr=2000)
    cold.dom.setBlockIoThrottle("vda", {"read_bytes_sec": 1000}, CONFIG)
    assert cold.dom.blockIoTune("vda", CONFIG)["read_bytes_sec"] == 1000
    assert 'bps_rd="1000"' in cold.dom.XMLDesc(iovirt.XML_INACTIVE)


def test_live_on_a_shut_off_guest_is_refused(cold):
    before = cold.dom.blockIoThrottle("vda")
    for call in (lambda: cold.dom.blockIoThrottle("vda", LIVE),
                 lambda: cold.dom.blockIoTune("vda", LIVE),
                 lambda: cold.dom.setBlockIoThrottle("vda", {"bps_rd": 5}, LIVE),
                 lambda: cold.dom.setBlockIoTune("vda", {"read_bytes_sec": 5}, BOTH)):
        with pytest.raises(iovirt.Error) as e:
            call()
        assert e.value.code == iovirt.ERR_OPERATION_INVALID
        assert "'cold'" in e.value.message
    assert cold.dom.blockIoThrottle("vda") == before


# ---- groups ----

def test_a_set_through_one_member_changes_the_group(tg):
    tg.dom.setBlockIoThrottle("vde", {"iops": 250}, BOTH)
    for disk in ("vde", "vdf"):
        for flags in (LIVE, CONFIG):
            assert tg.dom.blockIoThrottle(disk, flags) == expect(iops=250, group="G")
    tg.dom.setBlockIoTune("vdf", {"total_iops_sec": 100}, BOTH)
    assert tg.dom.blockIoThrottle("vde") == expect(iops=100, group="G")


def test_join_and_leave_a_group(tg):
    tg.dom.setBlockIoThrottle("vdd", {"group": "G"})
    assert tg.dom.blockIoThrottle("vdd") == expect(iops=100, group="G")
    tg.dom.setBlockIoTune("vdd", {"group_name": ""})
    assert tg.dom.blockIoThrottle("vdd")["group"] == ""
    assert tg.dom.blockIoThrottle("vde") == expect(iops=100, group="G")
    reset(tg.dom, "vdd")


# ---- read-only connection ----

def test_read_only_connection_reads_limits_and_cannot_change_them(roconn, tg):
    dom = roconn.lookupByName("tg")
    assert dom.blockIoThrottle("vda") == tg.dom.blockIoThrottle("vda")
    assert dom.blockIoTune("vda", CONFIG) == tg.dom.blockIoTune("vda", CONFIG)
    for call in (lambda: dom.setBlockIoThrottle("vda", {"bps": 5}),
                 lambda: dom.setBlockIoThrottle("vda", {"bps": 5}, CONFIG),
                 lambda: dom.setBlockIoTune("vda", {"total_bytes_sec": 5}, LIVE)):
        with pytest.raises(iovirt.Error) as e:
            call()
        assert e.value.code == iovirt.ERR_OPERATION_DENIED
        assert e.value.message.startswith("operation forbidden: read only access prevents")
    assert tg.dom.blockIoThrottle("vda") == expect(bps=1048576)


# ---- round trips through the other clients ----

def virsh(daemon, *args):
    out = subprocess.run(["virsh", "-c", daemon.libvirt_uri] + list(args), capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def virsh_limits(daemon, disk, *flags):
    values = {}
    for line in virsh(daemon, "blkdeviotune", "tg", disk, *flags).splitlines():
        m = re.match(r"^(\w+)\s*:\s*(.*)$", line)
        if m:
            v = m.group(2).strip()
            values[m.group(1)] = int(v) if v.isdigit() else v
    return values


def test_round_trip_python_virsh_python(daemon, tg):
    # set from Python, read with virsh
    tg.dom.setBlockIoThrottle("vdc", {"bps_rd": 7 * MiB, "bps_wr": 5 * MiB, "iops": 90,
                                      "iops_max": 180, "iops_max_length": 6,
                                      "iops_size": 16384}, BOTH)
    for flags in (["--live"], ["--config"]):
        shown = virsh_limits(daemon, "vdc", *flags)
        assert list(shown) == LIBVIRT_ORDER
        assert shown == tg.dom.blockIoTune("vdc", LIVE if flags == ["--live"] else CONFIG)
        assert shown["read_bytes_sec"] == 7 * MiB and shown["total_iops_sec_max_length"] == 6
    # set with virsh, read from Python
    virsh(daemon, "blkdeviotune", "tg", "vdc", "--total-bytes-sec", "3145728", "--live")
    assert tg.dom.blockIoThrottle("vdc", LIVE) == expect(bps=3 * MiB, iops=90, iops_max=180,
                                                         iops_max_length=6, iops_size=16384)
    assert tg.dom.blockIoThrottle("vdc", CONFIG)["bps_rd"] == 7 * MiB
    # and back: Python sets, virsh reads
    tg.dom.setBlockIoTune("vdc", {"total_bytes_sec": 0, "read_bytes_sec": MiB}, LIVE)
    assert virsh_limits(daemon, "vdc", "--live")["read_bytes_sec"] == MiB
    assert virsh_limits(daemon, "vdc", "--live")["total_bytes_sec"] == 0
    reset(tg.dom, "vdc")
    assert virsh_limits(daemon, "vdc") == tg.dom.blockIoTune("vdc")


def iovsh(daemon, *args):
    out = subprocess.run([iovtest.IOVSH, "-c", daemon.uri] + list(args), capture_output=True,
                         text=True, timeout=60, env=daemon.env)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def iovsh_numbers(daemon, disk, *flags):
    """The numeric limits iovsh displays, by iovirt's names."""
    values = {}
    for line in iovsh(daemon, "blkiothrottle", "tg", disk, *flags).splitlines():
        m = re.match(r"^\s*(\w+)\s*:\s*(\d+)", line)
        if m:
            values[m.group(1)] = int(m.group(2))
    return values


@pytest.mark.skipif(not os.path.exists(iovtest.IOVSH), reason="iovsh is not built")
def test_round_trip_python_iovsh_python(daemon, tg):
    tg.dom.setBlockIoThrottle("vdc", {"bps": 6 * MiB, "iops_rd": 40, "iops_wr": 30}, BOTH)
    for flag, flags in (("--live", LIVE), ("--config", CONFIG)):
        shown = iovsh_numbers(daemon, "vdc", flag)
        mine = tg.dom.blockIoThrottle("vdc", flags)
        assert shown == {k: v for k, v in mine.items() if k != "group"}
    iovsh(daemon, "blkiothrottle", "tg", "vdc", "--bps", "2097152", "--live")
    assert tg.dom.blockIoThrottle("vdc", LIVE) == expect(bps=2 * MiB, iops_rd=40, iops_wr=30)
    assert tg.dom.blockIoThrottle("vdc", CONFIG)["bps"] == 6 * MiB
    tg.dom.setBlockIoThrottle("vdc", {"iops": 55}, LIVE)
    assert iovsh_numbers(daemon, "vdc", "--live")["iops"] == 55
    assert iovsh_numbers(daemon, "vdc", "--live")["iops_rd"] == 0
    reset(tg.dom, "vdc")
