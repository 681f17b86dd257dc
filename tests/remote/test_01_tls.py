"""TLS: the real virsh and python3-libvirt, iovsh and the Python module
reach a real iovirtd over TLS on 127.0.0.1, with certificates made by
certtool; every refusal says why in one line."""

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from conftest import DN, domain_xml, free_port, iovtest, pki, run, tls_config, uri

IOVSH = iovtest.IOVSH


@pytest.fixture(scope="module")
def guest(tlsd):
    """A guest defined through the daemon's unix socket, so that seeing it
    over TLS proves TLS reached this very daemon."""
    path = os.path.join(tlsd.tmp, "tlsguest.xml")
    with open(path, "w") as f:
        f.write(domain_xml("tlsguest"))
    r = run([IOVSH, "-c", tlsd.uri, "define", path], tlsd.env)
    assert r.returncode == 0, r.stderr
    return "tlsguest"


def virsh(tlsd, pkidir, *args, ro=False):
    argv = ["virsh"] + (["-r"] if ro else []) + ["-c", uri("qemu+tls", tlsd.port, pkidir["pkipath"])]
    return run(argv + list(args), tlsd.env)


def iovsh(tlsd, u, *args):
    return run([IOVSH, "-c", u] + list(args), tlsd.env)


def test_virsh_over_tls_lists_and_reads_the_guest(tlsd, pkidir, guest):
    r = virsh(tlsd, pkidir, "list", "--all", "--name")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [guest]
    r = virsh(tlsd, pkidir, "dumpxml", guest)
    assert r.returncode == 0 and "<name>tlsguest</name>" in r.stdout, r
    # the daemon logged who came in
    with open(tlsd.log_file) as f:
        assert "is '%s'" % DN in f.read()


def test_virsh_over_tls_starts_tunes_and_destroys(tlsd, pkidir, guest):
    r = virsh(tlsd, pkidir, "start", guest)
    assert r.returncode == 0, r.stderr
    try:
        r = virsh(tlsd, pkidir, "blkdeviotune", guest, "vda", "--total-bytes-sec", "4096",
                  "--live", "--config")
        assert r.returncode == 0, r.stderr
        for flag in ("--live", "--config"):
            r = virsh(tlsd, pkidir, "blkdeviotune", guest, "vda", flag)
            assert r.returncode == 0, r.stderr
            assert "total_bytes_sec: 4096" in r.stdout.replace(" ", "").replace(":", ": "), r.stdout
    finally:
        r = virsh(tlsd, pkidir, "destroy", guest)
    assert r.returncode == 0, r.stderr
    r = virsh(tlsd, pkidir, "domstate", guest)
    assert r.stdout.strip() == "shut off"


def test_readonly_tls_connection_is_refused_every_write(tlsd, pkidir, guest):
    r = virsh(tlsd, pkidir, "blkdeviotune", guest, "vda", ro=True)
    assert r.returncode == 0, r.stderr
    r = virsh(tlsd, pkidir, "blkdeviotune", guest, "vda", "--total-bytes-sec", "1", "--config",
              ro=True)
    assert r.returncode != 0
    assert "read only" in r.stderr or "read-only" in r.stderr, r.stderr


def test_python3_libvirt_over_tls(tlsd, pkidir, guest):
    code = """
import libvirt, sys
c = libvirt.open(sys.argv[1])
d = c.lookupByName(sys.argv[2])
d.setBlockIoTune('vda', {'read_bytes_sec': 2048}, libvirt.VIR_DOMAIN_AFFECT_CONFIG)
print(c.getURI(), d.blockIoTune('vda', libvirt.VIR_DOMAIN_AFFECT_CONFIG)['read_bytes_sec'],
      [x.name() for x in c.listAllDomains()])
c.close()
"""
    u = uri("qemu+tls", tlsd.port, pkidir["pkipath"])
    r = run(["/usr/bin/python3", "-c", code, u, guest], tlsd.env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [u, "2048", "['tlsguest']"]


def test_iovsh_over_tls_in_both_spellings(tlsd, pkidir, guest):
    for scheme in ("iovirt+tls", "qemu+tls"):
        u = uri(scheme, tlsd.port, pkidir["pkipath"])
        r = iovsh(tlsd, u, "blkiothrottle", guest, "vda", "--bps_wr", "777", "--config")
        assert r.returncode == 0, r.stderr
        r = iovsh(tlsd, u, "-o", "json", "blkiothrottle", guest, "vda", "--config")
        assert r.returncode == 0, r.stderr
        assert '"bps_wr": 777' in r.stdout
        r = iovsh(tlsd, u, "uri")
        assert r.stdout == u + "\n"
        r = iovsh(tlsd, u, "uri", "--transport")
        assert r.stdout == "tls\n"


@pytest.mark.skipif(not iovtest.IOVSH_STATIC, reason="iovsh links GLib as a shared library")
def test_tls_module_in_a_static_iovsh_takes_glib_from_iovsh(tlsd, pkidir, guest):
    u = uri("iovirt+tls", tlsd.port, pkidir["pkipath"])
    r = run([IOVSH, "-c", u, "blkiothrottle", guest, "vda", "--config"],
            dict(tlsd.env, LD_DEBUG="bindings"))
    assert r.returncode == 0, r.stderr[-2000:]
    assert "bps_rd" in r.stdout
    bound = iovtest.module_bindings(r.stderr, "iovirt-tls.so")
    glib = {s: o for s, o in bound.items() if s.startswith("g_")}
    gnutls = {s: o for s, o in bound.items() if s.startswith("gnutls_")}
    assert "g_malloc0" in glib and gnutls, bound
    # GLib from iovsh's copy (the one the rest of the process uses), GnuTLS
    # from its library
    assert set(glib.values()) == {iovtest.MODULE_HOST}, glib
    assert set(gnutls.values()) == {"libgnutls.so.30"}, gnutls


def test_python_module_over_tls(tlsd, pkidir, guest):
    sys.path.insert(0, iovtest.PYTHON_MODULE_DIR)
    import iovirt
    with iovirt.open(uri("iovirt+tls", tlsd.port, pkidir["pkipath"])) as c:
        d = c.lookupByName(guest)
        d.setBlockIoThrottle("vda", {"iops": 55}, iovirt.AFFECT_CONFIG)
        assert d.blockIoThrottle("vda", iovirt.AFFECT_CONFIG)["iops"] == 55


def test_iovsh_qemu_unix_spelling(tlsd):
    r = iovsh(tlsd, "qemu+unix:///session?socket=" + tlsd.sock, "list", "--all")
    assert r.returncode == 0, r.stderr
    r = iovsh(tlsd, "qemu+unix:///session?socket=" + tlsd.sock, "uri", "--transport")
    assert r.stdout == "unix\n"


# ---- refusals, one line each ----

def refused(tlsd, pkipath, host="127.0.0.1", port=None):
    r = iovsh(tlsd, uri("iovirt+tls", port or tlsd.port, pkipath, host=host), "list")
    assert r.returncode == 1 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    return lines[0]


def client_pki(pkidir, name, ca=None, **kw):
    ca = ca or pkidir["ca"]
    d = os.path.join(pkidir["dir"], name)
    c = pki.make_cert(ca, d + "-certs", "client", "client", kw.pop("cn", "iovirt test client"), **kw)
    return pki.pkipath(d, pkidir["ca"] if kw.get("trust_own", True) else ca, c)


def test_client_certificate_from_an_unknown_ca_is_refused(tlsd, pkidir):
    other = pki.make_ca(os.path.join(pkidir["dir"], "other-ca"), cn="another CA")
    path = client_pki(pkidir, "unknown-ca", ca=other)
    msg = refused(tlsd, path)
    assert msg.endswith("authentication failed: the client certificate '%s' is refused: it is not signed by a trusted CA" % DN), msg
    # virsh checks its own certificate against its CA file before dialling
    r = run(["virsh", "-c", uri("qemu+tls", tlsd.port, path), "list"], tlsd.env)
    assert r.returncode != 0 and "hasn't got a known issuer" in r.stderr, r.stderr


def test_expired_client_certificate_is_refused(tlsd, pkidir):
    path = client_pki(pkidir, "expired", days=-1)
    msg = refused(tlsd, path)
    assert msg.endswith("is refused: it has expired"), msg


def test_revoked_client_certificate_is_refused(pkidir):
    d = os.path.join(pkidir["dir"], "revoked")
    c = pki.make_cert(pkidir["ca"], d + "-certs", "client", "client", "iovirt test client")
    crl = pki.make_crl(pkidir["ca"], d + "-crl", [c])
    path = pki.pkipath(d, pkidir["ca"], c)
    port = free_port()
    daemon = iovtest.Daemon(config=tls_config(pkidir, port, crl_file=crl))
    daemon.start()
    try:
        msg = refused(daemon, path, port=port)
        assert msg.endswith("the client certificate '%s' is refused: it has been revoked" % DN), msg
        # the CRL names that certificate only
        r = iovsh(daemon, uri("iovirt+tls", port, pkidir["pkipath"]), "list")
        assert r.returncode == 0, r.stderr
    finally:
        daemon.cleanup()


def test_client_dn_not_allowed_is_refused(tlsd, pkidir):
    path = client_pki(pkidir, "stranger", cn="a stranger")
    msg = refused(tlsd, path)
    assert msg.endswith("the client certificate 'O=iovirt tests,CN=a stranger' is refused: its DN is not in tls_allowed_dn_list"), msg
    with open(tlsd.log_file) as f:
        assert "refused a TLS client: authentication failed: the client certificate 'O=iovirt tests,CN=a stranger'" in f.read()
    # libvirt's client reads the refusal as a failed confirmation
    r = run(["virsh", "-c", uri("qemu+tls", tlsd.port, path), "list"], tlsd.env)
    assert r.returncode != 0
    assert "server verification (of our certificate or IP address) failed" in r.stderr, r.stderr


def test_server_certificate_from_an_unknown_ca_is_refused(tlsd, pkidir):
    other = pki.make_ca(os.path.join(pkidir["dir"], "other-ca2"), cn="yet another CA")
    d = os.path.join(pkidir["dir"], "trusts-other")
    pki.pkipath(d, other, pkidir["client"])
    msg = refused(tlsd, d)
    assert "the server certificate 'O=iovirt tests,CN=localhost' is refused: it is not signed by a trusted CA" in msg, msg


def test_host_not_named_in_the_server_certificate_is_refused(pkidir):
    server = pki.make_cert(pkidir["ca"], os.path.join(pkidir["dir"], "elsewhere"), "server", "server",
                           "elsewhere.example", hosts=("elsewhere.example",))
    port = free_port()
    d = iovtest.Daemon(config=tls_config(pkidir, port, cert_file=server["cert"], key_file=server["key"]))
    d.start()
    try:
        msg = refused(d, pkidir["pkipath"], port=port)
        assert "the server certificate 'O=iovirt tests,CN=elsewhere.example' does not name the host '127.0.0.1'" in msg, msg
    finally:
        d.cleanup()


def daemon_fails(pkidir, **cfg):
    d = iovtest.Daemon(config=tls_config(pkidir, free_port(), **cfg))
    try:
        with pytest.raises(RuntimeError) as e:
            d.start(timeout=10)
        lines = d.stderr().strip().splitlines()
        assert len(lines) == 1, d.stderr()
        return lines[0]
    finally:
        d.cleanup()


def test_daemon_refuses_a_world_readable_server_key(pkidir):
    server = pki.make_cert(pkidir["ca"], os.path.join(pkidir["dir"], "loose"), "server", "server",
                           "localhost", hosts=("127.0.0.1",))
    os.chmod(server["key"], 0o644)
    msg = daemon_fails(pkidir, key_file=server["key"])
    assert msg == ("iovirtd: unsupported configuration: the private key '%s' may be read by its group or others (mode 644); make it 0600"
                   % server["key"]), msg


def test_daemon_refuses_a_key_that_is_not_the_certificates(pkidir):
    msg = daemon_fails(pkidir, key_file=pkidir["client"]["key"])
    assert msg.startswith("iovirtd: unsupported configuration: cannot load the certificate '%s' with the key '%s': " % (
        pkidir["server"]["cert"], pkidir["client"]["key"])), msg


def test_daemon_not_running(tlsd, pkidir):
    msg = refused(tlsd, pkidir["pkipath"], port=free_port())
    assert "unable to connect to server at '127.0.0.1:" in msg and "Connection refused" in msg, msg


# ---- limits and liveness ----

def test_handshake_that_never_starts_is_closed_after_the_timeout(tlsd):
    s = socket.create_connection(("127.0.0.1", tlsd.port))
    s.settimeout(8)
    t0 = time.monotonic()
    assert s.recv(1) == b""
    assert 1.5 <= time.monotonic() - t0 < 5
    s.close()


def test_clients_in_the_handshake_are_limited(tlsd, pkidir):
    # max_anonymous_clients=3: three silent peers fill it; virsh waits in
    # the backlog, and is served as soon as one of them goes
    silent = [socket.create_connection(("127.0.0.1", tlsd.port)) for _ in range(3)]
    time.sleep(0.3)
    t0 = time.monotonic()
    p = subprocess.Popen(["virsh", "-c", uri("qemu+tls", tlsd.port, pkidir["pkipath"]), "list",
                          "--all", "--name"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=tlsd.env)
    try:
        time.sleep(0.7)
        assert p.poll() is None, "virsh was served while the handshake slots were full"
        silent.pop().close()
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, err
    assert out.split() == ["tlsguest"]
    # the silent ones are closed by the handshake timeout (2 s)
    for s in silent:
        s.settimeout(5)
        assert s.recv(1) == b""
        s.close()
    assert time.monotonic() - t0 < 5


def test_a_stopped_virsh_is_dropped_by_keepalive(tlsd, pkidir):
    # keepalive_interval=1, keepalive_count=2: gone within 3 s (+1 s of check)
    p = subprocess.Popen(["virsh", "-c", uri("qemu+tls", tlsd.port, pkidir["pkipath"])],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=tlsd.env)
    try:
        time.sleep(1.0)
        with open(tlsd.log_file) as f:
            before = f.read().count("keepalive PINGs: closing it")
        p.send_signal(signal.SIGSTOP)
        t0 = time.monotonic()
        while time.monotonic() - t0 < 6:
            with open(tlsd.log_file) as f:
                if f.read().count("keepalive PINGs: closing it") > before:
                    break
            time.sleep(0.1)
        took = time.monotonic() - t0
        assert 2.0 <= took < 5.0, took
    finally:
        p.send_signal(signal.SIGCONT)
        p.kill()
        p.wait()


def test_a_stopped_daemon_gives_iovirt_clients_an_error(pkidir):
    sys.path.insert(0, iovtest.PYTHON_MODULE_DIR)
    import iovirt
    port = free_port()
    d = iovtest.Daemon(config=tls_config(pkidir, port))
    d.start()
    try:
        c = iovirt.open(uri("iovirt+tls", port, pkidir["pkipath"],
                            extra="&keepalive_interval=1&keepalive_count=2"))
        d.proc.send_signal(signal.SIGSTOP)
        t0 = time.monotonic()
        with pytest.raises(iovirt.Error) as e:
            c.listAllDomains()
        took = time.monotonic() - t0
        assert 2.5 <= took < 4.5, took
        assert "no answer from the server for 3 s (keepalive)" in str(e.value)
    finally:
        d.proc.send_signal(signal.SIGCONT)
        d.cleanup()
