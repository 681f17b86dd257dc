"""Domain.listDisks (iovDomainListDisks): a domain's disks as the daemon
holds them, without its XML: each disk's target, its source as one string
(a path, the URL of a network disk, or '-' for a drive without a medium),
the group it shares and the groups it passes through, from the saved
definition and from the running guest (under fake-qemu), which may
differ; and the errors of a bad request."""

import os

import pytest

import iovirt
import iovtest

FAKE_QEMU = os.path.join(iovtest.BUILD_DIR, "tests", "fake-qemu")
KINDS = os.path.join(iovtest.SOURCE_DIR, "tests", "data", "xml2xml", "all-disk-kinds.in.xml")

RUNNING = ("<domain type='qemu'><name>ld1</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
           "<os><type>hvm</type><kernel>/nonexistent/kernel</kernel></os>"
           "<throttlegroups><throttlegroup name='shared' bps='1000'/>"
           "<throttlegroup name='cap' bps_rd='9000'/></throttlegroups><devices>"
           "<disk type='file'><source file='/nonexistent/a.img'/><target dev='vda'/>"
           "<iothrottle group='shared'/></disk>"
           "<disk type='file'><source file='/nonexistent/c.img'/><target dev='vdc'/>"
           "<iothrottle bps_rd='500'/><throttlefilters><throttlefilter group='cap'/>"
           "<throttlefilter group='shared'/></throttlefilters></disk>"
           "<disk type='file' device='cdrom'><target dev='sdc' bus='sata'/></disk>"
           "</devices></domain>")


@pytest.fixture(scope="module")
def daemon():
    d = iovtest.Daemon(config={"qemu_binary": FAKE_QEMU}).start()
    yield d
    d.cleanup()


def listed(dom, flags=0):
    return [(d["target"], d["source"], d["group"], d["filters"]) for d in dom.listDisks(flags)]


def test_every_kind_of_source_is_one_string(daemon):
    conn = iovirt.open(daemon.uri)
    with open(KINDS) as f:
        dom = conn.defineXML(f.read())
    try:
        assert listed(dom) == [
            ("vda", "/img/a,b.qcow2", "", []),
            ("vdb", "/dev/sdz", "", []),
            ("vdc", "nbd://127.0.0.1:10809/export1", "", []),
            ("vdd", "nbd+unix:///?socket=/run/nbd/disk.sock", "", []),
            ("vde", "http://mirror.example.org/images/base.raw", "", []),
            ("vdf", "https://mirror.example.org:8443/images/base.raw", "", []),
            ("vdg", "iscsi://10.0.0.7:3260/iqn.2013-07.com.example:storage/1", "", []),
            ("vdh", "rbd://mon1:6789/pool/image", "ceph", []),
            ("vdi", "rbd:///pool/image2", "ceph", []),
            ("sda", "/iso/install.iso", "", []),
        ]
        assert listed(dom, iovirt.AFFECT_CONFIG) == listed(dom)
        assert not any(d["unplug_pending"] for d in dom.listDisks())
        # shut off: there is no running guest to list
        with pytest.raises(iovirt.Error) as e:
            dom.listDisks(iovirt.AFFECT_LIVE)
        assert "is not running" in str(e.value)
    finally:
        dom.undefine()
        conn.close()


def test_the_running_guest_and_its_definition_are_listed_apart(daemon):
    conn = iovirt.open(daemon.uri)
    ro = iovirt.openReadOnly(daemon.uri_ro)
    dom = conn.defineXML(RUNNING)
    dom.create()
    try:
        both = [("vda", "/nonexistent/a.img", "shared", []),
                ("vdc", "/nonexistent/c.img", "", ["cap", "shared"]),
                ("sdc", "-", "", [])]
        assert listed(dom) == both
        assert listed(dom, iovirt.AFFECT_LIVE) == both
        # vdc leaves its groups in the running guest only
        dom.setDiskThrottleFilters("vdc", [], iovirt.AFFECT_LIVE)
        assert listed(dom, iovirt.AFFECT_LIVE)[1] == ("vdc", "/nonexistent/c.img", "", [])
        assert listed(dom)[1] == ("vdc", "/nonexistent/c.img", "", [])
        assert listed(dom, iovirt.AFFECT_CONFIG) == both
        # a read-only connection may list them
        assert listed(ro.lookupByName("ld1"), iovirt.AFFECT_LIVE)[0][0] == "vda"
        with pytest.raises(iovirt.Error) as e:
            dom.listDisks(iovirt.AFFECT_LIVE | iovirt.AFFECT_CONFIG)
        assert str(e.value).endswith(
            "the running guest's disks (live) and the saved ones (config) are listed "
            "separately: give one of them")
    finally:
        dom.destroy()
        dom.undefine()
        ro.close()
        conn.close()
