"""Fixtures of the remote tests: a PKI made with certtool, a session
iovirtd listening for TLS on a free port of 127.0.0.1 whose guests run
under fake-qemu (no guest boots), and helpers to run the real virsh,
python3-libvirt and iovsh against it.

Everything is started by the tests and stopped when the file ends, also
on failure (module fixtures, and iovtest's atexit/SIGTERM handlers).
"""

import os
import socket
import subprocess
import sys
import tempfile

import pytest

_HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("IOVIRT_SOURCE_DIR", os.path.abspath(os.path.join(_HERE, "..", "..")))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "lib"))

import iovtest  # noqa: E402
import pki  # noqa: E402

FAKE_QEMU = os.path.join(iovtest.BUILD_DIR, "tests", "fake-qemu")
DN = "O=iovirt tests,CN=iovirt test client"


def free_port():
    """A TCP port of 127.0.0.1 nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def domain_xml(name):
    """A guest for fake-qemu: nothing of it is ever read."""
    return ("<domain type='qemu'><name>%s</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
            "<os><type>hvm</type><kernel>/nonexistent/kernel</kernel></os><devices>"
            "<disk type='file'><source file='/nonexistent/%s.img'/><target dev='vda'/>"
            "<iothrottle bps_rd='1000'/></disk></devices></domain>" % (name, name))


def tls_config(p, port, **extra):
    cfg = {
        "qemu_binary": FAKE_QEMU,
        "listen_tls": 1,
        "listen_addr": "127.0.0.1",
        "tls_port": port,
        "ca_file": p["ca"]["cert"],
        "cert_file": p["server"]["cert"],
        "key_file": p["server"]["key"],
        "tls_allowed_dn_list": DN + ";CN=nobody*",
    }
    cfg.update(extra)
    return cfg


@pytest.fixture(scope="module")
def pkidir():
    d = tempfile.mkdtemp(prefix="iovirt-pki-")
    p = pki.make_pki(d)
    p["dir"] = d
    yield p
    subprocess.run(["rm", "-rf", d])


@pytest.fixture(scope="module")
def tlsd(pkidir):
    """A daemon listening for TLS; .port, .tls_uri(kind, **params)."""
    port = free_port()
    d = iovtest.Daemon(config=tls_config(pkidir, port, keepalive_interval=1, keepalive_count=2,
                                         tls_handshake_timeout=2, max_anonymous_clients=3))
    d.start()
    d.port = port
    try:
        yield d
    finally:
        d.cleanup()


def uri(scheme, port, pkipath, path="session", host="127.0.0.1", extra=""):
    return "%s://%s:%d/%s?pkipath=%s%s" % (scheme, host, port, path, pkipath, extra)


def run(argv, env, timeout=60, input=None):
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout,
                          input=input)
