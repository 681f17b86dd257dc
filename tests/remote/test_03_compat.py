"""libvirt_sockets=1: a system iovirtd also listens on libvirt's own
socket paths, so the real virsh and python3-libvirt reach it with their
default URI, qemu:///system, and over qemu+ssh://host/system without
socket= (libvirt's virt-ssh-helper on the far side, a private sshd). Run in a private mount namespace with a
tmpfs over /run, /var/lib and /var/log, so that the host's sockets and
state are never touched (and a libvirtd of the host is never seen)."""

import os
import subprocess
import tempfile

from conftest import domain_xml, free_port, iovtest

SCRIPT = r"""
set -u
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /var/lib
mount -t tmpfs tmpfs /var/log
cd "$T"
printf '[iovirtd]\nlibvirt_sockets=1\nqemu_binary=%s\n' "$FAKE" > iovirtd.conf
if [ "${OCCUPY:-}" ]; then
    # a stand-in for a libvirtd holding the socket
    mkdir -p /run/libvirt
    /usr/bin/python3 -c 'import socket,sys,time; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(); time.sleep(60)' /run/libvirt/libvirt-sock &
    holder=$!
    trap 'kill $holder' EXIT
    for i in $(seq 100); do [ -S /run/libvirt/libvirt-sock ] && break; sleep 0.05; done
    "$IOVIRTD" --system --config iovirtd.conf
    echo "rc=$?"
    exit 0
fi
"$IOVIRTD" --system --config iovirtd.conf --log-file "$T/iovirtd.log" &
daemon=$!
trap 'kill $daemon; wait $daemon' EXIT
for i in $(seq 200); do [ -S /run/libvirt/libvirt-sock-ro ] && break; sleep 0.05; done
unset LIBVIRT_DEFAULT_URI
echo "== uri"; virsh uri
echo "== define"; virsh define "$T/compat.xml" >/dev/null && echo ok
echo "== list"; virsh list --all --name
echo "== start"; virsh start compatguest >/dev/null && echo ok
echo "== set"; virsh blkdeviotune compatguest vda --total-iops-sec 99 --live --config && echo ok
echo "== get"; virsh blkdeviotune compatguest vda --live | grep -E '^total_iops_sec +:'
echo "== destroy"; virsh destroy compatguest >/dev/null && echo ok
echo "== ro"; virsh -r blkdeviotune compatguest vda --total-iops-sec 1 --config 2>&1 | grep -c 'read only'
echo "== python"; /usr/bin/python3 -c 'import libvirt; c = libvirt.open(None); print(c.getURI(), [d.name() for d in c.listAllDomains()])'
echo "== ours"; "$IOVSH" -c iovirt:///system list --all | grep -c compatguest

# ssh as operators type it: no socket=, so the far side runs libvirt's
# virt-ssh-helper, which dials libvirt's socket: here, iovirtd's
mkdir -p /run/sshd "$T/home"
ssh-keygen -q -t ed25519 -N '' -f "$T/hostkey"
ssh-keygen -q -t ed25519 -N '' -f "$T/clientkey"
cp "$T/clientkey.pub" "$T/authorized_keys"
printf 'Port %s\nListenAddress 127.0.0.1\nHostKey %s/hostkey\nAuthorizedKeysFile %s/authorized_keys\nPidFile %s/sshd.pid\nPermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nSetEnv HOME=%s/home\n' \
    "$PORT" "$T" "$T" "$T" "$T" > "$T/sshd_config"
/usr/sbin/sshd -D -e -f "$T/sshd_config" 2>"$T/sshd.log" &
sshd=$!
trap 'kill $daemon $sshd; wait $daemon $sshd' EXIT
for i in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.05; done
U="qemu+ssh://root@127.0.0.1:$PORT/system?keyfile=$T/clientkey&no_verify=1&no_tty=1"
echo "== ssh list"; virsh -c "$U" list --all --name
echo "== ssh set"; virsh -c "$U" blkdeviotune compatguest vda --read-bytes-sec 5555 --config && echo ok
echo "== ssh python"; /usr/bin/python3 -c 'import libvirt, sys; c = libvirt.open(sys.argv[1]); print([d.name() for d in c.listAllDomains()], c.lookupByName("compatguest").blockIoTune("vda", 2)["read_bytes_sec"])' "$U"
echo "== ssh ours"; "$IOVSH" -c iovirt:///system -o json blkiothrottle compatguest vda --config | grep -c '"bps_rd": 5555'
"""


def run_ns(env_extra):
    t = tempfile.mkdtemp(prefix="iovirt-compat-")
    with open(os.path.join(t, "compat.xml"), "w") as f:
        f.write(domain_xml("compatguest"))
    env = dict(os.environ)
    env.update({"T": t, "IOVIRTD": iovtest.IOVIRTD, "IOVSH": iovtest.IOVSH,
                "FAKE": os.path.join(iovtest.BUILD_DIR, "tests", "fake-qemu"),
                "LD_LIBRARY_PATH": os.path.join(iovtest.BUILD_DIR, "src")})
    env["PORT"] = str(free_port())
    env.update(env_extra)
    try:
        r = subprocess.run(["unshare", "--mount", "--propagation", "private", "bash", "-c", SCRIPT],
                           capture_output=True, text=True, env=env, timeout=120)
    finally:
        subprocess.run(["rm", "-rf", t])
    return r


def sections(out):
    res, cur = {}, None
    for line in out.splitlines():
        if line.startswith("== "):
            cur = line[3:]
            res[cur] = []
        elif cur:
            res[cur].append(line)
    return {k: "\n".join(v).strip() for k, v in res.items()}


def test_virsh_and_python3_libvirt_reach_iovirtd_by_default():
    r = run_ns({})
    s = sections(r.stdout)
    assert s.get("uri") == "qemu:///system", r
    assert s["define"] == "ok" and s["start"] == "ok" and s["destroy"] == "ok", r
    assert s["list"].split() == ["compatguest"], r
    assert s["set"].strip() == "ok", r
    assert s["get"].split() == ["total_iops_sec", ":", "99"], r
    assert s["ro"] == "1", r
    assert s["python"] == "qemu:///system ['compatguest']", r
    # the guest virsh defined is iovirt's
    assert s["ours"] == "1", r


def test_virsh_and_python3_libvirt_over_ssh_without_socket():
    # libvirt's virt-ssh-helper (package libvirt-daemon) on the far side
    r = run_ns({})
    s = sections(r.stdout)
    assert s.get("ssh list", "").split() == ["compatguest"], r
    assert s["ssh set"] == "ok", r
    assert s["ssh python"] == "['compatguest'] 5555", r
    assert s["ssh ours"] == "1", r


def test_refused_while_another_server_holds_libvirts_socket():
    r = run_ns({"OCCUPY": "1"})
    assert r.stdout.strip().endswith("rc=1"), r
    assert r.stderr.strip().splitlines()[-1] == (
        "iovirtd: Requested operation is not valid: libvirt_sockets=1: cannot listen at "
        "'/run/libvirt/libvirt-sock': another server is listening there (is a libvirtd running?)"), r
