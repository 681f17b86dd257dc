"""The real virsh (libvirt-clients 9.0) drives iovirtd over libvirt's
remote protocol: qemu+unix:///session?socket=.../iovirt-sock."""

import re
import subprocess

import iovtest


def virsh(daemon, *args, check=True, readonly=False):
    uri = daemon.libvirt_uri_ro if readonly else daemon.libvirt_uri
    p = subprocess.run(["virsh", "-q", "-c", uri] + list(args), capture_output=True, text=True,
                       timeout=60)
    if check and p.returncode != 0:
        raise AssertionError("virsh %s failed: %s" % (" ".join(args), p.stderr))
    return p


def tune(daemon, dom, disk, *flags):
    """blkdeviotune's display as a dict."""
    out = virsh(daemon, "blkdeviotune", dom, disk, *flags).stdout
    values = {}
    for line in out.splitlines():
        m = re.match(r"^(\w+)\s*: (.*)$", line)
        if m:
            values[m.group(1)] = m.group(2)
    return values


def test_list_all_shows_the_defined_guest(daemon, guest):
    out = virsh(daemon, "list", "--all").stdout
    assert re.search(r"-\s+compat1\s+shut off", out), out


def test_dumpxml_has_iotune(daemon, guest):
    out = virsh(daemon, "dumpxml", "compat1").stdout
    assert "<name>compat1</name>" in out
    assert re.search(r"<iotune>\s*<read_bytes_sec>2097152</read_bytes_sec>\s*</iotune>", out), out


def test_blkdeviotune_config_on_a_shut_off_guest(daemon, guest):
    # shut off: CURRENT means the definition
    assert tune(daemon, "compat1", "vdb")["total_iops_sec"] == "0"
    virsh(daemon, "blkdeviotune", "compat1", "vdb", "--total-iops-sec", "300", "--config")
    assert tune(daemon, "compat1", "vdb", "--config")["total_iops_sec"] == "300"
    p = virsh(daemon, "blkdeviotune", "compat1", "vdb", "--live", check=False)
    assert p.returncode != 0
    assert "domain 'compat1' is not running" in p.stderr


def test_start_and_list(daemon, guest):
    virsh(daemon, "start", "compat1")
    iovtest.kill_at_exit(daemon.qemu_pids()[0])
    out = virsh(daemon, "list").stdout
    assert re.search(r"\d+\s+compat1\s+running", out), out
    assert virsh(daemon, "domstate", "compat1").stdout.strip() == "running"


def test_blkdeviotune_display_in_libvirt_order(daemon, guest):
    out = virsh(daemon, "blkdeviotune", "compat1", "vda").stdout
    names = [l.split(":")[0].strip() for l in out.splitlines() if ":" in l]
    assert names == ["total_bytes_sec", "read_bytes_sec", "write_bytes_sec", "total_iops_sec",
                     "read_iops_sec", "write_iops_sec", "total_bytes_sec_max",
                     "read_bytes_sec_max", "write_bytes_sec_max", "total_iops_sec_max",
                     "read_iops_sec_max", "write_iops_sec_max", "size_iops_sec", "group_name",
                     "total_bytes_sec_max_length", "read_bytes_sec_max_length",
                     "write_bytes_sec_max_length", "total_iops_sec_max_length",
                     "read_iops_sec_max_length", "write_iops_sec_max_length"]
    assert "read_bytes_sec : 2097152" in out


def test_blkdeviotune_live_change_is_in_force(daemon, guest):
    serial = guest["serial"]
    serial.wait_sample(0, 5, timeout=60)
    iovtest.assert_rate("vda at 2 MiB/s, before virsh", serial.rate(0, 2, 5), 2 * iovtest.MiB)
    virsh(daemon, "blkdeviotune", "compat1", "vda", "--read-bytes-sec", "5M", "--live")
    assert tune(daemon, "compat1", "vda")["read_bytes_sec"] == "5242880"
    # the definition is untouched by --live
    assert tune(daemon, "compat1", "vda", "--config")["read_bytes_sec"] == "2097152"
    last = max(s[1] for s in serial.samples if s[0] == 0)
    serial.wait_sample(0, last + 5, timeout=30)
    iovtest.assert_rate("vda after virsh set 5 MiB/s", serial.rate(0, last + 3, last + 5),
                        5 * iovtest.MiB)


def test_blkdeviotune_total_with_read_is_refused(daemon, guest):
    p = virsh(daemon, "blkdeviotune", "compat1", "vda", "--total-bytes-sec", "1M",
              "--read-bytes-sec", "1M", "--live", check=False)
    assert p.returncode == 1
    assert "error: Unable to change block I/O throttle" in p.stderr
    assert "bps (1048576) and bps_rd (1048576) cannot both be set" in p.stderr
    assert tune(daemon, "compat1", "vda")["read_bytes_sec"] == "5242880"


def test_blkdeviotune_config_on_a_running_guest(daemon, guest):
    virsh(daemon, "blkdeviotune", "compat1", "vda", "--total-bytes-sec", "10M", "--config")
    assert tune(daemon, "compat1", "vda", "--config")["total_bytes_sec"] == "10485760"
    assert tune(daemon, "compat1", "vda", "--config")["read_bytes_sec"] == "0"
    live = tune(daemon, "compat1", "vda", "--live")
    assert live["total_bytes_sec"] == "0" and live["read_bytes_sec"] == "5242880"


def test_blkdeviotune_readonly_is_refused(daemon, guest):
    p = virsh(daemon, "blkdeviotune", "compat1", "vda", "--total-bytes-sec", "1M", check=False,
              readonly=True)
    assert p.returncode == 1
    assert "read only access" in p.stderr
    # reading works read-only
    out = virsh(daemon, "blkdeviotune", "compat1", "vda", readonly=True).stdout
    assert "read_bytes_sec : 5242880" in out


def test_domblkstat_counts_the_guest_reads(daemon, guest):
    out = virsh(daemon, "domblkstat", "compat1", "vda").stdout
    stats = dict(l.split()[1:3] for l in out.splitlines() if l.strip())
    assert int(stats["rd_bytes"]) > 4 * iovtest.MiB
    assert int(stats["rd_req"]) > 64  # virsh prints rd_operations as rd_req


def test_dominfo(daemon, guest):
    out = virsh(daemon, "dominfo", "compat1").stdout
    assert re.search(r"State:\s+running", out)
    assert re.search(r"Max memory:\s+196608 KiB", out)


def test_destroy(daemon, guest):
    virsh(daemon, "destroy", "compat1")
    out = virsh(daemon, "list", "--all").stdout
    assert re.search(r"-\s+compat1\s+shut off", out), out
    # the saved change is what the next boot gets
    assert tune(daemon, "compat1", "vda")["total_bytes_sec"] == "10485760"
