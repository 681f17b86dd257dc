"""The interactive shell, driven through tmux: type a command and read the
screen, Tab-complete commands, guest names, disk targets and options,
Ctrl-C, errors that do not end the shell, the history (kept across
sessions, searched with Ctrl-R), the read-only prompt and `connect`.
Guests are defined, not started."""

import os
import time

import pytest

from conftest import Guest, Tmux


@pytest.fixture(scope="module")
def guest(daemon, sh):
    return Guest(daemon, "tabguest", [("vda", "<iothrottle bps_rd='2097152'/>"), ("vdb", "")]).define(sh)


@pytest.fixture(scope="module")
def other(daemon, sh):
    return Guest(daemon, "zeta", [("vda", "")]).define(sh)


@pytest.fixture
def term(daemon, guest, other):
    t = Tmux(daemon)
    try:
        t.wait("iovsh #")
        yield t
    finally:
        t.kill()


def run(t, text):
    """Type a command, press Enter and wait for the next prompt; returns
    what the command printed."""
    before = t.screen().rstrip().count("iovsh #")
    t.type(text)
    t.keys("Enter")
    s = t.wait(lambda s: s.rstrip().count("iovsh #") > before and s.rstrip().endswith("iovsh #"),
               what="the prompt after %r" % text)
    body = s.rstrip().rsplit("iovsh # " + text, 1)[1]
    return body.rsplit("iovsh #", 1)[0].strip("\n")


def test_banner_and_prompt(term):
    s = term.screen()
    assert "Welcome to iovsh" in s and "'help'" in s
    assert term.line() == "iovsh #"


def test_type_a_command_and_read_the_screen(term, guest):
    out = run(term, "blkiothrottle %s vda" % guest.name)
    lines = out.splitlines()
    assert lines[0].startswith("bps ") and len(lines) == 20
    assert "bps_rd             : 2097152 bytes/s (2 MiB/s)" in lines


def test_tab_completes_a_guest_name(term, guest):
    term.type("dominfo tab")
    term.keys("Tab")
    term.wait(lambda s: s.rstrip().endswith("iovsh # dominfo %s" % guest.name), what="the completed name")
    term.keys("Enter")
    s = term.wait("Name:           %s" % guest.name)
    assert "State:          shut off" in s


def test_tab_lists_the_guests_when_ambiguous(term, guest, other):
    term.type("domstate ")
    term.keys("Tab", "Tab")
    s = term.wait(lambda s: any(guest.name in line and other.name in line for line in s.splitlines()),
                  what="the list of guests")
    assert s.rstrip().endswith("iovsh # domstate"), s


def test_tab_completes_a_command(term):
    term.type("blkioth")
    term.keys("Tab")
    term.wait(lambda s: s.rstrip().endswith("iovsh # blkiothrottle"), what="the command")


def test_tab_completes_disk_targets(term, guest):
    term.type("blkiothrottle %s vd" % guest.name)
    term.keys("Tab", "Tab")
    s = term.wait(lambda s: "vda  vdb" in s or "vda vdb" in s, what="the disks")
    term.type("a --config")
    term.keys("Enter")
    term.wait("bps_rd             : 2097152 bytes/s (2 MiB/s)")


def test_tab_completes_options(term, guest):
    term.type("blkiothrottle %s vda --bps_wr_m" % guest.name)
    term.keys("Tab")
    term.wait(lambda s: s.rstrip().endswith("--bps_wr_max"), what="the option")
    term.keys("Tab", "Tab")
    s = term.wait("--bps_wr_max_length", what="the options")
    assert "--bps_wr_max " in s or "--bps_wr_max\n" in s or "--bps_wr_max  " in s


def test_ctrl_c_abandons_the_line(term):
    term.type("list --al")
    term.keys("C-c")
    term.wait(lambda s: s.rstrip().endswith("list --al^C\niovsh #"), what="a fresh prompt")
    out = run(term, "domstate tabguest")
    assert out == "shut off"


def test_errors_do_not_end_the_shell(term, guest):
    assert run(term, "blkiothrotle") == "error: unknown command 'blkiothrotle'; did you mean 'blkiothrottle'?"
    assert run(term, "blkiothrottle %s vda --bps 1.5M" % guest.name).startswith(
        "error: invalid value '1.5M' for option --bps: ")
    assert run(term, "blkiothrottle nosuch vda") == (
        "error: Domain not found: no domain with matching name 'nosuch'")
    assert run(term, "domstate 'unterminated").startswith("error: cannot parse the line:")
    assert run(term, "domstate %s" % guest.name) == "shut off"


def test_dash_o_json_in_the_shell(term, guest):
    out = run(term, "blkiothrottle %s vda -o json" % guest.name)
    assert out.startswith("{") and '"bps_rd": 2097152' in out


def test_set_in_the_shell_and_read_back(term, sh, guest):
    assert run(term, "blkiothrottle %s vdb --iops 42" % guest.name) == (
        "Limits of disk 'vdb' of domain '%s' changed (config)." % guest.name)
    assert sh.throttle(guest.name, "vdb")["iops"] == 42
    run(term, "blkiothrottle %s vdb --iops 0" % guest.name)


def test_history_is_kept_across_sessions_and_searchable(daemon, guest):
    history = os.path.join(daemon.home, ".cache", "iovsh", "history")
    t = Tmux(daemon)
    try:
        t.wait("iovsh #")
        run(t, "domstate %s --reason" % guest.name)
        run(t, "uri")
        t.type("quit")
        t.keys("Enter")
        for _ in range(100):
            if not t.alive():
                break
            time.sleep(0.05)
        assert not t.alive()
    finally:
        t.kill()
    with open(history) as f:
        lines = f.read().splitlines()
    assert lines[-3:] == ["domstate %s --reason" % guest.name, "uri", "quit"]

    t = Tmux(daemon)
    try:
        t.wait("iovsh #")
        t.keys("Up", "Up")
        t.wait(lambda s: s.rstrip().endswith("iovsh # uri"), what="the previous command")
        t.keys("C-c")
        t.wait(lambda s: s.rstrip().endswith("^C\niovsh #"), what="a fresh prompt")
        t.keys("C-r")
        t.type("--rea")
        t.wait("(reverse-i-search)`--rea': domstate %s --reason" % guest.name)
        t.keys("Enter")
        t.wait("shut off (unknown)")
    finally:
        t.kill()


def test_read_only_shell_has_its_prompt_and_cannot_change(daemon, guest):
    t = Tmux(daemon, "-r")
    try:
        t.wait("iovsh (read-only) #")
        t.type("blkiothrottle %s vda --bps_rd 1" % guest.name)
        t.keys("Enter")
        t.wait("error: operation forbidden: read only access")
    finally:
        t.kill()


def test_connect_and_uri(term, daemon):
    out = run(term, "connect %s --readonly" % daemon.uri_ro)
    assert out == ""
    assert run(term, "uri") == daemon.uri_ro  # as opened
    assert run(term, "blkiothrottle tabguest vda --iops 1").startswith("error: operation forbidden")
    out = run(term, "connect iovirt+unix:///session?socket=/nonexistent/sock")
    assert out.startswith("error: failed to connect to iovirt+unix:///session?socket=/nonexistent/sock")
    run(term, "connect %s" % daemon.uri)
    assert run(term, "domstate tabguest") == "shut off"


def test_help_in_the_shell(term):
    out = run(term, "help")
    assert "blkiothrottle   show or change the I/O limits of a disk" in out
    out = run(term, "help blkdeviotune")
    assert "--total-bytes-sec" in out


def test_end_of_input_leaves_the_shell(term):
    term.keys("C-d")
    for _ in range(100):
        if not term.alive():
            break
        time.sleep(0.05)
    assert not term.alive()


def test_the_shell_reconnects_after_the_daemon_restarts(daemon, guest):
    t = Tmux(daemon)
    try:
        t.wait("iovsh #")
        assert run(t, "domstate %s" % guest.name) == "shut off"
        daemon.stop()
        out = run(t, "domstate %s" % guest.name)
        assert out.startswith("error: ") and "the next command opens a new one" in out, out
        daemon.start()
        assert run(t, "domstate %s" % guest.name) == "shut off"
    finally:
        t.kill()
