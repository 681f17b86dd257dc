"""Network interfaces on real QEMU: QEMU's user network (DHCP, a fetch
from the host, a port forward into the guest), taps on a bridge in a
private network namespace, and the starts that must fail cleanly."""

import functools
import http.server
import json
import os
import re
import socket
import subprocess
import threading
import urllib.request

import pytest

import iovtest
from conftest import Client, NetnsDaemon, libvirt_guest, run


def _arg_json(argv, opt, key=None):
    """The JSON value of the first `opt` of argv (that has `key`)."""
    found = [json.loads(argv[i + 1]) for i, a in enumerate(argv) if a == opt]
    return [f for f in found if key is None or key in f][0]


@pytest.fixture
def host_http(tmp_path):
    """An HTTP server on 127.0.0.1 serving file.txt (a fresh token)."""
    token = "HOST-FILE-" + os.urandom(4).hex()
    (tmp_path / "file.txt").write_text(token + "\n")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield server.server_address[1], token
    server.shutdown()
    server.server_close()


def test_user_network_gets_dhcp_fetches_from_host_and_forwards_a_port(daemon, client, host_http):
    hport, token = host_http
    fwd = iovtest.free_port()
    serial = os.path.join(daemon.tmp, "net1-serial.log")
    devices = """    <interface type='user'>
      <portForward proto='tcp' address='127.0.0.1'>
        <range start='%d' to='8080'/>
      </portForward>
      <model type='virtio'/>
      <backend type='passt'/>
    </interface>
""" % fwd
    xml = libvirt_guest("net1", serial, "iov.net=dhcp iov.httpd=8080 "
                        "iov.fetch=http://10.0.2.2:%d/file.txt" % hport, devices)
    client.define("net1", xml, virsh=True)
    # the MAC generated at define is kept: the same in every dump
    mac = re.search(r'<mac address="([0-9a-f:]+)"/>', client.ok("dumpxml", "net1")).group(1)
    assert mac.startswith("52:54:00:")
    client.ok("start", "net1")
    try:
        s = iovtest.Serial(serial)
        line = s.lines[s.wait_line("GUEST-NET", timeout=90)]
        assert line == "GUEST-NET ip=10.0.2.15/24 mac=%s" % mac
        s.wait_line("GUEST-HTTPD port=8080", timeout=30)
        # the host port reaches busybox httpd in the guest
        with urllib.request.urlopen("http://127.0.0.1:%d/hello" % fwd, timeout=20) as r:
            assert r.read().decode().startswith("GUEST-HTTP-OK from 10.0.2.15/24")
        # and the guest fetched the host's file through QEMU's user network
        line = s.lines[s.wait_line("GUEST-FETCH", timeout=60)]
        assert line == "GUEST-FETCH ok " + token
        argv = client.qemu_cmdline("net1")
        assert _arg_json(argv, "-netdev") == {
            "id": "netdev0", "type": "user",
            "hostfwd": [{"str": "tcp:127.0.0.1:%d-:8080" % fwd}]}
        assert _arg_json(argv, "-device", "netdev") == {
            "driver": "virtio-net-pci", "id": "net0", "netdev": "netdev0", "mac": mac}
        assert re.search(r'<mac address="%s"/>' % mac, client.ok("dumpxml", "net1"))
    finally:
        client.iovsh("destroy", "net1")


def test_port_forward_to_a_taken_port_fails_and_leaves_nothing_running(daemon, client):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    serial = os.path.join(daemon.tmp, "busy1-serial.log")
    devices = """    <interface type='user'>
      <portForward proto='tcp' address='127.0.0.1'><range start='%d' to='22'/></portForward>
    </interface>
""" % port
    client.define("busy1", libvirt_guest("busy1", serial, "", devices), virsh=True)
    try:
        err = client.fail("start", "busy1")
        assert "tcp:127.0.0.1:%d-:22" % port in err, err
        assert client.state("busy1") == "shut off"
        assert not os.path.exists(os.path.join(daemon.state_dir, "busy1.pid"))
    finally:
        busy.close()
        client.iovsh("undefine", "busy1")


def test_multicast_mac_is_refused_at_define(daemon, client):
    devices = "    <interface type='user'><mac address='01:00:5e:00:00:01'/></interface>\n"
    err = client.define_fails("mcast1", libvirt_guest("mcast1", "/tmp/x", "", devices), virsh=True)
    assert "interface 1: MAC address '01:00:5e:00:00:01' is a multicast address" in err
    assert "mcast1" not in client.ok("list", "--all")


NS = "iovt-%d" % os.getpid()


@pytest.fixture(scope="module")
def netns():
    """A network namespace with bridge br0 and two taps on it."""
    if os.geteuid() != 0:
        pytest.fail("the bridge tests need root (ip netns)")
    cmds = [["ip", "netns", "add", NS],
            ["ip", "-n", NS, "link", "add", "br0", "type", "bridge"],
            ["ip", "-n", NS, "tuntap", "add", "dev", "tapa", "mode", "tap"],
            ["ip", "-n", NS, "tuntap", "add", "dev", "tapb", "mode", "tap"],
            ["ip", "-n", NS, "link", "set", "tapa", "master", "br0"],
            ["ip", "-n", NS, "link", "set", "tapb", "master", "br0"]]
    cmds += [["ip", "-n", NS, "link", "set", d, "up"] for d in ("br0", "tapa", "tapb", "lo")]
    try:
        for c in cmds:
            r = run(c)
            assert r.returncode == 0, "%s: %s" % (c, r.stderr)
        d = NetnsDaemon(NS).start()
        yield d
        d.cleanup()
    finally:
        run(["ip", "netns", "del", NS])


def test_two_guests_on_one_bridge_exchange_a_file(netns):
    c = Client(netns)
    sa = os.path.join(netns.tmp, "bra-serial.log")
    sb = os.path.join(netns.tmp, "brb-serial.log")
    nic = """    <interface type='ethernet'>
      <mac address='%s'/>
      <target dev='%s' managed='no'/>
      <model type='virtio'/>
    </interface>
"""
    c.define("bra", libvirt_guest("bra", sa, "iov.net=10.9.0.1/24 iov.httpd=8080",
                                  nic % ("52:54:00:0a:00:01", "tapa")), virsh=True)
    c.define("brb", libvirt_guest("brb", sb, "iov.net=10.9.0.2/24 "
                                  "iov.fetch=http://10.9.0.1:8080/hello",
                                  nic % ("52:54:00:0a:00:02", "tapb")), virsh=True)
    c.ok("start", "bra")
    c.ok("start", "brb")
    try:
        a, b = iovtest.Serial(sa), iovtest.Serial(sb)
        assert a.lines[a.wait_line("GUEST-NET", timeout=90)] == \
            "GUEST-NET ip=10.9.0.1/24 mac=52:54:00:0a:00:01"
        line = b.lines[b.wait_line("GUEST-FETCH", timeout=90)]
        assert line == "GUEST-FETCH ok GUEST-HTTP-OK from 10.9.0.1/24"
        assert _arg_json(c.qemu_cmdline("bra"), "-netdev") == {
            "id": "netdev0", "type": "tap", "ifname": "tapa", "script": "no",
            "downscript": "no"}
    finally:
        c.iovsh("destroy", "bra")
        c.iovsh("destroy", "brb")


@pytest.mark.parametrize("nic,message", [
    ("<interface type='ethernet'><target dev='nosuch0' managed='no'/></interface>",
     "interface 1: tap device 'nosuch0' does not exist (an ethernet interface uses an existing tap)"),
    ("<interface type='bridge'><source bridge='nosuchbr'/></interface>",
     "interface 1: bridge 'nosuchbr' does not exist"),
    ("<interface type='bridge'><source bridge='br0'/></interface>",
     "interface 1: a bridge interface needs the system daemon (iovirt:///system): a session "
     "daemon would need qemu-bridge-helper, which Debian does not install setuid"),
])
def test_start_with_a_missing_tap_or_bridge_fails_and_leaves_nothing(netns, nic, message):
    c = Client(netns)
    c.define("bad1", libvirt_guest("bad1", "/dev/null", "", "    " + nic + "\n"), virsh=True)
    try:
        err = c.fail("start", "bad1")
        assert message in err
        assert c.state("bad1") == "shut off"
        assert not os.path.exists(os.path.join(netns.state_dir, "bad1.pid"))
        r = run(["ip", "-n", NS, "-o", "link", "show"])
        assert "iovt" not in r.stdout
    finally:
        c.iovsh("undefine", "bad1")


BRIDGE_SCRIPT = r"""
set -u
# a private /run, /var/lib and /var/log: the system daemon's paths
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /var/lib
mount -t tmpfs tmpfs /var/log
ip link set lo up
ip link add br0 type bridge
ip link set br0 up
"$IOVIRTD" --system --log-file "$T/iovirtd.log" &
DPID=$!
cleanup() {
    for f in /run/iovirt/qemu/*.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done
    kill "$DPID" 2>/dev/null
    wait "$DPID" 2>/dev/null
}
trap cleanup EXIT
n=0
while ! [ -S /run/iovirt/iovirt-sock ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
sh() { "$IOVSH" -c iovirt:///system "$@"; }
# libvirt documents: defined through a libvirt URI, as virsh does
vd() { virsh -q -c "qemu+unix:///system?socket=/run/iovirt/iovirt-sock" "$@"; }
vd define "$T/sysa.xml" >/dev/null && vd define "$T/sysb.xml" >/dev/null || exit 1
vd define "$T/sysbad.xml" >/dev/null || exit 1
echo "== bad"; sh start sysbad 2>&1
sh start sysa >/dev/null && sh start sysb >/dev/null || exit 1
echo "== taps"; ip -o link show master br0 | awk '{print $2}' | tr -d ':' | sed 's/@.*//' | sort
n=0
while ! grep -q '^GUEST-FETCH' "$T/sysb-serial.log" 2>/dev/null && [ $n -lt 900 ]; do
    sleep 0.1; n=$((n + 1))
done
echo "== fetch"; grep '^GUEST-FETCH' "$T/sysb-serial.log"
sh destroy sysa >/dev/null; sh destroy sysb >/dev/null
echo "== after"; ip -o link show | grep -c 'iovt' || true
"""


def test_bridge_interfaces_of_the_system_daemon_get_taps_that_go_with_qemu(tmp_path):
    """A system daemon (in a network namespace, with private /run,
    /var/lib and /var/log) makes each bridge interface a tap on br0,
    two guests exchange a file through it, and the taps go with QEMU."""
    if os.geteuid() != 0:
        pytest.fail("the system daemon test needs root")
    ns = "iovs-%d" % os.getpid()
    t = str(tmp_path)
    os.chmod(t, 0o755)
    nic = ("    <interface type='bridge'><mac address='%s'/><source bridge='%s'/>"
           "<model type='virtio'/></interface>\n")
    for name, mac, bridge, extra in (
            ("sysa", "52:54:00:0b:00:01", "br0", "iov.net=10.9.1.1/24 iov.httpd=8080"),
            ("sysb", "52:54:00:0b:00:02", "br0",
             "iov.net=10.9.1.2/24 iov.fetch=http://10.9.1.1:8080/hello"),
            ("sysbad", "52:54:00:0b:00:03", "nosuchbr", "")):
        with open(os.path.join(t, name + ".xml"), "w") as f:
            f.write(libvirt_guest(name, os.path.join(t, name + "-serial.log"), extra,
                                  nic % (mac, bridge)))
    env = dict(os.environ, T=t, IOVIRTD=iovtest.IOVIRTD, IOVSH=iovtest.IOVSH,
               LD_LIBRARY_PATH=os.path.join(iovtest.BUILD_DIR, "src"))
    assert run(["ip", "netns", "add", ns]).returncode == 0
    try:
        r = subprocess.run(["ip", "netns", "exec", ns, "unshare", "--mount", "--propagation",
                            "private", "bash", "-c", BRIDGE_SCRIPT],
                           capture_output=True, text=True, timeout=240, env=env)
    finally:
        run(["ip", "netns", "del", ns])
    out = r.stdout
    assert r.returncode == 0, out + r.stderr
    part = lambda name: out.split("== %s\n" % name)[1].split("==")[0].strip()  # noqa: E731
    assert part("bad") == "error: unsupported configuration: interface 1: bridge 'nosuchbr' does not exist"
    taps = part("taps").split("\n")
    assert len(taps) == 2 and all(re.fullmatch(r"iovt\d+\.0", x) for x in taps), taps
    assert part("fetch") == "GUEST-FETCH ok GUEST-HTTP-OK from 10.9.1.1/24"
    assert part("after") == "0"
