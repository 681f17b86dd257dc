"""What a definition asks of the guest, on real QEMU: each element of a
libvirt document reaches QEMU's command line and shows in the guest where
it can; machine types pc and q35 boot; a qcow2 overlay reads its raw base
with the disk's limit in force over the whole chain."""

import os
import re
import subprocess
import time

import iovtest
from conftest import libvirt_guest


def _wait_state(client, name, want, timeout=90):
    deadline = time.monotonic() + timeout
    while True:
        st = client.state(name)
        if st == want:
            return
        assert time.monotonic() < deadline, "%s stayed %r, not %r" % (name, st, want)
        time.sleep(0.2)


def test_libvirt_platform_elements_reach_qemu_and_the_guest(daemon, client):
    """One guest reboots (on_reboot destroy: it ends), one powers off
    (on_poweroff preserve: it stays, paused); both carry the other
    elements, checked in QEMU's command line."""
    top = """  <features>
    <acpi/>
    <apic/>
    <vmport state='off'/>
  </features>
  <pm>
    <suspend-to-mem enabled='no'/>
    <suspend-to-disk enabled='no'/>
  </pm>
  <cpu mode='custom' match='exact' check='partial'>
    <model fallback='forbid'>Nehalem</model>
  </cpu>
  <clock offset='localtime'>
    <timer name='rtc' tickpolicy='catchup'/>
    <timer name='pit' tickpolicy='delay'/>
    <timer name='hpet' present='no'/>
  </clock>
  %s
  <on_crash>destroy</on_crash>
"""
    devices = """    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <memballoon model='virtio'>
      <address type='pci' domain='0x0000' bus='0x05' slot='0x00' function='0x0'/>
    </memballoon>
"""
    guests = {"plat-reboot": ("reboot", "<on_reboot>destroy</on_reboot>",
                              "reboot=shutdown,panic=shutdown"),
              "plat-poweroff": ("poweroff", "<on_poweroff>preserve</on_poweroff>",
                                "shutdown=pause,panic=shutdown")}
    serials = {}
    for name, (after, action, _) in guests.items():
        serials[name] = os.path.join(daemon.tmp, name + "-serial.log")
        xml = libvirt_guest(name, serials[name], "iov.cpu=1 iov.after=" + after, devices,
                            top % action)
        client.define(name, xml, virsh=True)
    try:
        argvs = {}
        for name in guests:
            client.ok("start", name)
            argvs[name] = client.qemu_cmdline(name)
        for name, argv in argvs.items():
            assert argv[0] == "/usr/bin/qemu-system-x86_64"
            assert argv[argv.index("-machine") + 1] == "pc-q35-7.2,accel=tcg,hpet=off,vmport=off"
            assert argv[argv.index("-cpu") + 1] == "Nehalem"
            assert argv[argv.index("-rtc") + 1] == "base=localtime,driftfix=slew"
            globals_ = [argv[i + 1] for i, a in enumerate(argv) if a == "-global"]
            assert globals_ == ["ICH9-LPC.disable_s3=1", "ICH9-LPC.disable_s4=1",
                                "kvm-pit.lost_tick_policy=delay"]
            assert argv[argv.index("-action") + 1] == guests[name][2]
            assert '{"driver":"pvpanic","id":"panic0"}' in argv
            assert '{"driver":"virtio-balloon-pci","id":"balloon0"}' in argv
        # the CPU model reaches the guest
        s = iovtest.Serial(serials["plat-reboot"])
        assert "Nehalem" in s.lines[s.wait_line("GUEST-CPU", timeout=90)]
        # on_reboot destroy: the guest's reboot ends it
        s.wait_line("GUEST-AFTER action=reboot", timeout=90)
        _wait_state(client, "plat-reboot", "shut off")
        s.poll()
        assert sum(1 for l in s.lines if l.startswith("GUEST-BOOT")) == 1
        # on_poweroff preserve: the powered-off guest is kept, paused
        s = iovtest.Serial(serials["plat-poweroff"])
        s.wait_line("GUEST-AFTER action=poweroff", timeout=90)
        _wait_state(client, "plat-poweroff", "paused")
        assert os.path.exists(os.path.join(daemon.state_dir, "plat-poweroff.pid"))
        # dominfo lists what the import dropped, by XPath and why
        info = client.ok("dominfo", "plat-reboot")
        assert re.search(r"^Dropped: +/domain/currentMemory \(equal to memory\)$", info, re.M)
        assert re.search(r"^ +/domain/devices/controller \(controller: ", info, re.M)
        assert re.search(r"^ +/domain/devices/memballoon/address \(device address", info, re.M)
    finally:
        for name in guests:
            client.iovsh("destroy", name)


def _plain_guest(name, serial, machine, disks, extra, features=""):
    return """<domain type='qemu'>
  <name>%s</name>
  <memory unit='MiB'>192</memory>
  <os>
    <type arch='x86_64' machine='%s'>hvm</type>
    <kernel>%s</kernel>
    <initrd>%s</initrd>
    <cmdline>console=ttyS0 quiet panic=-1 iov.after=idle %s</cmdline>
  </os>
%s  <devices>
%s    <serial type='file'><source path='%s'/></serial>
  </devices>
</domain>
""" % (name, machine, iovtest.GUEST_KERNEL, iovtest.GUEST_INITRD, extra, features, disks,
       serial)


def test_machine_types_pc_and_q35_boot(daemon, client):
    def disks(name):
        img = iovtest.make_image(os.path.join(daemon.tmp, name + ".img"), 8 * iovtest.MiB, 0)
        iso = iovtest.make_image(os.path.join(daemon.tmp, name + ".iso"), iovtest.MiB, 0)
        return iovtest.file_disk("vda", img) + (
            "    <disk type='file' device='cdrom'><source file='%s'/>"
            "<target dev='sda' bus='sata'/></disk>\n" % iso)
    cases = {"m-pc": ("pc", "pc,accel=tcg,acpi=off", "  <features><apic/></features>\n"),
             "m-q35": ("q35", "q35,accel=tcg", "")}
    try:
        for name, (machine, _, features) in cases.items():
            serial = os.path.join(daemon.tmp, name + "-serial.log")
            client.define(name, _plain_guest(name, serial, machine, disks(name), "", features))
            client.ok("start", name)
        for name, (machine, arg, _) in cases.items():
            argv = client.qemu_cmdline(name)
            assert argv[argv.index("-machine") + 1] == arg
            s = iovtest.Serial(os.path.join(daemon.tmp, name + "-serial.log"))
            line = s.lines[s.wait_line("GUEST-DISKS", timeout=90)]
            assert line == "GUEST-DISKS vda=%d" % (8 * iovtest.MiB)
            s.wait_line("GUEST-READY", timeout=30)
        # pc has no AHCI of its own: the sata cdrom gets one
        assert '{"driver":"ich9-ahci","id":"sata"}' in client.qemu_cmdline("m-pc")
    finally:
        for name in cases:
            client.iovsh("destroy", name)


def test_qcow2_overlay_reads_its_raw_base_under_the_disk_limit(daemon, client):
    base = os.path.join(daemon.tmp, "base.raw")
    overlay = os.path.join(daemon.tmp, "overlay.qcow2")
    iovtest.make_image(base, 32 * iovtest.MiB)
    with open(base, "r+b") as f:
        f.write(b"IOVIRT-BASE-DATA-0123456789abcd")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", base, "-F", "raw", overlay],
                   check=True)
    serial = os.path.join(daemon.tmp, "ovl-serial.log")
    shared = iovtest.make_image(os.path.join(daemon.tmp, "shared.raw"), 4 * iovtest.MiB, 0)
    disk = ("    <disk type='file'><driver name='qemu' type='qcow2'/><source file='%s'/>"
            "<target dev='vda'/><serial>OVL-0001</serial>"
            "<iothrottle bps_rd='2097152'/></disk>\n" % overlay)
    disk += ("    <disk type='file'><driver name='qemu' type='raw'/><source file='%s'/>"
             "<target dev='vdb'/><shareable/></disk>\n" % shared)
    client.define("ovl", _plain_guest("ovl", serial, "q35", disk,
                                      "iov.peek=vda iov.probe=read:vda:bs=64k:time=6"))
    client.ok("start", "ovl")
    try:
        s = iovtest.Serial(serial)
        # the serial number reaches the guest
        assert s.lines[s.wait_line("GUEST-SERIALS", timeout=90)] == "GUEST-SERIALS vda=OVL-0001"
        # a shareable disk can be opened for writing by a second QEMU meanwhile
        other = subprocess.run(
            ["qemu-io", "-c", "write -P 0x5a 0 4k", "--image-opts",
             "driver=raw,file.driver=file,file.filename=%s,file.locking=auto" % shared],
            capture_output=True, text=True, timeout=60)
        assert other.returncode == 0 and "Failed to get" not in other.stderr, other.stderr
        line = s.lines[s.wait_line("GUEST-PEEK", timeout=90)]
        assert line == "GUEST-PEEK vda IOVIRT-BASE-DATA-0123456789abcd"
        s.wait_line("IOVPROBE-END job=0", timeout=60)
        iovtest.assert_rate("overlay reads", s.rate(0, first=2), 2097152)
        # the running definition shows the chain qemu-img found
        live = client.ok("dumpxml", "ovl")
        assert re.search(r'<backingStore type="file">\s*<format type="raw"/>\s*'
                         r'<source file="%s"/>\s*<backingStore/>' % re.escape(base), live)
    finally:
        client.iovsh("destroy", "ovl")

    # a <backingStore> that is not the image's chain: the start fails
    wrong = disk.replace("<serial>", "<backingStore type='file'><format type='raw'/>"
                         "<source file='/nonexistent/base.raw'/><backingStore/></backingStore>"
                         "<serial>")
    client.define("ovl", _plain_guest("ovl", serial, "q35", wrong, ""))
    err = client.fail("start", "ovl")
    assert ("disk 'vda': <backingStore> names '/nonexistent/base.raw' (raw) where the image "
            "chain of '%s' has '%s' (raw)" % (overlay, base)) in err
    assert client.state("ovl") == "shut off"
    assert not os.path.exists(os.path.join(daemon.state_dir, "ovl.pid"))


def test_emulator_that_is_not_executable_is_refused(daemon, client):
    xml = libvirt_guest("emu1", "/dev/null", "",
                        "    <emulator>/nonexistent/qemu-system-x86_64</emulator>\n")
    err = client.define_fails("emu1", xml, virsh=True)
    assert "emulator '/nonexistent/qemu-system-x86_64' is not an executable file" in err
