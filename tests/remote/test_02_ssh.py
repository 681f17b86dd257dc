"""ssh: a private sshd on 127.0.0.1 (its own host key, one authorized
key), and a real iovirtd behind it. iovsh and the Python module reach it
through iovirt-ssh-helper; the real virsh and python3-libvirt through
libvirt's own ssh transport with socket= (nc -U on the far side)."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import domain_xml, free_port, iovtest, run

IOVSH = iovtest.IOVSH
HELPER_DIR = os.path.join(iovtest.BUILD_DIR, "src", "remote")


class Sshd:
    """sshd -D on a free port of 127.0.0.1, for root with one key; the
    sessions it starts see `env` (PATH with iovirt-ssh-helper first, and
    the test daemon's XDG directories and HOME, so that the far side's
    shell reads none of root's start-up files)."""

    def __init__(self, env, helper_dir=HELPER_DIR):
        self.dir = tempfile.mkdtemp(prefix="iovirt-sshd-")
        self.port = free_port()
        self.hostkey = os.path.join(self.dir, "hostkey")
        self.key = os.path.join(self.dir, "clientkey")
        self.known_hosts = os.path.join(self.dir, "known_hosts")
        for k in (self.hostkey, self.key):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", k], check=True)
        shutil.copy(self.key + ".pub", os.path.join(self.dir, "authorized_keys"))
        with open(self.hostkey + ".pub") as f:
            hostpub = " ".join(f.read().split()[:2])
        with open(self.known_hosts, "w") as f:
            f.write("[127.0.0.1]:%d %s\n" % (self.port, hostpub))
        # sshd started as root refuses to run without its privilege
        # separation directory; the system's ssh service makes it when it
        # starts, and /run loses it at each boot
        if os.geteuid() == 0:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        setenv = " ".join("%s=%s" % kv for kv in sorted(env.items()))
        with open(os.path.join(self.dir, "sshd_config"), "w") as f:
            f.write("Port %d\nListenAddress 127.0.0.1\nHostKey %s\n"
                    "AuthorizedKeysFile %s/authorized_keys\nPidFile %s/sshd.pid\n"
                    "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
                    "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
                    "SetEnv PATH=%s:/usr/sbin:/usr/bin:/sbin:/bin %s\n" % (
                        self.port, self.hostkey, self.dir, self.dir, helper_dir, setenv))
        self.proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f",
                                      os.path.join(self.dir, "sshd_config")],
                                     stderr=open(os.path.join(self.dir, "sshd.log"), "w"))
        iovtest.kill_at_exit(self.proc.pid)
        deadline = time.monotonic() + 10
        import socket
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("sshd did not start: " + open(os.path.join(self.dir, "sshd.log")).read())
                time.sleep(0.05)

    def params(self):
        return "keyfile=%s&known_hosts=%s&no_tty=1" % (self.key, self.known_hosts)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def daemon():
    d = iovtest.Daemon(config={"qemu_binary": os.path.join(iovtest.BUILD_DIR, "tests", "fake-qemu")})
    d.start()
    path = os.path.join(d.tmp, "sshguest.xml")
    with open(path, "w") as f:
        f.write(domain_xml("sshguest"))
    r = run([IOVSH, "-c", d.uri, "define", path], d.env)
    assert r.returncode == 0, r.stderr
    try:
        yield d
    finally:
        d.cleanup()


@pytest.fixture(scope="module")
def sshd(daemon):
    s = Sshd({"XDG_RUNTIME_DIR": daemon.run_dir, "XDG_CONFIG_HOME": daemon.config_home,
              "HOME": daemon.home, "IOVIRTD": iovtest.IOVIRTD})
    try:
        yield s
    finally:
        s.stop()


def ssh_uri(scheme, sshd, extra=""):
    return "%s://root@127.0.0.1:%d/session?%s%s" % (scheme, sshd.port, sshd.params(), extra)


def test_iovsh_over_ssh_through_the_helper(daemon, sshd):
    for scheme in ("iovirt+ssh", "qemu+ssh"):
        u = ssh_uri(scheme, sshd)
        r = run([IOVSH, "-c", u, "list", "--all"], daemon.env)
        assert r.returncode == 0, r.stderr
        assert "sshguest" in r.stdout
        r = run([IOVSH, "-c", u, "blkiothrottle", "sshguest", "vda", "--bps_rd", "4242", "--config"],
                daemon.env)
        assert r.returncode == 0, r.stderr
        r = run([IOVSH, "-c", u, "-o", "json", "blkiothrottle", "sshguest", "vda", "--config"],
                daemon.env)
        assert '"bps_rd": 4242' in r.stdout, r
        r = run([IOVSH, "-c", u, "uri", "--transport"], daemon.env)
        assert r.stdout == "ssh\n"


def test_python_module_over_ssh(daemon, sshd):
    sys.path.insert(0, iovtest.PYTHON_MODULE_DIR)
    import iovirt
    with iovirt.open(ssh_uri("iovirt+ssh", sshd)) as c:
        d = c.lookupByName("sshguest")
        d.create()
        try:
            d.setBlockIoThrottle("vda", {"iops_wr": 33}, iovirt.AFFECT_LIVE | iovirt.AFFECT_CONFIG)
            assert d.blockIoThrottle("vda", iovirt.AFFECT_LIVE)["iops_wr"] == 33
        finally:
            d.destroy()


def test_virsh_over_ssh_with_socket(daemon, sshd):
    # libvirt hands known_hosts to its libssh transports only; its ssh
    # command checks the user's own file, which the test leaves alone
    u = ssh_uri("qemu+ssh", sshd, "&no_verify=1&socket=" + daemon.sock)
    r = run(["virsh", "-c", u, "list", "--all", "--name"], daemon.env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["sshguest"]
    r = run(["virsh", "-c", u, "start", "sshguest"], daemon.env)
    assert r.returncode == 0, r.stderr
    try:
        r = run(["virsh", "-c", u, "blkdeviotune", "sshguest", "vda", "--read-iops-sec", "77",
                 "--live", "--config"], daemon.env)
        assert r.returncode == 0, r.stderr
        r = run(["virsh", "-c", u, "blkdeviotune", "sshguest", "vda", "--live"], daemon.env)
        assert "read_iops_sec  : 77" in r.stdout, r.stdout
        r = run(["virsh", "-c", u, "dumpxml", "sshguest"], daemon.env)
        assert "<read_iops_sec>77</read_iops_sec>" in r.stdout, r.stdout
    finally:
        r = run(["virsh", "-c", u, "destroy", "sshguest"], daemon.env)
    assert r.returncode == 0, r.stderr


def test_python3_libvirt_over_ssh_with_socket(daemon, sshd):
    code = """
import libvirt, sys
c = libvirt.open(sys.argv[1])
print(c.getType(), [d.name() for d in c.listAllDomains()],
      c.lookupByName('sshguest').blockIoTune('vda', libvirt.VIR_DOMAIN_AFFECT_CONFIG)['read_bytes_sec'])
"""
    r = run(["/usr/bin/python3", "-c", code, ssh_uri("qemu+ssh", sshd, "&no_verify=1&socket=" + daemon.sock)],
            daemon.env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["QEMU", "['sshguest']", "4242"]


def test_no_helper_on_the_far_side(daemon):
    s = Sshd({"XDG_RUNTIME_DIR": daemon.run_dir, "HOME": daemon.home}, helper_dir="/nonexistent")
    try:
        r = run([IOVSH, "-c", ssh_uri("iovirt+ssh", s), "list"], daemon.env)
        assert r.returncode == 1
        assert "iovirt-ssh-helper: command not found" in r.stderr, r.stderr
        assert r.stderr.strip().splitlines()[-1].startswith("error: failed to connect to iovirt+ssh://"), r.stderr
    finally:
        s.stop()


def test_daemon_not_running_on_the_far_side(sshd, daemon):
    r = run([IOVSH, "-c", ssh_uri("iovirt+ssh", sshd, "&socket=/nonexistent/sock"), "list"],
            daemon.env)
    assert r.returncode == 1
    assert "iovirt-ssh-helper: Failed to connect socket to '/nonexistent/sock': No such file or directory" in r.stderr, r.stderr


def test_console_over_ssh(daemon, sshd):
    """The console's stream over ssh, from the Python module (iovirt's
    client, through iovirt-ssh-helper) and from python3-libvirt, of a
    guest whose serial port (fake-qemu's) sends 'x' without end."""
    sys.path.insert(0, iovtest.PYTHON_MODULE_DIR)
    import iovirt
    sock = os.path.join(daemon.tmp, "sshcons.console")
    xml = domain_xml("sshcons").replace(
        "</devices>", "<serial type='unix'><source mode='bind' path='%s'/></serial></devices>" % sock)
    code = """
import libvirt, sys
c = libvirt.open(sys.argv[1])
st = c.newStream(0)
c.lookupByName('sshcons').openConsole(None, st, 0)
got = b''
while len(got) < 300000:
    got += st.recv(65536)
st.abort()
print(len(got) >= 300000 and set(got) == {ord('x')})
"""
    with iovirt.open(ssh_uri("iovirt+ssh", sshd)) as c:
        d = c.defineXML(xml)
        d.create()
        try:
            iovtest.wait_for(lambda: os.path.exists(sock), what="the serial socket")
            st = c.newStream()
            d.openConsole(None, st)
            got = b""
            while len(got) < 300000:
                got += st.recv(65536)
            assert set(got) == {ord("x")}
            st.finish()
            r = run(["/usr/bin/python3", "-c", code,
                     ssh_uri("qemu+ssh", sshd, "&no_verify=1&socket=" + daemon.sock)], daemon.env)
            assert r.returncode == 0, r.stderr
            assert r.stdout.strip() == "True"
        finally:
            d.destroy()
            d.undefine()
