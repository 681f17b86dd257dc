#!/usr/bin/python3
"""startup-cost-smoke: bench/startup-cost once with tiny counts, its
daemon lines included (`meson test -C build startup-cost-smoke`).

startup-cost times the one-shot clients (the C get, iovsh's display) only
when given a daemon's URI and a running domain. This starts a session
iovirtd with one guest under fake-qemu (neither client sends anything to
QEMU), runs the bench against it with --runs 2, and exits with the
bench's status; its figures are not checked.

    IOVIRT_BUILD_DIR=build /usr/bin/python3 bench/startup-cost-smoke.py
"""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))

import iovtest  # noqa: E402

GUEST = ("<domain type='qemu'><name>startup</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
         "<os><kernel>/nonexistent/kernel</kernel></os><devices>"
         "<disk type='file'><source file='/nonexistent/startup.img'/><target dev='vda'/>"
         "<iothrottle bps_rd='1048576'/></disk></devices></domain>")


def main():
    fake_qemu = os.path.join(iovtest.BUILD_DIR, "tests", "fake-qemu")
    d = iovtest.Daemon(config={"qemu_binary": fake_qemu})
    d.start()
    try:
        xml = os.path.join(d.tmp, "startup.xml")
        with open(xml, "w") as f:
            f.write(GUEST)
        for cmd in (["define", xml], ["start", "startup"]):
            subprocess.run([iovtest.IOVSH, "-c", d.uri] + cmd, check=True,
                           stdout=subprocess.DEVNULL)
        bench = [os.path.join(HERE, "startup-cost"), "--runs", "2", d.uri, "startup"]
        env = dict(os.environ, IOVIRT_BUILD_DIR=iovtest.BUILD_DIR)
        rc = subprocess.run(bench, env=env).returncode
    finally:
        d.cleanup()
    if rc != 0:
        print("startup-cost-smoke: bench/startup-cost exited with %d" % rc, file=sys.stderr)
    return rc


if __name__ == "__main__":
    sys.exit(main())
