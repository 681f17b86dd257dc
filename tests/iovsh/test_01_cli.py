"""iovsh's command line: usage, help, suggestions, argument errors, the
connection options, commands read from stdin, the man page, the bash
completion and what meson installs. No guest runs here."""

import os
import re
import subprocess
import tempfile

import pytest

from conftest import FIELDS, IOVSH, Guest, iovtest

BUILD_DIR = iovtest.BUILD_DIR
SOURCE_DIR = iovtest.SOURCE_DIR

COMMANDS = ["list", "define", "undefine", "start", "suspend", "resume", "shutdown", "destroy",
            "dumpxml", "domstate", "dominfo", "event", "console", "domblklist", "domblkstat", "blkiothrottle",
            "blkdeviotune", "top", "attach-disk", "attach-device", "detach-disk", "detach-device",
            "detach-device-alias", "change-media", "update-device", "domthrottlegroupset",
            "domthrottlegroupinfo", "domthrottlegrouplist", "domthrottlegroupdel",
            "domblkcheck", "qemu-monitor-command", "migrate", "domjobinfo", "domjobabort", "help", "connect", "uri", "version", "quit", "exit"]

# every option of every command (without --output/--help, which all have)
OPTIONS = {
    "list": ["--all", "--inactive"],
    "top": ["--once", "--count N"],
    "domthrottlegroupset": ["DOMAIN", "GROUP", "--bps N", "--bps_rd N", "--iops_max_length SECONDS",
                            "--iops_size N", "--current", "--live", "--config"],
    "domthrottlegroupinfo": ["DOMAIN", "GROUP", "--current", "--live", "--config"],
    "domthrottlegrouplist": ["DOMAIN", "--current", "--live", "--config"],
    "domthrottlegroupdel": ["DOMAIN", "GROUP", "--current", "--live", "--config"],
    "domblkcheck": ["DOMAIN", "--seconds N"],
    "qemu-monitor-command": ["DOMAIN", "CMD", "--pretty", "--return-value", "--hmp"],
    "migrate": ["DOMAIN", "DEST-URI", "--live", "--p2p", "--persistent", "--undefinesource",
                "--suspend"],
    "domjobinfo": ["DOMAIN", "--completed"],
    "domjobabort": ["DOMAIN"],
    "define": ["FILE"],
    "undefine": ["DOMAIN"],
    "start": ["DOMAIN", "--paused"],
    "suspend": ["DOMAIN"],
    "resume": ["DOMAIN"],
    "shutdown": ["DOMAIN", "--wait[=SECONDS]"],
    "destroy": ["DOMAIN"],
    "dumpxml": ["DOMAIN", "--inactive"],
    "domstate": ["DOMAIN", "--reason"],
    "dominfo": ["DOMAIN"],
    "event": ["DOMAIN", "--event NAME", "--loop", "--timeout SECONDS", "--timestamp"],
    "console": ["DOMAIN", "--force", "--devname NAME"],
    "domblklist": ["DOMAIN", "--inactive"],
    "domblkstat": ["DOMAIN", "DEVICE", "--watch", "--count N"],
    "blkiothrottle": ["DOMAIN", "DEVICE", "--current", "--live", "--config"]
    + ["--" + f for f, _ in FIELDS],
    "blkdeviotune": ["DOMAIN", "DEVICE", "--current", "--live", "--config"]
    + ["--" + a.replace("_", "-") for _, a in FIELDS],
    "attach-disk": ["DOMAIN", "SOURCE", "TARGET", "--type TYPE", "--format FORMAT",
                    "--cache MODE", "--readonly", "--throttle-groups G1,G2", "--current", "--live", "--config",
                    "--persistent"] + ["--" + f for f, _ in FIELDS],
    "attach-device": ["DOMAIN", "FILE", "--current", "--live", "--config", "--persistent"],
    "detach-disk": ["DOMAIN", "TARGET", "--current", "--live", "--config", "--persistent"],
    "detach-device": ["DOMAIN", "FILE", "--current", "--live", "--config", "--persistent"],
    "detach-device-alias": ["DOMAIN", "ALIAS", "--current", "--live", "--config",
                            "--persistent"],
    "change-media": ["DOMAIN", "TARGET", "SOURCE", "--eject", "--insert", "--update",
                     "--current", "--live", "--config", "--persistent"],
    "update-device": ["DOMAIN", "FILE", "--current", "--live", "--config", "--persistent",
                      "--force"],
    "help": ["COMMAND"],
    "connect": ["URI", "--readonly"],
    "uri": ["--transport"],
    "version": [],
    "quit": [],
    "exit": [],
}


@pytest.fixture(scope="module")
def guest(daemon, sh):
    return Guest(daemon, "cli1", [("vda", "<iothrottle bps='1048576'/>"), ("vdb", "")]).define(sh)


def test_usage_with_dash_h_exits_0(sh):
    out = sh.ok("--help", uri=False)
    assert out.startswith("usage: iovsh [OPTIONS] [COMMAND [ARGS...]]")
    for opt in ("--connect URI", "--readonly", "--output FMT", "--version"):
        assert opt in out


def test_version_option_prints_the_version(sh):
    assert re.fullmatch(r"iovsh \d+\.\d+\.\d+\n", sh.ok("-V", uri=False))


def test_unknown_global_option_is_refused(sh):
    assert sh.fail("--frob", "list", uri=False) == "error: unknown option '--frob'; see 'iovsh --help'"


def test_global_option_without_value_is_refused(sh):
    assert sh.fail("-c", uri=False) == "error: option -c needs a value"


def test_unknown_output_format_is_refused(sh):
    assert sh.fail("-o", "yaml", "list") == "error: unknown output format 'yaml': use json or text"


def test_help_lists_every_command_once(sh):
    out = sh.ok("help", uri=False)
    listed = re.findall(r"^    (\S+)\s+\S", out, re.M)
    assert sorted(listed) == sorted(COMMANDS)
    assert "__complete" not in out


@pytest.mark.parametrize("command", sorted(OPTIONS))
def test_help_command_lists_every_option_with_a_line_of_text(sh, command):
    out = sh.ok("help", command, uri=False)
    assert out.startswith("  NAME\n    %s - " % command)
    options = out.split("  OPTIONS\n", 1)[1]
    for opt in OPTIONS[command]:
        m = re.search(r"^    (?:\[--\w+\] )?%s +(\S.*)$" % re.escape(opt), options, re.M)
        assert m, "%s: option %s not listed:\n%s" % (command, opt, options)
        assert len(m.group(1)) > 5
    assert "--help" in options


def test_help_of_blkiothrottle_names_both_spellings(sh):
    out = sh.ok("help", "blkiothrottle", uri=False)
    for name, _ in FIELDS:
        if "_" in name:
            assert "--" + name.replace("_", "-") in out


def test_help_of_blkdeviotune_names_both_spellings(sh):
    out = sh.ok("help", "blkdeviotune", uri=False)
    for _, alias in FIELDS:
        assert "--" + alias in out


def test_dash_dash_help_of_a_command_is_its_help(sh):
    assert sh.ok("blkiothrottle", "--help", uri=False) == sh.ok("help", "blkiothrottle", uri=False)


def test_unknown_command_suggests_the_nearest(sh):
    assert sh.fail("blkiothrotle", "g", "vda", uri=False) == (
        "error: unknown command 'blkiothrotle'; did you mean 'blkiothrottle'?")
    assert sh.fail("lsit", uri=False) == "error: unknown command 'lsit'; did you mean 'list'?"


def test_unknown_command_far_from_any_points_to_help(sh):
    assert sh.fail("frobnicate", uri=False) == "error: unknown command 'frobnicate'; 'help' lists the commands"


def test_help_of_unknown_command_suggests_the_nearest(sh):
    assert sh.fail("help", "domifno", uri=False) == "error: unknown command 'domifno'; did you mean 'dominfo'?"


def test_unknown_option_suggests_the_nearest(sh):
    assert sh.fail("list", "--al", uri=False) == "error: command 'list' has no option '--al'; did you mean --all?"
    assert sh.fail("blkiothrottle", "d", "vda", "--bsp_rd", "1", uri=False) == (
        "error: command 'blkiothrottle' has no option '--bsp_rd'; did you mean --bps_rd?")
    assert sh.fail("blkdeviotune", "d", "vda", "--total-byte-sec", "1", uri=False) == (
        "error: command 'blkdeviotune' has no option '--total-byte-sec'; did you mean --total-bytes-sec?")


def test_single_dash_long_option_suggests_the_double_dash(sh):
    assert sh.fail("list", "-all", uri=False) == "error: command 'list' has no option '-all'; did you mean --all?"


@pytest.mark.parametrize("args,missing", [
    (["blkiothrottle"], "DOMAIN"),
    (["blkiothrottle", "g1"], "DEVICE"),
    (["blkdeviotune", "g1"], "DEVICE"),
    (["start"], "DOMAIN"),
    (["define"], "FILE"),
    (["domblkstat"], "DOMAIN"),
])
def test_missing_argument_is_named(sh, args, missing):
    assert sh.fail(*args, uri=False) == "error: command '%s' needs the argument %s; see 'help %s'" % (
        args[0], missing, args[0])


def test_extra_argument_is_refused(sh):
    assert sh.fail("domstate", "a", "b", uri=False) == (
        "error: command 'domstate' takes no more arguments, got 'b'; see 'help domstate'")


def test_option_given_twice_is_refused(sh):
    assert sh.fail("blkiothrottle", "a", "vda", "--bps", "1", "--bps", "2", uri=False) == (
        "error: option --bps of command 'blkiothrottle' given twice")


def test_both_spellings_of_one_field_count_as_twice(sh):
    assert sh.fail("blkiothrottle", "a", "vda", "--bps_rd", "1", "--bps-rd", "2", uri=False) == (
        "error: option --bps_rd of command 'blkiothrottle' given twice")


def test_option_without_its_value_is_refused(sh):
    assert sh.fail("blkiothrottle", "a", "vda", "--bps", uri=False) == (
        "error: option --bps of command 'blkiothrottle' needs a value")


def test_flag_given_a_value_is_refused(sh):
    assert sh.fail("list", "--all=yes", uri=False) == (
        "error: option --all of command 'list' takes no value (got 'yes')")


def test_arguments_may_be_named(sh, guest):
    assert sh.ok("domstate", "--domain", guest.name) == "shut off\n"
    assert sh.ok("domstate", "--domain=" + guest.name) == "shut off\n"


def test_options_may_come_before_the_arguments(sh, guest):
    a = sh.throttle(guest.name, "vda", "--config")
    b = sh.json("blkiothrottle", "--config", guest.name, "vda")
    assert a == b


def test_double_dash_ends_the_options(sh, guest):
    assert sh.fail("domstate", "--", "--reason") == (
        "error: Domain not found: no domain with matching name '--reason'")


def test_connection_failure_is_an_error(sh, daemon):
    err = sh.fail("list", uri="iovirt+unix:///session?socket=" + os.path.join(daemon.tmp, "nosock"))
    assert err.startswith("error: failed to connect to iovirt+unix:///session?socket=")


def test_default_uri_comes_from_the_environment(sh, guest):
    out = sh.ok("list", "--all", uri=False)
    assert guest.name in out


def test_uri_command_prints_the_connection_uri(sh, daemon):
    # the URI as opened: it reaches the same daemon again
    assert sh.ok("uri") == daemon.uri + "\n"


def test_version_command_prints_daemon_and_qemu_versions(sh):
    out = sh.ok("version")
    assert re.fullmatch(r"iovsh   \d+\.\d+\.\d+\niovirtd \d+\.\d+\.\d+\nQEMU    \d+\.\d+\.\d+\n", out)
    v = sh.json("version")
    assert set(v) == {"iovsh", "daemon", "qemu"}
    assert v["qemu"] in out


def test_non_display_command_refuses_dash_o(sh):
    assert sh.fail("start", "x", "-o", "json", uri=False) == (
        "error: command 'start' has no option '-o'; see 'help start'")


def test_commands_from_stdin_run_in_order_and_status_reports_a_failure(sh, guest):
    script = "# a comment\n\ndomstate %s\nnosuch\ndomstate '%s' --reason\nquit\ndomstate x\n" % (
        guest.name, guest.name)
    r = sh.run(input=script)
    assert r.rc == 1, r
    assert r.out == "shut off\nshut off (unknown)\n"
    assert r.err == "error: unknown command 'nosuch'; 'help' lists the commands\n"


def test_commands_from_stdin_exit_0_when_all_succeed(sh, guest):
    r = sh.run(input="domstate %s\nexit\n" % guest.name)
    assert (r.rc, r.out, r.err) == (0, "shut off\n", "")


def test_unbalanced_quote_on_stdin_is_an_error(sh):
    r = sh.run(input="domstate 'x\n")
    assert r.rc == 1 and r.err.startswith("error: cannot parse the line:"), r


# --- man page, bash completion, installation ------------------------------

MAN = os.path.join(BUILD_DIR, "docs", "iovsh.1")


def test_man_page_is_built_and_renders_without_warnings():
    assert os.path.exists(MAN)
    r = subprocess.run(["groff", "-t", "-man", "-Tutf8", "-ww", "-z", MAN],
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stderr == "", r.stderr


def test_man_page_documents_every_command_and_field():
    r = subprocess.run(["groff", "-t", "-man", "-Tascii", "-P-c", "-P-b", "-P-u", MAN],
                       capture_output=True, text=True)
    text = r.stdout
    for c in COMMANDS:
        assert re.search(r"\b%s\b" % c, text), c
    for name, alias in FIELDS:
        if not name.endswith("_length") or name in ("bps_max_length", "iops_wr_max_length"):
            assert "--" + name in text, name
    assert "--total-bytes-sec" in text and "--group-name" in text


COMPLETION = os.path.join(SOURCE_DIR, "tools", "bash-completion", "iovsh")


def complete(daemon, words):
    """Run the bash completion function on `words` (the last one being
    typed); returns COMPREPLY."""
    script = """
source /usr/share/bash-completion/bash_completion
source "$1"; shift
COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}
_iovsh
printf '%s\\n' "${COMPREPLY[@]}"
"""
    env = dict(daemon.env)
    env["PATH"] = os.path.dirname(IOVSH) + ":" + env["PATH"]
    r = subprocess.run(["bash", "-c", script, "bash", COMPLETION] + words,
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    return [w for w in r.stdout.splitlines() if w]


def test_bash_completion_completes_commands(daemon):
    assert complete(daemon, ["iovsh", "blk"]) == ["blkiothrottle", "blkdeviotune"]


def test_bash_completion_completes_guest_names_and_disks(daemon, guest):
    assert complete(daemon, ["iovsh", "blkiothrottle", "cli"]) == [guest.name]
    assert complete(daemon, ["iovsh", "-c", daemon.uri, "blkiothrottle", guest.name, ""]) == ["vda", "vdb"]


def test_bash_completion_completes_options(daemon, guest):
    assert complete(daemon, ["iovsh", "blkiothrottle", guest.name, "vda", "--bps_r"]) == [
        "--bps_rd", "--bps_rd_max", "--bps_rd_max_length"]
    assert complete(daemon, ["iovsh", "blkdeviotune", guest.name, "vda", "--group"]) == ["--group-name"]
    assert complete(daemon, ["iovsh", "--re"]) == ["--readonly"]
    assert complete(daemon, ["iovsh", "-o", ""]) == ["json", "text"]


def test_bash_completion_completes_file_names_for_define(daemon, guest):
    prefix = guest.xml_path[:-2]
    assert complete(daemon, ["iovsh", "define", prefix]) == [guest.xml_path]


def test_meson_install_installs_iovsh_its_man_page_and_completion():
    with tempfile.TemporaryDirectory(prefix="iovsh-install-") as dest:
        r = subprocess.run(["meson", "install", "-C", BUILD_DIR, "--no-rebuild", "--quiet",
                            "--destdir", dest], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        installed = [os.path.relpath(os.path.join(root, f), dest)
                     for root, _, files in os.walk(dest) for f in files]

        def one(suffix):
            return [p for p in installed if p.endswith(suffix)]

        assert one("/bin/iovsh"), installed
        assert one("/share/man/man1/iovsh.1"), installed
        assert one("/share/bash-completion/completions/iovsh"), installed
