"""Fixtures for the tests of guests people use: a session iovirtd, run
in a private network namespace when a test needs host interfaces, and
helpers to define and start guests with iovsh and the real virsh."""

import os
import subprocess
import sys
import uuid

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import iovtest  # noqa: E402


class NetnsDaemon(iovtest.Daemon):
    """A session iovirtd (and so its QEMUs) inside network namespace `ns`."""

    def __init__(self, ns, **kw):
        super().__init__(**kw)
        self.ns = ns

    def start(self, timeout=15):
        real = iovtest.IOVIRTD
        wrapper = os.path.join(self.tmp, "iovirtd-in-netns")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\nexec ip netns exec %s %s \"$@\"\n" % (self.ns, real))
        os.chmod(wrapper, 0o755)
        iovtest.IOVIRTD = wrapper
        try:
            return super().start(timeout)
        finally:
            iovtest.IOVIRTD = real


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)


class Client:
    """iovsh and virsh against one daemon."""

    def __init__(self, daemon):
        self.d = daemon

    def iovsh(self, *args):
        return run([iovtest.IOVSH, "-c", self.d.uri] + list(args), env=self.d.env)

    def virsh(self, *args):
        return run(["virsh", "-c", self.d.libvirt_uri] + list(args))

    def ok(self, *args, virsh=False):
        r = self.virsh(*args) if virsh else self.iovsh(*args)
        assert r.returncode == 0, "%s %s: %s%s" % ("virsh" if virsh else "iovsh", args,
                                                   r.stdout, r.stderr)
        return r.stdout

    def fail(self, *args, virsh=False):
        r = self.virsh(*args) if virsh else self.iovsh(*args)
        assert r.returncode != 0, "%s %s succeeded: %s" % ("virsh" if virsh else "iovsh",
                                                            args, r.stdout)
        return r.stderr

    def define(self, name, xml, virsh=False):
        path = os.path.join(self.d.tmp, name + ".xml")
        with open(path, "w") as f:
            f.write(xml)
        return self.ok("define", path, virsh=virsh)

    def define_fails(self, name, xml, virsh=False):
        path = os.path.join(self.d.tmp, name + ".xml")
        with open(path, "w") as f:
            f.write(xml)
        return self.fail("define", path, virsh=virsh)

    def qemu_cmdline(self, name):
        """The argv of the QEMU running domain `name`."""
        with open(os.path.join(self.d.state_dir, name + ".pid")) as f:
            pid = int(f.read().strip())
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return [a.decode() for a in f.read().split(b"\0")[:-1]]

    def state(self, name):
        return self.ok("domstate", name).strip()


def cmdline(extra):
    return "console=ttyS0 quiet panic=-1 iov.after=idle " + extra


def libvirt_guest(name, serial, extra_cmdline, devices="", top="",
                  machine="pc-q35-7.2", disks=""):
    """A libvirt document (as virsh dumpxml writes one) booting the test
    kernel, with `top` after <os> and `devices` in <devices>."""
    return """<domain type='qemu'>
  <name>%(name)s</name>
  <uuid>%(uuid)s</uuid>
  <memory unit='KiB'>196608</memory>
  <currentMemory unit='KiB'>196608</currentMemory>
  <vcpu placement='static'>1</vcpu>
  <os>
    <type arch='x86_64' machine='%(machine)s'>hvm</type>
    <kernel>%(kernel)s</kernel>
    <initrd>%(initrd)s</initrd>
    <cmdline>%(cmdline)s</cmdline>
  </os>
%(top)s  <devices>
%(disks)s%(devices)s    <serial type='file'>
      <source path='%(serial)s'/>
      <target type='isa-serial' port='0'>
        <model name='isa-serial'/>
      </target>
    </serial>
    <controller type='pci' index='0' model='pcie-root'/>
    <input type='mouse' bus='ps2'/>
  </devices>
</domain>
""" % {"name": name, "uuid": str(uuid.uuid4()), "machine": machine,
       "kernel": iovtest.GUEST_KERNEL, "initrd": iovtest.GUEST_INITRD,
       "cmdline": cmdline(extra_cmdline), "top": top, "devices": devices,
       "disks": disks, "serial": serial}


@pytest.fixture(scope="module")
def daemon():
    d = iovtest.Daemon().start()
    yield d
    d.cleanup()


@pytest.fixture(scope="module")
def client(daemon):
    return Client(daemon)
