#!/usr/bin/python3
"""qmp-bytes: what each byte of a QMP command costs QEMU.

QEMU 7.2 reads a QMP command one byte per turn of its monitor thread's
loop. This bench starts one QEMU (no guest kernel, paused: nothing else
runs in it) with a throttle group, and sends it the same qom-set of the
group's limits in four spellings, in turns of 50: with the 16-byte id
iovirt used to send (`"id":"iov-1753"`), with a 6-byte numeric id,
without an id (as iovirtd sends it), each followed by a newline, and
without an id or a newline. For each it prints the command's
length, the p50 and p99 of the round trip (sent to reply read, one
blocking client), and the CPU the monitor thread used meanwhile. QEMU is
killed at the end, also on a failure.

    /usr/bin/python3 bench/qmp-bytes.py [--calls N]
"""

import datetime
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

FORMS = [
    ("16-byte id, newline (iovirtd at first)",
     '{"execute":"qom-set","arguments":{"path":"tg-vda","property":"limits",'
     '"value":{"bps-read":%d}},"id":"iov-1753"}\n'),
    ("6-byte id, newline",
     '{"execute":"qom-set","arguments":{"path":"tg-vda","property":"limits",'
     '"value":{"bps-read":%d}},"id":1753}\n'),
    ("no id, newline (iovirtd now)",
     '{"execute":"qom-set","arguments":{"path":"tg-vda","property":"limits",'
     '"value":{"bps-read":%d}}}\n'),
    ("no id, no newline",
     '{"execute":"qom-set","arguments":{"path":"tg-vda","property":"limits",'
     '"value":{"bps-read":%d}}}'),
]


def pct(v, p):
    v = sorted(v)
    return v[int((len(v) - 1) * p)]


def thread_ticks(pid, name):
    """User + system clock ticks of QEMU's threads called `name`."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
            st = f.read()
        if st[st.index("(") + 1:st.rindex(")")] != name:
            continue
        fields = st[st.rindex(")") + 2:].split()
        total += int(fields[11]) + int(fields[12])
    return total


def main():
    calls = 1000
    if "--calls" in sys.argv:
        calls = int(sys.argv[sys.argv.index("--calls") + 1])
    tmp = tempfile.mkdtemp(prefix="qmp-bytes-")
    sock_path = os.path.join(tmp, "qmp.sock")
    qemu = subprocess.Popen(
        ["qemu-system-x86_64", "-machine", "pc,accel=tcg", "-S", "-nodefaults",
         "-display", "none", "-name", "bench,debug-threads=on",
         "-object", "throttle-group,id=tg-vda,x-bps-read=1048576",
         "-qmp", "unix:%s,server=on,wait=off" % sock_path],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not os.path.exists(sock_path):
            if time.monotonic() > deadline or qemu.poll() is not None:
                sys.exit("QEMU did not create its monitor socket")
            time.sleep(0.02)
        s = socket.socket(socket.AF_UNIX)
        s.connect(sock_path)
        f = s.makefile("rb", buffering=0)

        def reply():
            while True:
                m = json.loads(f.readline())
                if "event" not in m:
                    return m

        reply()  # the greeting
        s.sendall(b'{"execute":"qmp_capabilities"}\n')
        reply()
        lat = {name: [] for name, _ in FORMS}
        ticks = {name: 0 for name, _ in FORMS}
        busy = {name: 0.0 for name, _ in FORMS}
        n = 0
        while n < calls:
            for name, form in FORMS:
                t0 = time.monotonic()
                k0 = thread_ticks(qemu.pid, "IO mon_iothread")
                for i in range(n, min(n + 50, calls)):
                    cmd = (form % (1048576 if i % 2 else 2097152)).encode()
                    t = time.perf_counter()
                    s.sendall(cmd)
                    r = reply()
                    lat[name].append((time.perf_counter() - t) * 1e6)
                    if "return" not in r:
                        sys.exit("QEMU refused the qom-set: %s" % r)
                ticks[name] += thread_ticks(qemu.pid, "IO mon_iothread") - k0
                busy[name] += time.monotonic() - t0
            n += 50
    finally:
        qemu.kill()
        qemu.wait()
        shutil.rmtree(tmp, ignore_errors=True)

    hz = os.sysconf("SC_CLK_TCK")
    with open("/proc/loadavg") as lf:
        load = " ".join(lf.read().split()[:3])
    print("QMP command length against QEMU's time, %s, %d cores, load average %s; "
          "qemu-system-x86_64 paused, no guest; %d commands each, in turns of 50\n"
          % (datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"), os.cpu_count(), load,
             calls))
    print("| qom-set of a group's limits | bytes | p50 | p99 | monitor thread's CPU |")
    print("|---|---|---|---|---|")
    for name, form in FORMS:
        size = len(form % 2097152)
        print("| %s | %d | %.0f µs | %.0f µs | %.0f %% |"
              % (name, size, pct(lat[name], 0.5), pct(lat[name], 0.99),
                 100.0 * ticks[name] / hz / busy[name]))
    # the first three differ only in their id: what a byte costs
    first = pct(lat[FORMS[0][0]], 0.5)
    third = pct(lat[FORMS[2][0]], 0.5)
    size0 = len(FORMS[0][1] % 2097152)
    size2 = len(FORMS[2][1] % 2097152)
    print("\nper byte (p50, the first form against the third): %.1f µs"
          % ((first - third) / (size0 - size2)))


if __name__ == "__main__":
    main()
