"""Memory: reference counts stay put, and neither the C heap nor the RSS
grows over 10000 calls (success and error paths alike)."""

import ctypes
import gc
import os
import sys

import pytest

from conftest import Guest, iovirt

LIVE, CONFIG = iovirt.AFFECT_LIVE, iovirt.AFFECT_CONFIG


class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


_libc = ctypes.CDLL(None)
_mallinfo2 = getattr(_libc, "mallinfo2", None)
if _mallinfo2:
    _mallinfo2.restype = MallInfo2


def heap_in_use():
    """Bytes malloc() has handed out and not got back (all arenas)."""
    if not _mallinfo2:
        return 0
    m = _mallinfo2()
    return m.uordblks + m.hblkhd


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.fixture(scope="module")
def mg(daemon, conn):
    g = Guest(daemon, conn, "mg", disks=("vda", "vdb"), throttle={"vdb": {"iops": 50}})
    g.start()
    yield g
    g.stop()


def calls(conn, dom, disk):
    """One of each kind of call, success and failure."""
    value = 10 ** 6 + 7
    params = {"bps": value}
    tune = {"total_bytes_sec": value}

    def err_daemon():
        try:
            dom.blockIoThrottle("nosuch")
        except iovirt.Error:
            pass

    def err_value():
        try:
            dom.setBlockIoThrottle(disk, {"bps": -1})
        except ValueError:
            pass

    def err_type():
        try:
            dom.setBlockIoTune(disk, {"group_name": 5})
        except TypeError:
            pass

    def err_key():
        try:
            dom.setBlockIoTune(disk, {"bogus": 5})
        except ValueError:
            pass

    def err_lookup():
        try:
            conn.lookupByName("nosuch")
        except iovirt.Error:
            pass

    return [
        lambda: dom.blockIoThrottle(disk),
        lambda: dom.blockIoTune(disk, CONFIG),
        lambda: dom.setBlockIoThrottle(disk, params, LIVE),
        lambda: dom.setBlockIoTune(disk, tune, LIVE),
        lambda: dom.setBlockIoThrottle("vdb", {"group": "", "iops": 50}, LIVE),
        err_daemon, err_value, err_type, err_key, err_lookup,
        lambda: conn.lookupByName("mg").state(),
        lambda: conn.lookupByUUIDString(dom.UUIDString()).info(),
        lambda: conn.listAllDomains(),
        lambda: dom.XMLDesc(),
        lambda: dom.blockStats(disk),
        lambda: dom.blockStatsFlags(disk),
        lambda: dom.isActive(),
        lambda: iovirt.throttleFields(),
        lambda: iovirt.parseSize("4KiB"),
    ]


def test_reference_counts_stay_put(conn, mg):
    dom = mg.dom
    disk = "vda"
    params = {"bps": 10 ** 6 + 7}
    key, value = next(iter(params.items()))
    watched = [conn, dom, disk, params, key, value, iovirt.Error, iovirt.Domain, None, True,
               False, iovirt.throttleFields()]
    todo = calls(conn, dom, disk)
    for f in todo:
        f()
    gc.collect()
    before = [sys.getrefcount(o) for o in watched]
    for _ in range(200):
        for f in todo:
            f()
        dom.setBlockIoThrottle(disk, params, LIVE)
        dom.blockIoThrottle(disk, LIVE)
        try:
            dom.blockIoThrottle(disk, LIVE | CONFIG)
        except iovirt.Error:
            pass
    gc.collect()
    after = [sys.getrefcount(o) for o in watched]
    assert after == before


def test_domains_and_connections_release_their_references(daemon, conn, mg):
    c = iovirt.open(daemon.uri)
    base = sys.getrefcount(c)
    doms = [c.lookupByName("mg") for _ in range(10)] + c.listAllDomains()
    assert sys.getrefcount(c) == base + 11
    del doms
    assert sys.getrefcount(c) == base
    assert c.close() == 0


def test_no_growth_over_10000_calls(conn, mg):
    """The first few thousand calls may grow the heap once (seen: about
    1 MB of Python allocations during the first blockStatsFlags calls, and
    never again over tens of thousands more), so a first round of 10000
    calls comes before the one measured."""
    todo = calls(conn, mg.dom, "vda")
    n = len(todo)
    for i in range(10000):
        todo[i % n]()
    gc.collect()
    blocks0, heap0, rss0 = sys.getallocatedblocks(), heap_in_use(), rss()
    for i in range(10000):
        todo[i % n]()
    gc.collect()
    blocks = sys.getallocatedblocks() - blocks0
    heap_growth, rss_growth = heap_in_use() - heap0, rss() - rss0
    assert blocks < 50, "%d more Python objects are alive" % blocks
    assert heap_growth < 64 * 1024, "the C heap grew by %d bytes" % heap_growth
    assert rss_growth < 512 * 1024, "RSS grew by %d bytes" % rss_growth


def test_no_growth_over_2000_connections(daemon, mg):
    def once():
        with iovirt.open(daemon.uri) as c:
            d = c.lookupByName("mg")
        d.state()
        del d
        ro = iovirt.openReadOnly(daemon.uri_ro)
        ro.lookupByName("mg")
        ro.close()

    for _ in range(200):
        once()
    gc.collect()
    blocks0, heap0, rss0 = sys.getallocatedblocks(), heap_in_use(), rss()
    for _ in range(2000):
        once()
    gc.collect()
    blocks = sys.getallocatedblocks() - blocks0
    heap_growth, rss_growth = heap_in_use() - heap0, rss() - rss0
    assert blocks < 50, "%d more Python objects are alive" % blocks
    assert heap_growth < 64 * 1024, "the C heap grew by %d bytes" % heap_growth
    assert rss_growth < 512 * 1024, "RSS grew by %d bytes" % rss_growth
