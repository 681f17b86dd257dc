"""Migration from the Python module, without a real guest: two daemons
whose guests run under fake-qemu. The job calls answer for a guest with
no migration; a migration the destination refuses (its disk's file is
not there) fails naming the file and leaves the guest running on the
source, free to change, and nothing on the destination; bad flags and
parameters are refused before anything starts. The migrations that move
a real guest are in tests/compat/test_migrate.py."""

import os

import pytest

import iovirt
import iovtest

FAKE_QEMU = os.path.join(iovtest.BUILD_DIR, "tests", "fake-qemu")

XML = ("<domain type='qemu'><name>mg1</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
       "<os><type>hvm</type><kernel>/nonexistent/kernel</kernel></os><devices>"
       "<disk type='file'><source file='/nonexistent/mg1.img'/><target dev='vda'/>"
       "<iothrottle bps_rd='1000'/></disk></devices></domain>")


@pytest.fixture(scope="module")
def pair():
    a = iovtest.Daemon(config={"qemu_binary": FAKE_QEMU}).start()
    b = iovtest.Daemon(config={"qemu_binary": FAKE_QEMU}).start()
    ca, cb = iovirt.open(a.uri), iovirt.open(b.uri)
    dom = ca.defineXML(XML)
    yield a, b, ca, cb, dom
    ca.close()
    cb.close()
    a.cleanup()
    b.cleanup()


def test_job_calls_with_no_migration(pair):
    a, b, ca, cb, dom = pair
    dom.create()
    assert dom.jobInfo() == [iovirt.DOMAIN_JOB_NONE] + [0] * 11
    assert dom.jobStats() == {"type": iovirt.DOMAIN_JOB_NONE}
    assert dom.jobStats(iovirt.DOMAIN_JOB_STATS_COMPLETED) == {"type": iovirt.DOMAIN_JOB_NONE}
    with pytest.raises(iovirt.Error) as e:
        dom.abortJob()
    assert e.value.code == iovirt.ERR_OPERATION_INVALID
    assert "no job is active" in str(e.value)


def destination_holds_nothing(b, cb):
    assert [d.name() for d in cb.listAllDomains()] == []
    assert b.qemu_pids() == []
    assert not [f for f in os.listdir(b.state_dir) if f.endswith(".xml")]


def test_a_refused_migration_leaves_the_guest_on_the_source(pair):
    a, b, ca, cb, dom = pair
    for call in (lambda: dom.migrateToURI3(b.uri, {}, iovirt.MIGRATE_LIVE),
                 lambda: dom.migrateToURI3(b.uri, {}, iovirt.MIGRATE_LIVE | iovirt.MIGRATE_PEER2PEER),
                 lambda: dom.migrate(cb, iovirt.MIGRATE_LIVE)):
        with pytest.raises(iovirt.Error) as e:
            call()
        assert "/nonexistent/mg1.img" in str(e.value)
        assert "same storage" in str(e.value)
        assert dom.isActive()
        destination_holds_nothing(b, cb)
        # the job was given back: the guest changes again
        dom.setBlockIoThrottle("vda", {"bps_rd": 2000}, iovirt.AFFECT_LIVE)
        assert dom.blockIoThrottle("vda")["bps_rd"] == 2000


def test_bad_flags_and_parameters_are_refused(pair):
    a, b, ca, cb, dom = pair
    with pytest.raises(iovirt.Error) as e:
        dom.migrateToURI3(b.uri, {"bandwidth": "1"}, iovirt.MIGRATE_LIVE)
    assert "migration parameter 'bandwidth' is not supported" in str(e.value)
    with pytest.raises(iovirt.Error) as e:
        dom.migrateToURI3(b.uri, {}, iovirt.MIGRATE_LIVE | (1 << 6))
    assert e.value.code == iovirt.ERR_ARGUMENT_UNSUPPORTED
    with pytest.raises(iovirt.Error) as e:
        dom.migrate(cb, iovirt.MIGRATE_PEER2PEER)
    assert "iovDomainMigrateToURI3" in str(e.value)
    with pytest.raises(TypeError):
        dom.migrateToURI3(b.uri, {"migrate_uri": 1})
    with pytest.raises(iovirt.Error) as e:
        dom.migrate(cb, 0, "othername")
    assert e.value.code == iovirt.ERR_ARGUMENT_UNSUPPORTED
    assert dom.isActive()
    destination_holds_nothing(b, cb)


def test_a_guest_that_does_not_run_does_not_migrate(pair):
    a, b, ca, cb, dom = pair
    dom.destroy()
    with pytest.raises(iovirt.Error) as e:
        dom.migrateToURI3(b.uri, {}, iovirt.MIGRATE_LIVE)
    assert "only a running guest migrates" in str(e.value)
    destination_holds_nothing(b, cb)
