"""The module itself: where it is built and installed, its constants, the
throttle field table, parseSize, iovirt.Error, docstrings and stubs.
No daemon needed."""

import ast
import inspect
import json
import os
import pickle
import re
import subprocess

import pytest

from conftest import ALIAS, IOVIRT_ORDER, LIBVIRT_ORDER, SOURCE_DIR, iovirt, iovtest

HEADER = os.path.join(SOURCE_DIR, "include", "iovirt", "iovirt.h")


def header_enums():
    """Every enumerator of the public header: name -> value."""
    text = open(HEADER).read()
    values = {}
    for body in re.findall(r"typedef enum \{(.*?)\}", text, re.S):
        nxt = 0
        for line in body.splitlines():
            line = re.sub(r"/\*.*?\*/", "", line).strip()
            m = re.match(r"(IOV_\w+)\s*(?:=\s*([^,]+))?,?$", line)
            if not m:
                continue
            if m.group(2):
                nxt = eval(m.group(2), {}, dict(values))
            values[m.group(1)] = nxt
            nxt += 1
    return values


PREFIXES = [
    ("AFFECT_", "IOV_DOMAIN_AFFECT_"),
    ("START_", "IOV_DOMAIN_START_"),
    ("STREAM_", "IOV_STREAM_"),
    ("XML_", "IOV_DOMAIN_XML_"),
    ("LIST_DOMAINS_", "IOV_CONNECT_LIST_DOMAINS_"),
    ("DOMAIN_", "IOV_DOMAIN_"),
    ("ERR_", "IOV_ERR_"),
    ("FROM_", "IOV_FROM_"),
    ("THROTTLE_", "IOV_THROTTLE_"),
    ("MIGRATE_", "IOV_MIGRATE_"),
]


def header_name(name):
    for mine, theirs in PREFIXES:
        if name.startswith(mine):
            return theirs + name[len(mine):]
    return None


def module_constants():
    return {k: v for k, v in vars(iovirt).items()
            if k.isupper() and isinstance(v, int) and k != "THROTTLE_VALUE_MAX"}


# ---- build and install ----

def test_module_is_the_one_built_in_the_build_tree():
    assert os.path.dirname(iovirt.__file__) == os.path.join(iovtest.BUILD_DIR, "python")
    assert iovirt.__file__.endswith(".so")


def test_stubs_are_beside_the_built_module():
    assert os.path.exists(os.path.join(os.path.dirname(iovirt.__file__), "iovirt.pyi"))


def test_meson_installs_module_and_stubs_into_debian_python_site_packages():
    site = subprocess.run(
        ["/usr/bin/python3", "-c", "import sysconfig; print(sysconfig.get_path('platlib'))"],
        capture_output=True, text=True, check=True).stdout.strip()
    out = subprocess.run(["meson", "introspect", "--installed", iovtest.BUILD_DIR],
                         capture_output=True, text=True, check=True).stdout
    installed = json.loads(out)
    so = [dst for src, dst in installed.items() if os.path.basename(src) == os.path.basename(iovirt.__file__)]
    pyi = [dst for src, dst in installed.items() if src.endswith(os.path.join("python", "iovirt.pyi"))]
    assert len(so) == 1 and len(pyi) == 1, installed
    assert os.path.dirname(so[0]) == os.path.dirname(pyi[0])
    # Debian's python3 imports from /usr/lib/python3/dist-packages
    assert os.path.dirname(so[0]).rstrip("/") in ("/usr/lib/python3/dist-packages", site.rstrip("/"))


def test_version_is_the_header_version():
    text = open(HEADER).read()
    parts = [re.search(r"#define IOV_VERSION_%s (\d+)" % p, text).group(1)
             for p in ("MAJOR", "MINOR", "MICRO")]
    assert iovirt.__version__ == ".".join(parts)


# ---- constants ----

def test_every_constant_has_the_public_header_value():
    enums = header_enums()
    consts = module_constants()
    assert len(consts) > 80
    for name, value in consts.items():
        hname = header_name(name)
        assert hname in enums, "%s has no counterpart %s in iovirt.h" % (name, hname)
        assert enums[hname] == value, "%s = %d but %s = %d" % (name, value, hname, enums[hname])


def test_every_header_constant_python_needs_is_exported():
    enums = header_enums()
    consts = module_constants()
    wanted = [n for n in enums
              if not n.endswith("_LAST") and not n.startswith("IOV_TYPED_PARAM_")
              and not n.startswith("IOV_DOMAIN_XML_FROM_") and n != "IOV_DOMAIN_XML_LIBVIRT_IOTUNE"]
    exported = {header_name(n) for n in consts}
    missing = [n for n in wanted if n not in exported]
    assert not missing


def test_named_constants():
    assert (iovirt.AFFECT_CURRENT, iovirt.AFFECT_LIVE, iovirt.AFFECT_CONFIG) == (0, 1, 2)
    assert iovirt.START_PAUSED == 1
    assert iovirt.XML_INACTIVE == 2
    assert iovirt.DOMAIN_RUNNING == 1 and iovirt.DOMAIN_PAUSED == 3 and iovirt.DOMAIN_SHUTOFF == 5
    assert iovirt.LIST_DOMAINS_ACTIVE == 1 and iovirt.LIST_DOMAINS_INACTIVE == 2
    assert iovirt.ERR_OPERATION_DENIED == 29 and iovirt.ERR_NO_DOMAIN == 42
    assert iovirt.THROTTLE_VALUE_MAX == 10 ** 15


# ---- the throttle field table ----

def test_throttle_fields_in_table_order_with_names_and_aliases():
    fields = iovirt.throttleFields()
    assert isinstance(fields, tuple)
    assert [f.name for f in fields] == IOVIRT_ORDER
    assert {f.name: f.alias for f in fields} == ALIAS


def test_throttle_field_attributes():
    f = {x.name: x for x in iovirt.throttleFields()}
    assert isinstance(f["bps"], iovirt.ThrottleField)
    assert f["bps"].qemu_key == "bps-total"
    assert f["bps_rd_max_length"].qemu_key == "bps-read-max-length"
    assert f["bps"].family == iovirt.THROTTLE_FAMILY_BYTES
    assert f["iops_wr"].family == iovirt.THROTTLE_FAMILY_IOPS
    assert f["bps_wr_max"].family == iovirt.THROTTLE_FAMILY_BYTES_MAX
    assert f["iops_max_length"].family == iovirt.THROTTLE_FAMILY_IOPS_MAX_LENGTH
    assert f["iops_size"].family == iovirt.THROTTLE_FAMILY_SIZE
    assert f["group"].family == iovirt.THROTTLE_FAMILY_GROUP
    assert f["group"].type is str and f["bps"].type is int
    assert all(x.type is int for x in f.values() if x.name != "group")
    assert f["bps"].unit == iovirt.THROTTLE_UNIT_BYTES_PER_SEC and f["bps"].unit_name == "bytes/s"
    assert f["iops"].unit == iovirt.THROTTLE_UNIT_IOPS and f["iops"].unit_name == "IO/s"
    assert f["bps_max_length"].unit == iovirt.THROTTLE_UNIT_SECONDS
    assert f["iops_size"].unit == iovirt.THROTTLE_UNIT_BYTES
    assert f["group"].unit == iovirt.THROTTLE_UNIT_NONE
    assert f["bps"].accepts_suffix is True and f["iops"].accepts_suffix is False
    assert all(isinstance(x.help, str) and x.help for x in f.values())


def test_throttle_field_relations():
    f = {x.name: x for x in iovirt.throttleFields()}
    assert (f["bps_rd"].base, f["bps_rd"].max, f["bps_rd"].length) == (
        None, "bps_rd_max", "bps_rd_max_length")
    assert (f["iops_max"].base, f["iops_max"].max, f["iops_max"].length) == (
        "iops", None, "iops_max_length")
    assert (f["bps_wr_max_length"].base, f["bps_wr_max_length"].max) == ("bps_wr", "bps_wr_max")
    assert (f["group"].base, f["group"].max, f["group"].length) == (None, None, None)


def test_throttle_fields_match_the_documented_table():
    doc = open(os.path.join(SOURCE_DIR, "docs", "formatdomain.md")).read()
    rows = re.findall(r"^\| `(\w+)` \| `(\w+)` \|", doc, re.M)
    assert [(f.name, f.alias) for f in iovirt.throttleFields()] == rows


def test_throttle_fields_is_the_same_tuple_every_time():
    assert iovirt.throttleFields() is iovirt.throttleFields()


# ---- parseSize ----

@pytest.mark.parametrize("text,value", [
    ("0", 0), ("1048576", 1048576), ("1k", 1024), ("1M", 1048576), ("1MiB", 1048576),
    ("1MB", 1000000), ("2g", 2 * 1024 ** 3), ("3b", 3), ("18446744073709551615", 2 ** 64 - 1),
])
def test_parse_size(text, value):
    assert iovirt.parseSize(text) == value


@pytest.mark.parametrize("text", ["", "-1", "1.5M", " 1", "1X", "M"])
def test_parse_size_refuses_bad_text_naming_it(text):
    with pytest.raises(iovirt.Error) as e:
        iovirt.parseSize(text)
    assert e.value.code == iovirt.ERR_INVALID_ARG
    assert repr(text)[1:-1] in e.value.message or text == ""


def test_parse_size_overflow():
    with pytest.raises(iovirt.Error) as e:
        iovirt.parseSize("18446744073709551616")
    assert e.value.code in (iovirt.ERR_OVERFLOW, iovirt.ERR_INVALID_ARG)
    with pytest.raises(iovirt.Error) as e:
        iovirt.parseSize("16E")
    assert e.value.code in (iovirt.ERR_OVERFLOW, iovirt.ERR_INVALID_ARG)


def test_parse_size_types():
    with pytest.raises(TypeError):
        iovirt.parseSize(1024)
    with pytest.raises(ValueError):
        iovirt.parseSize("1\0M")


# ---- iovirt.Error ----

def test_error_is_an_exception_with_the_fields_of_an_iov_error():
    e = iovirt.Error("invalid argument: disk 'vdz' not found", iovirt.ERR_INVALID_ARG,
                     iovirt.FROM_QEMU)
    assert isinstance(e, Exception)
    assert str(e) == e.message == "invalid argument: disk 'vdz' not found"
    assert (e.code, e.domain, e.level) == (iovirt.ERR_INVALID_ARG, iovirt.FROM_QEMU, iovirt.ERR_ERROR)
    assert (e.str1, e.str2, e.str3, e.int1, e.int2) == (None, None, None, 0, 0)
    assert (e.get_error_code(), e.get_error_domain(), e.get_error_message(),
            e.get_error_level()) == (e.code, e.domain, e.message, e.level)
    with pytest.raises(AttributeError):
        e.code = 3


def test_error_defaults_and_keywords():
    e = iovirt.Error("x")
    assert (e.code, e.domain, e.level) == (iovirt.ERR_INTERNAL_ERROR, iovirt.FROM_NONE,
                                           iovirt.ERR_ERROR)
    e = iovirt.Error(message="y", code=iovirt.ERR_RPC, level=iovirt.ERR_WARNING)
    assert (str(e), e.code, e.level) == ("y", iovirt.ERR_RPC, iovirt.ERR_WARNING)
    with pytest.raises(TypeError):
        iovirt.Error(3)


def test_error_pickles():
    e = pickle.loads(pickle.dumps(iovirt.Error("m", 42, 10)))
    assert isinstance(e, iovirt.Error)
    assert (e.message, e.code, e.domain) == ("m", 42, 10)


def test_error_can_be_subclassed_and_raised():
    class Mine(iovirt.Error):
        pass

    with pytest.raises(iovirt.Error) as e:
        raise Mine("z", iovirt.ERR_NO_DOMAIN)
    assert e.value.code == iovirt.ERR_NO_DOMAIN


def test_open_without_a_daemon_raises_error():
    with pytest.raises(iovirt.Error) as e:
        iovirt.open("iovirt+unix:///session?socket=/nonexistent/iovirt-sock")
    assert e.value.code == iovirt.ERR_SYSTEM_ERROR
    assert "/nonexistent/iovirt-sock" in e.value.message
    with pytest.raises(iovirt.Error) as e:
        iovirt.openReadOnly("http://example.com/")
    assert e.value.code == iovirt.ERR_NO_CONNECT
    assert "http://example.com/" in str(e.value)


def test_types_cannot_be_made_directly():
    with pytest.raises(TypeError):
        iovirt.Connection()
    with pytest.raises(TypeError):
        iovirt.Domain()


# ---- docstrings and stubs ----

def public_objects():
    for name, obj in sorted(vars(iovirt).items()):
        if name.startswith("_") or isinstance(obj, (int, str)):
            continue
        yield name, obj
        if isinstance(obj, type):
            for mname, m in sorted(vars(obj).items()):
                if not mname.startswith("_") or mname in ("__enter__", "__exit__"):
                    yield name + "." + mname, m


def test_every_object_and_method_has_a_docstring():
    missing = [n for n, o in public_objects() if not (getattr(o, "__doc__", None) or "").strip()]
    assert not missing
    assert iovirt.__doc__.strip()


def test_every_method_has_a_signature():
    for name, obj in public_objects():
        if callable(obj) and not isinstance(obj, type):
            inspect.signature(obj)
    params = inspect.signature(iovirt.Domain.setBlockIoThrottle).parameters
    assert list(params) == ["self", "disk", "params", "flags"]
    assert params["flags"].default == 0


def parse_stubs():
    path = os.path.join(SOURCE_DIR, "python", "iovirt.pyi")
    tree = ast.parse(open(path).read())
    names, classes = set(), {}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign):
            names.add(node.target.id)
        elif isinstance(node, ast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names.add(node.name)
            classes[node.name] = {n.name for n in node.body if isinstance(n, ast.FunctionDef)}
            classes[node.name] |= {n.target.id for n in node.body if isinstance(n, ast.AnnAssign)}
    return names, classes


def test_stubs_declare_exactly_the_public_names():
    names, classes = parse_stubs()
    public = {n for n in vars(iovirt) if not n.startswith("_")} | {"__version__"}
    assert names == public


def test_stubs_declare_every_method():
    _, classes = parse_stubs()
    for cname in ("Connection", "Domain", "Error"):
        cls = getattr(iovirt, cname)
        methods = {n for n in vars(cls) if not n.startswith("_") and callable(getattr(cls, n))}
        if cname == "Connection":
            methods |= {"__enter__", "__exit__"}
        assert methods <= classes[cname], methods - classes[cname]
        stubbed = {n for n in classes[cname] if not n.startswith("_")}
        for n in stubbed:
            assert hasattr(cls, n), "%s.%s is in the stubs only" % (cname, n)
    assert set(iovirt.ThrottleField.__match_args__) == classes["ThrottleField"]


def test_stubs_are_valid_for_the_signatures():
    """Every stubbed method takes the parameters the module takes."""
    path = os.path.join(SOURCE_DIR, "python", "iovirt.pyi")
    tree = ast.parse(open(path).read())
    for node in tree.body:
        if not isinstance(node, ast.ClassDef) or node.name not in ("Connection", "Domain"):
            continue
        cls = getattr(iovirt, node.name)
        for fn in node.body:
            if not isinstance(fn, ast.FunctionDef) or fn.name.startswith("__"):
                continue
            stub = [a.arg for a in fn.args.posonlyargs + fn.args.args]
            real = list(inspect.signature(getattr(cls, fn.name)).parameters)
            assert stub == real, "%s.%s: stub %s, module %s" % (node.name, fn.name, stub, real)

