"""Connection: opening, closing, the context manager, lookups, listing and
defining domains. Guests are defined here, never started."""

import gc
import socket
import uuid

import pytest

from conftest import Guest, iovirt

pytestmark = pytest.mark.usefixtures("daemon")


@pytest.fixture(scope="module")
def guests(daemon, conn):
    """Three defined, shut-off guests: alpha, beta, gamma."""
    return {n: Guest(daemon, conn, n) for n in ("gamma", "alpha", "beta")}


def test_open_returns_a_read_write_connection(daemon):
    c = iovirt.open(daemon.uri)
    try:
        assert isinstance(c, iovirt.Connection)
        # the URI as opened: it reaches the same daemon again
        assert c.getURI() == daemon.uri
        assert c.isReadOnly() is False
        assert c.isClosed() is False
        assert repr(c) == "<iovirt.Connection '%s' read-write>" % daemon.uri
    finally:
        assert c.close() == 0


def test_open_read_only(daemon):
    c = iovirt.openReadOnly(daemon.uri_ro)
    try:
        assert c.isReadOnly() is True
        assert "read-only" in repr(c)
    finally:
        c.close()


def test_open_with_keyword_uri(daemon):
    with iovirt.open(uri=daemon.uri) as c:
        assert c.getURI() == daemon.uri
    with iovirt.openReadOnly(uri=daemon.uri_ro) as c:
        assert c.isReadOnly()


def test_open_default_uri_comes_from_the_environment(daemon, monkeypatch, guests):
    monkeypatch.setenv("IOVIRT_DEFAULT_URI", daemon.uri)
    with iovirt.open() as c:
        assert c.lookupByName("alpha").name() == "alpha"
    with iovirt.open(None) as c:
        assert c.lookupByName("beta").name() == "beta"
    monkeypatch.setenv("IOVIRT_DEFAULT_URI", daemon.uri_ro)
    with iovirt.openReadOnly() as c:
        assert c.lookupByName("gamma").name() == "gamma"


def test_open_refuses_bad_uri_types():
    with pytest.raises(TypeError):
        iovirt.open(42)
    with pytest.raises(TypeError):
        iovirt.open(b"iovirt:///session")
    with pytest.raises(ValueError):
        iovirt.open("iovirt:///session\0")


@pytest.mark.parametrize("uri,code", [
    ("xen:///system", iovirt.ERR_NO_CONNECT),
    ("iovirt:///elsewhere", iovirt.ERR_NO_CONNECT),
    ("iovirt+tcp://host/system", iovirt.ERR_NO_SUPPORT),
])
def test_open_bad_uri_raises_error_naming_it(uri, code):
    with pytest.raises(iovirt.Error) as e:
        iovirt.open(uri)
    assert e.value.code == code
    assert uri in e.value.message


def test_context_manager_closes(daemon):
    with iovirt.open(daemon.uri) as c:
        assert c.getHostname()
    assert c.isClosed()
    assert "closed" in repr(c)


def test_context_manager_lets_exceptions_through(daemon):
    with pytest.raises(KeyError):
        with iovirt.open(daemon.uri) as c:
            raise KeyError("x")
    assert c.isClosed()


def test_calls_after_close_raise_error_naming_the_connection(daemon):
    c = iovirt.open(daemon.uri)
    c.close()
    for call in (lambda: c.lookupByName("alpha"), lambda: c.listAllDomains(),
                 lambda: c.getHostname(), lambda: c.defineXML("<domain/>"),
                 lambda: c.lookupByUUIDString("x"), lambda: c.lookupByUUID(bytes(16)),
                 lambda: c.lookupByID(1), lambda: c.getVersion(), lambda: c.getLibVersion()):
        with pytest.raises(iovirt.Error) as e:
            call()
        assert e.value.code == iovirt.ERR_INVALID_CONN
        assert e.value.message == "connection to '%s' is closed" % daemon.uri
    # local facts remain
    assert c.getURI() == daemon.uri
    assert c.isReadOnly() is False


def test_second_close_does_nothing(daemon):
    c = iovirt.open(daemon.uri)
    assert c.close() == 0
    assert c.close() == 0
    with c:
        pass


def test_close_returns_the_holds_of_live_domains(daemon, guests):
    c = iovirt.open(daemon.uri)
    d1 = c.lookupByName("alpha")
    d2 = c.lookupByName("beta")
    assert c.close() == 2
    # the domains keep the C connection open and keep working
    assert d1.state()[0] == iovirt.DOMAIN_SHUTOFF
    assert d2.blockIoThrottle("vda")["bps"] == 0
    assert d1.connect() is c and c.isClosed()
    del d1
    assert d2.XMLDesc().startswith("<domain")
    del d2
    gc.collect()


def test_domain_outlives_its_connection_object(daemon, guests):
    dom = iovirt.open(daemon.uri).lookupByName("gamma")
    gc.collect()
    assert dom.name() == "gamma"
    assert dom.connect().lookupByName("alpha").name() == "alpha"
    assert dom.info()[0] == iovirt.DOMAIN_SHUTOFF


def test_get_hostname(conn):
    assert conn.getHostname() == socket.gethostname()


def test_versions(conn):
    qemu = conn.getVersion()
    assert qemu >= 7000000 and qemu < 100000000
    major, minor, micro = (int(x) for x in iovirt.__version__.split("."))
    assert conn.getLibVersion() == major * 1000000 + minor * 1000 + micro


def test_list_all_domains_sorted_by_name(conn, guests):
    doms = conn.listAllDomains()
    assert [d.name() for d in doms] == ["alpha", "beta", "gamma"]
    assert all(isinstance(d, iovirt.Domain) for d in doms)
    assert all(d.connect() is conn for d in doms)
    assert [d.name() for d in conn.listAllDomains(flags=0)] == ["alpha", "beta", "gamma"]


@pytest.mark.parametrize("flag,names", [
    (iovirt.LIST_DOMAINS_INACTIVE, ["alpha", "beta", "gamma"]),
    (iovirt.LIST_DOMAINS_PERSISTENT, ["alpha", "beta", "gamma"]),
    (iovirt.LIST_DOMAINS_SHUTOFF, ["alpha", "beta", "gamma"]),
    (iovirt.LIST_DOMAINS_ACTIVE, []),
    (iovirt.LIST_DOMAINS_TRANSIENT, []),
    (iovirt.LIST_DOMAINS_RUNNING, []),
    (iovirt.LIST_DOMAINS_PAUSED, []),
    (iovirt.LIST_DOMAINS_OTHER, []),
    (iovirt.LIST_DOMAINS_ACTIVE | iovirt.LIST_DOMAINS_INACTIVE, ["alpha", "beta", "gamma"]),
])
def test_list_all_domains_flags(conn, guests, flag, names):
    assert [d.name() for d in conn.listAllDomains(flag)] == names


def test_list_all_domains_on_read_only_connection(roconn, guests):
    assert [d.name() for d in roconn.listAllDomains()] == ["alpha", "beta", "gamma"]
    assert all(d.connect() is roconn for d in roconn.listAllDomains())


def test_lookup_by_name(conn, guests):
    dom = conn.lookupByName("beta")
    assert dom.name() == "beta"
    assert dom.UUIDString() == guests["beta"].dom.UUIDString()
    assert dom.connect() is conn


def test_lookup_by_uuid_string_with_and_without_dashes(conn, guests):
    u = guests["gamma"].dom.UUIDString()
    assert conn.lookupByUUIDString(u).name() == "gamma"
    assert conn.lookupByUUIDString(u.replace("-", "")).name() == "gamma"
    assert conn.lookupByUUIDString(u.upper()).name() == "gamma"


def test_lookup_by_uuid_bytes(conn, guests):
    raw = guests["alpha"].dom.UUID()
    assert raw == uuid.UUID(guests["alpha"].dom.UUIDString()).bytes
    assert conn.lookupByUUID(raw).name() == "alpha"
    with pytest.raises(ValueError):
        conn.lookupByUUID(raw[:15])
    with pytest.raises(TypeError):
        conn.lookupByUUID(guests["alpha"].dom.UUIDString())


def test_lookup_unknown_domain_raises_no_domain(conn, guests):
    with pytest.raises(iovirt.Error) as e:
        conn.lookupByName("nosuch")
    assert e.value.code == iovirt.ERR_NO_DOMAIN
    assert "nosuch" in e.value.message
    with pytest.raises(iovirt.Error) as e:
        conn.lookupByUUIDString(str(uuid.uuid4()))
    assert e.value.code == iovirt.ERR_NO_DOMAIN
    with pytest.raises(iovirt.Error) as e:
        conn.lookupByUUID(uuid.uuid4().bytes)
    assert e.value.code == iovirt.ERR_NO_DOMAIN
    with pytest.raises(iovirt.Error) as e:
        conn.lookupByID(4242)
    assert e.value.code == iovirt.ERR_NO_DOMAIN


def test_lookup_by_bad_uuid_string_names_it(conn):
    with pytest.raises(iovirt.Error) as e:
        conn.lookupByUUIDString("not-a-uuid")
    assert e.value.code == iovirt.ERR_INVALID_ARG
    assert "'not-a-uuid'" in e.value.message


def test_lookup_by_id_argument_checks(conn):
    with pytest.raises(ValueError):
        conn.lookupByID(-1)
    with pytest.raises(ValueError):
        conn.lookupByID(2 ** 31)
    with pytest.raises(TypeError):
        conn.lookupByID(True)
    with pytest.raises(TypeError):
        conn.lookupByID("1")


def test_lookup_argument_types(conn):
    with pytest.raises(TypeError):
        conn.lookupByName(None)
    with pytest.raises(TypeError):
        conn.lookupByName(b"alpha")
    with pytest.raises(ValueError):
        conn.lookupByName("al\0pha")
    with pytest.raises(TypeError):
        conn.lookupByName()
    with pytest.raises(TypeError):
        conn.lookupByUUIDString(3)


def test_define_xml_returns_the_domain(daemon, conn):
    g = Guest(daemon, conn, "delta", throttle={"vda": {"bps": 1048576}})
    try:
        assert g.dom.name() == "delta"
        assert g.dom.isPersistent() is True
        assert g.dom.isActive() is False
        assert g.dom.ID() == -1
        assert "delta" in [d.name() for d in conn.listAllDomains()]
        assert '<iothrottle bps="1048576"/>' in g.dom.XMLDesc(iovirt.XML_INACTIVE)
    finally:
        g.dom.undefine()


def test_define_xml_replaces_a_definition(daemon, conn):
    g = Guest(daemon, conn, "epsilon", throttle={"vda": {"bps": 1000}})
    try:
        u = g.dom.UUIDString()
        dom = conn.defineXML(g.xml.replace("bps='1000'", "bps='2000'"))
        assert dom.UUIDString() == u
        assert g.dom.blockIoThrottle("vda")["bps"] == 2000
    finally:
        g.dom.undefine()


def test_define_invalid_xml_raises_error_naming_the_problem(conn):
    with pytest.raises(iovirt.Error) as e:
        conn.defineXML("<domain type='qemu'><name>x</name></domain>")
    assert e.value.code == iovirt.ERR_XML_ERROR
    assert e.value.message == "XML error: <domain> has no <memory>"
    with pytest.raises(iovirt.Error) as e:
        conn.defineXML("not xml at all")
    assert e.value.code == iovirt.ERR_XML_ERROR


def test_define_xml_is_denied_on_read_only_connection(roconn, guests):
    with pytest.raises(iovirt.Error) as e:
        roconn.defineXML(guests["alpha"].xml)
    assert e.value.code == iovirt.ERR_OPERATION_DENIED


def test_undefine(daemon, conn):
    g = Guest(daemon, conn, "zeta")
    assert g.dom.undefine() == 0
    with pytest.raises(iovirt.Error) as e:
        conn.lookupByName("zeta")
    assert e.value.code == iovirt.ERR_NO_DOMAIN
    with pytest.raises(iovirt.Error) as e:
        g.dom.undefine()
    assert e.value.code == iovirt.ERR_NO_DOMAIN


def test_many_connections_open_and_close(daemon):
    conns = [iovirt.open(daemon.uri) for _ in range(20)]
    assert all(c.getURI() == daemon.uri for c in conns)
    for c in conns:
        assert c.close() == 0


def test_get_all_domain_stats_of_shut_off_guests(conn, guests):
    stats = conn.getAllDomainStats()
    assert [dom.name() for dom, _ in stats] == ["alpha", "beta", "gamma"]
    for dom, st in stats:
        # a guest that does not run has its state and nothing else
        assert st["state.state"] == iovirt.DOMAIN_SHUTOFF
        assert set(st) == {"state.state", "state.reason"}
    assert conn.getAllDomainStats(iovirt.DOMAIN_STATS_BLOCK, iovirt.LIST_DOMAINS_ACTIVE) == []
    only = conn.getAllDomainStats(stats=iovirt.DOMAIN_STATS_STATE, flags=iovirt.LIST_DOMAINS_INACTIVE)
    assert len(only) == 3
