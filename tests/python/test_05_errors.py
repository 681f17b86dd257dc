"""Error paths: every failure raises iovirt.Error with the daemon's code and
text; wrong Python types and values raise TypeError / ValueError before
anything is sent; nothing changes after a refused change."""

import pytest

from conftest import MiB, Guest, iovirt, iovtest

LIVE, CONFIG, CURRENT = iovirt.AFFECT_LIVE, iovirt.AFFECT_CONFIG, iovirt.AFFECT_CURRENT
BOTH = LIVE | CONFIG


@pytest.fixture(scope="module")
def eg(daemon, conn):
    """A running guest: vda limited to bps, vdb to bps_rd/bps_wr with a burst."""
    g = Guest(daemon, conn, "eg", disks=("vda", "vdb"),
              throttle={"vda": {"bps": 2 * MiB},
                        "vdb": {"bps_rd": MiB, "bps_rd_max": 2 * MiB, "bps_wr": MiB,
                                "iops": 100}})
    g.start(wait_ready=False)
    yield g
    g.stop()


@pytest.fixture(scope="module")
def off(daemon, conn):
    """A shut-off guest."""
    return Guest(daemon, conn, "off", throttle={"vda": {"iops": 10}})


@pytest.fixture(scope="module")
def rodom(roconn, eg):
    """eg, seen through a read-only connection: any call that reached the
    daemon to set something would fail with ERR_OPERATION_DENIED, so a
    TypeError or ValueError proves the check came first."""
    return roconn.lookupByName("eg")


def snapshot(dom, disks=("vda", "vdb")):
    return {(d, f): dom.blockIoThrottle(d, f) for d in disks for f in (LIVE, CONFIG)}


# ---- errors from the daemon: code, domain and text ----

@pytest.mark.parametrize("flags,where", [(CURRENT, "live"), (LIVE, "live"), (CONFIG, "persistent")])
def test_unknown_disk_on_get(eg, flags, where):
    with pytest.raises(iovirt.Error) as e:
        eg.dom.blockIoThrottle("vdz", flags)
    assert e.value.code == iovirt.ERR_INVALID_ARG
    assert e.value.message == ("invalid argument: disk 'vdz' not found in the %s definition "
                               "of domain 'eg'" % where)
    with pytest.raises(iovirt.Error) as e2:
        eg.dom.blockIoTune("vdz", flags)
    assert e2.value.message == e.value.message


@pytest.mark.parametrize("flags", [CURRENT, LIVE, CONFIG, BOTH])
def test_unknown_disk_on_set(eg, flags):
    before = snapshot(eg.dom)
    with pytest.raises(iovirt.Error) as e:
        eg.dom.setBlockIoThrottle("vdz", {"bps": MiB}, flags)
    assert e.value.code == iovirt.ERR_INVALID_ARG
    assert "'vdz'" in e.value.message and "'eg'" in e.value.message
    with pytest.raises(iovirt.Error):
        eg.dom.setBlockIoTune("/no/such/image.img", {"total_bytes_sec": MiB}, flags)
    assert snapshot(eg.dom) == before


def test_unknown_disk_on_stats(eg):
    with pytest.raises(iovirt.Error) as e:
        eg.dom.blockStats("vdz")
    assert e.value.code == iovirt.ERR_INVALID_ARG
    assert "'vdz'" in e.value.message
    with pytest.raises(iovirt.Error) as e:
        eg.dom.blockStatsFlags("vdz")
    assert "'vdz'" in e.value.message


def test_error_fields(eg):
    with pytest.raises(iovirt.Error) as e:
        eg.dom.blockIoThrottle("vdz")
    err = e.value
    assert isinstance(err.code, int) and isinstance(err.domain, int)
    assert err.domain != iovirt.FROM_NONE
    assert err.level == iovirt.ERR_ERROR
    assert str(err) == err.message == err.get_error_message()
    assert err.get_error_code() == err.code and err.get_error_domain() == err.domain


@pytest.mark.parametrize("params,message", [
    ({"bps": MiB, "bps_rd": MiB},
     "invalid argument: disk 'vda': bps (1048576) and bps_rd (1048576) cannot both be set: "
     "a total limit excludes read and write limits; set bps alone, or bps_rd and bps_wr"),
    ({"total_iops_sec": 10, "write_iops_sec": 20}, "iops (10) and iops_wr (20) cannot both be set"),
    ({"bps_max": MiB}, "bps_max (1048576) must not be below bps (2097152)"),
    ({"iops_rd_max": 5}, "iops_rd_max (5) needs iops_rd"),
    ({"bps_max_length": 4}, "bps_max_length (4) needs bps_max"),
    ({"iops_size": 4096}, "iops_size (4096) needs an iops limit"),
    ({"bps": 10 ** 15 + 1}, "bps (1000000000000001) is above the maximum of 1000000000000000"),
    ({"bps": 2 ** 64 - 1}, "bps (18446744073709551615) is above the maximum"),
    ({"bps": MiB, "bps_max": 10 ** 15, "bps_max_length": 2}, "bps_max_length"),
    ({"group": "bad name!"}, "group 'bad name!' must be 1 to 64 characters"),
])
@pytest.mark.parametrize("flags", [CURRENT, CONFIG, BOTH])
def test_invalid_limits_are_refused_and_nothing_changes(eg, params, message, flags):
    before = snapshot(eg.dom)
    with pytest.raises(iovirt.Error) as e:
        eg.dom.setBlockIoThrottle("vda", params, flags)
    assert e.value.code == iovirt.ERR_INVALID_ARG
    assert message in e.value.message
    assert "disk 'vda'" in e.value.message
    assert snapshot(eg.dom) == before


def test_total_with_read_from_the_merged_result(eg):
    """bps_rd_max stays set when only the bytes family is renamed: a total
    bps then clashes with it."""
    before = snapshot(eg.dom)
    with pytest.raises(iovirt.Error) as e:
        eg.dom.setBlockIoThrottle("vdb", {"bps": 3 * MiB})
    assert e.value.code == iovirt.ERR_INVALID_ARG
    assert "disk 'vdb'" in e.value.message and "bps_rd_max" in e.value.message
    assert snapshot(eg.dom) == before


def test_get_with_live_and_config_together(eg):
    with pytest.raises(iovirt.Error) as e:
        eg.dom.blockIoThrottle("vda", BOTH)
    assert e.value.code == iovirt.ERR_INVALID_ARG


def test_unsupported_flags_are_refused_by_the_daemon(eg):
    before = snapshot(eg.dom)
    with pytest.raises(iovirt.Error) as e:
        eg.dom.setBlockIoThrottle("vda", {"bps": MiB}, 0x100)
    assert e.value.code == iovirt.ERR_INVALID_ARG
    assert "0x100" in e.value.message
    assert snapshot(eg.dom) == before
    with pytest.raises(iovirt.Error):
        eg.dom.state(1)


def test_live_on_a_shut_off_guest(off):
    for call in (lambda: off.dom.blockIoThrottle("vda", LIVE),
                 lambda: off.dom.setBlockIoThrottle("vda", {"iops": 1}, LIVE),
                 lambda: off.dom.setBlockIoThrottle("vda", {"iops": 1}, BOTH)):
        with pytest.raises(iovirt.Error) as e:
            call()
        assert e.value.code == iovirt.ERR_OPERATION_INVALID
        assert e.value.message == "Requested operation is not valid: domain 'off' is not running"
    assert off.dom.blockIoThrottle("vda")["iops"] == 10


def test_read_only_connection_is_denied_every_change(rodom, eg):
    before = snapshot(eg.dom)
    for flags in (CURRENT, LIVE, CONFIG, BOTH):
        with pytest.raises(iovirt.Error) as e:
            rodom.setBlockIoThrottle("vda", {"bps": MiB}, flags)
        assert e.value.code == iovirt.ERR_OPERATION_DENIED
        assert e.value.message == ("operation forbidden: read only access prevents "
                                   "iovDomainBlockIoThrottle")
    assert snapshot(eg.dom) == before


def test_calls_on_a_domain_that_no_longer_exists(daemon, conn):
    g = Guest(daemon, conn, "ghost")
    g.dom.undefine()
    for call in (lambda: g.dom.blockIoThrottle("vda"), lambda: g.dom.state(),
                 lambda: g.dom.create(), lambda: g.dom.XMLDesc(), lambda: g.dom.info(),
                 lambda: g.dom.setBlockIoTune("vda", {"total_bytes_sec": 1})):
        with pytest.raises(iovirt.Error) as e:
            call()
        assert e.value.code == iovirt.ERR_NO_DOMAIN
    assert g.dom.name() == "ghost"


# ---- argument checks, before any call ----

@pytest.mark.parametrize("value", [1.0, "1", b"1", None, [1], True, False, 1j])
def test_a_number_of_the_wrong_type_is_a_type_error(rodom, value):
    for method in (rodom.setBlockIoThrottle, rodom.setBlockIoTune):
        with pytest.raises(TypeError) as e:
            method("vda", {"bps_wr": value})
        assert str(e.value) == "disk 'vda': bps_wr must be an int, not %s" % type(value).__name__


@pytest.mark.parametrize("value", [-1, -2 ** 64, -2 ** 70, 2 ** 64, 2 ** 100])
def test_a_number_out_of_range_is_a_value_error(rodom, value):
    with pytest.raises(ValueError) as e:
        rodom.setBlockIoTune("vda", {"write_bytes_sec": value})
    assert str(e.value) == ("disk 'vda': write_bytes_sec must be an integer from 0 to "
                            "18446744073709551615, not %d" % value)


def test_limits_up_to_two_to_the_64_minus_one_reach_the_daemon(rodom):
    with pytest.raises(iovirt.Error) as e:
        rodom.setBlockIoThrottle("vda", {"bps": 2 ** 64 - 1})
    assert e.value.code == iovirt.ERR_OPERATION_DENIED


@pytest.mark.parametrize("key", ["bogus", "BPS", "bps ", "", "total-bytes-sec", "bps\0"])
def test_an_unknown_key_is_a_value_error(rodom, key):
    for method in (rodom.setBlockIoThrottle, rodom.setBlockIoTune):
        with pytest.raises(ValueError) as e:
            method("vda", {"bps": 1, key: 1})
        assert str(e.value) == ("disk 'vda': unknown throttle field %r "
                                "(see iovirt.throttleFields())" % key)


@pytest.mark.parametrize("key", [1, None, b"bps", ("bps",)])
def test_a_key_that_is_not_a_str_is_a_type_error(rodom, key):
    with pytest.raises(TypeError) as e:
        rodom.setBlockIoThrottle("vda", {key: 1})
    assert "throttle field names must be str" in str(e.value)


def test_a_field_given_twice_is_a_value_error(rodom):
    with pytest.raises(ValueError) as e:
        rodom.setBlockIoThrottle("vda", {"bps": 1, "total_bytes_sec": 2})
    assert str(e.value) == ("disk 'vda': throttle field 'bps' given twice "
                            "(as 'bps' and 'total_bytes_sec')")
    with pytest.raises(ValueError):
        rodom.setBlockIoTune("vda", {"group_name": "a", "group": "a"})


def test_no_field_is_a_value_error(rodom):
    with pytest.raises(ValueError) as e:
        rodom.setBlockIoThrottle("vda", {})
    assert str(e.value) == "disk 'vda': no throttle field given to set"


@pytest.mark.parametrize("params", [None, [("bps", 1)], "bps=1", 5])
def test_params_that_are_not_a_dict_are_a_type_error(rodom, params):
    with pytest.raises(TypeError) as e:
        rodom.setBlockIoThrottle("vda", params)
    assert "params must be a dict" in str(e.value)


@pytest.mark.parametrize("value", [1, None, b"G", ["G"], True])
def test_a_group_that_is_not_a_str_is_a_type_error(rodom, value):
    for key in ("group", "group_name"):
        with pytest.raises(TypeError) as e:
            rodom.setBlockIoTune("vda", {key: value})
        assert str(e.value) == "disk 'vda': %s must be a str, not %s" % (key, type(value).__name__)


def test_a_group_with_a_nul_is_a_value_error(rodom):
    with pytest.raises(ValueError):
        rodom.setBlockIoThrottle("vda", {"group": "G\0H"})


def test_the_empty_group_reaches_the_daemon(rodom):
    with pytest.raises(iovirt.Error) as e:
        rodom.setBlockIoThrottle("vda", {"group": ""})
    assert e.value.code == iovirt.ERR_OPERATION_DENIED


@pytest.mark.parametrize("disk,exc", [(None, TypeError), (1, TypeError), (b"vda", TypeError),
                                      ("vd\0a", ValueError)])
def test_a_bad_disk_argument(rodom, disk, exc):
    for call in (lambda: rodom.setBlockIoThrottle(disk, {"bps": 1}),
                 lambda: rodom.setBlockIoTune(disk, {"bps": 1}),
                 lambda: rodom.blockIoThrottle(disk), lambda: rodom.blockIoTune(disk),
                 lambda: rodom.blockStats(disk), lambda: rodom.blockStatsFlags(disk)):
        with pytest.raises(exc):
            call()


FLAG_CALLS = [
    ("blockIoThrottle", ("vda",)), ("blockIoTune", ("vda",)),
    ("setBlockIoThrottle", ("vda", {"bps": 1})), ("setBlockIoTune", ("vda", {"bps": 1})),
    ("create", ()), ("createWithFlags", ()), ("reboot", ()), ("XMLDesc", ()), ("state", ()),
    ("blockStatsFlags", ("vda",)),
]


@pytest.mark.parametrize("name,args", FLAG_CALLS)
@pytest.mark.parametrize("flags,exc", [(-1, ValueError), (2 ** 32, ValueError), (1.0, TypeError),
                                       ("1", TypeError), (True, TypeError), (None, TypeError)])
def test_bad_flags(rodom, roconn, name, args, flags, exc):
    with pytest.raises(exc) as e:
        getattr(rodom, name)(*args, flags)
    assert "flags" in str(e.value)
    with pytest.raises(exc):
        getattr(rodom, name)(*args, flags=flags)
    with pytest.raises(exc):
        roconn.listAllDomains(flags)


def test_wrong_argument_counts(rodom):
    with pytest.raises(TypeError):
        rodom.blockIoThrottle()
    with pytest.raises(TypeError):
        rodom.setBlockIoThrottle("vda")
    with pytest.raises(TypeError):
        rodom.setBlockIoThrottle("vda", {"bps": 1}, 0, 0)
    with pytest.raises(TypeError):
        rodom.setBlockIoThrottle("vda", {"bps": 1}, flag=0)
    with pytest.raises(TypeError):
        rodom.name(1)
    with pytest.raises(TypeError):
        rodom.blockStats()


def test_values_are_converted_before_anything_is_sent(eg):
    """A bad value after a good one: the good one is not applied either."""
    before = snapshot(eg.dom)
    with pytest.raises(TypeError):
        eg.dom.setBlockIoThrottle("vda", {"bps": 5 * MiB, "iops": "many"})
    with pytest.raises(ValueError):
        eg.dom.setBlockIoThrottle("vda", {"bps": 5 * MiB, "nonsense": 1})
    assert snapshot(eg.dom) == before


def test_a_value_whose_index_raises(rodom):
    class Bad:
        def __index__(self):
            raise RuntimeError("no number here")

    with pytest.raises(RuntimeError):
        rodom.setBlockIoThrottle("vda", {"bps": Bad()})


# ---- a daemon that goes away ----

def test_calls_fail_cleanly_when_the_daemon_dies():
    d = iovtest.Daemon().start()
    try:
        c = iovirt.open(d.uri)
        g = Guest(d, c, "orphan")
        d.kill()
        for call in (lambda: g.dom.blockIoThrottle("vda"), lambda: g.dom.state(),
                     lambda: c.lookupByName("orphan"), lambda: c.listAllDomains(),
                     lambda: g.dom.setBlockIoThrottle("vda", {"bps": 1})):
            with pytest.raises(iovirt.Error) as e:
                call()
            assert e.value.code in (iovirt.ERR_RPC, iovirt.ERR_SYSTEM_ERROR,
                                    iovirt.ERR_NO_CONNECT, iovirt.ERR_INVALID_CONN)
            assert e.value.message
        # the type checks still come first
        with pytest.raises(TypeError):
            g.dom.setBlockIoThrottle("vda", {"bps": 1.5})
        assert c.close() == 1
        del g
        with pytest.raises(iovirt.Error):
            iovirt.open(d.uri)
    finally:
        d.cleanup()
