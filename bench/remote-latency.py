#!/usr/bin/python3
"""remote-latency: what each transport adds to a call.

One session iovirtd, its state where the machine's temporary files are
(TMPDIR, else /tmp: ext4 on the machines this was written for), listening
on its unix sockets and for TLS
on 127.0.0.1, a private sshd on 127.0.0.1 in front of it, and one guest
under fake-qemu (a set is still a real QMP qom-set round trip, to a
process that answers at once). Through the Python module, in one run:
p50/p99 of a get and a set on one connection over unix, TLS and ssh, and
of opening a connection (open, one get, close). Prints a Markdown table
for bench/README.md.

    IOVIRT_BUILD_DIR=build /usr/bin/python3 bench/remote-latency.py [--calls N] [--opens N]

--calls N: the gets and the sets on each transport (2000 by default);
--opens N: the connections opened over unix and TLS (200 by default),
over ssh a quarter as many (at least 1: each takes about half a second).
`meson test -C build remote-latency-smoke` runs it with 20 calls and 4
opens.
"""

import argparse
import datetime
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "remote"))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))

import iovtest  # noqa: E402
import pki  # noqa: E402
from conftest import domain_xml, free_port, tls_config, uri  # noqa: E402
from test_02_ssh import Sshd  # noqa: E402

sys.path.insert(0, iovtest.PYTHON_MODULE_DIR)
import iovirt  # noqa: E402


def pct(v, p):
    v = sorted(v)
    return v[int((len(v) - 1) * p)]


def timed(fn, n):
    lat = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        lat.append((time.perf_counter() - t0) * 1e6)
    return pct(lat, 0.5), pct(lat, 0.99)


def fs_type(path):
    """The type of the filesystem holding `path`, from /proc/mounts."""
    best, kind = "", "?"
    real = os.path.realpath(path)
    with open("/proc/mounts") as f:
        for line in f:
            fields = line.split()
            mnt = fields[1]
            if (real == mnt or real.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best):
                best, kind = mnt, fields[2]
    return kind


def main():
    ap = argparse.ArgumentParser(prog="remote-latency",
                                 description="what each transport adds to a call")
    ap.add_argument("--calls", type=int, default=2000,
                    help="gets and sets on each transport (2000)")
    ap.add_argument("--opens", type=int, default=200,
                    help="connections opened over unix and TLS (200); over ssh, a quarter")
    args = ap.parse_args()
    for k in ("calls", "opens"):
        if getattr(args, k) < 1:
            ap.error("--%s must be at least 1" % k)
    calls = args.calls
    work = tempfile.mkdtemp(prefix="iovirt-bench-", dir=os.environ.get("TMPDIR", "/tmp"))
    p = pki.make_pki(os.path.join(work, "pki"))
    port = free_port()
    d = iovtest.Daemon(tmpdir=work, config=tls_config(p, port))
    d.start()
    s = Sshd({"XDG_RUNTIME_DIR": d.run_dir, "XDG_CONFIG_HOME": d.config_home, "HOME": d.home})
    try:
        with iovirt.open(d.uri) as c:
            c.defineXML(domain_xml("bench")).create()
        uris = [
            ("unix", d.uri),
            ("TLS", uri("iovirt+tls", port, p["pkipath"])),
            ("ssh", "iovirt+ssh://root@127.0.0.1:%d/session?%s" % (s.port, s.params())),
        ]
        rows = []
        for name, u in uris:
            c = iovirt.open(u)
            dom = c.lookupByName("bench")
            get = timed(lambda: dom.blockIoThrottle("vda", iovirt.AFFECT_LIVE), calls)
            val = [0]

            def setter():
                val[0] += 1
                dom.setBlockIoThrottle("vda", {"bps_rd": 1000 + val[0]}, iovirt.AFFECT_LIVE)
            st = timed(setter, calls)
            c.close()

            def oneshot():
                with iovirt.open(u) as cc:
                    cc.lookupByName("bench").blockIoThrottle("vda", iovirt.AFFECT_LIVE)
            op = timed(oneshot, max(1, args.opens // 4) if name == "ssh" else args.opens)
            rows.append((name, get, st, op))
        unix_get = rows[0][1][0]
        now = datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC")
        load = " ".join(open("/proc/loadavg").read().split()[:3])
        print("iovirtd per transport, %s, %d cores, load average %s; %d calls each, guest under"
              " fake-qemu, daemon state on %s (%s), Python module\n"
              % (now, os.cpu_count(), load, calls, fs_type(work), os.path.dirname(work)))
        print("| transport | get p50 | get p99 | set p50 | set p99 | open + get + close p50 | p99 |")
        print("|---|---|---|---|---|---|---|")
        for name, get, st, op in rows:
            print("| %s | %.0f µs | %.0f µs | %.0f µs | %.0f µs | %.2f ms | %.2f ms |" % (
                name, get[0], get[1], st[0], st[1], op[0] / 1000, op[1] / 1000))
        tls = rows[1]
        print("\n| goal | value | met |\n|---|---|---|")
        print("| TLS get p50 < 2 × unix get p50 | %.2f × | %s |" % (
            tls[1][0] / unix_get, "yes" if tls[1][0] < 2 * unix_get else "no"))
        print("| TLS set-up (open + get + close) < 10 ms | %.2f ms | %s |" % (
            tls[3][0] / 1000, "yes" if tls[3][0] < 10000 else "no"))
    finally:
        s.stop()
        d.cleanup()


if __name__ == "__main__":
    main()
