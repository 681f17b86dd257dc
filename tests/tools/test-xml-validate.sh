#!/bin/bash
# test-xml-validate.sh TOOL SRCDIR: the iovirt-xml-validate command line.
set -u
tool=$1; src=$2
fail=0
out=$(mktemp); err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT

check() { # check DESCRIPTION CONDITION...
    local what=$1; shift
    if "$@"; then echo "ok - $what"; else echo "not ok - $what"; fail=1; fi
}
run() { "$tool" "$@" >"$out" 2>"$err"; echo $?; }

check "examples validate" test "$(run "$src"/examples/*.xml)" = 0
check "examples print <iothrottle>" grep -q '<iothrottle bps_rd="20000" bps_wr="100000" iops="300"/>' "$out"

for f in "$src"/tests/data/invalid/*.xml; do
    rc=$(run "$f")
    want=$(cat "${f%.xml}.err")
    check "$(basename "$f") exits 1" test "$rc" = 1
    check "$(basename "$f") names its error" grep -qxF "error: $f: $want" "$err"
    check "$(basename "$f") prints nothing on stdout" test ! -s "$out"
done

lv=$src/tests/data/libvirt/db1-inactive.xml
check "a libvirt document is refused without --from-libvirt" test "$(run "$lv")" = 1
check "--from-libvirt converts a virsh dumpxml" test "$(run --from-libvirt "$lv")" = 0
check "--from-libvirt converts <iotune> to <iothrottle>" \
    grep -q '<iothrottle bps="10485760" iops_rd="400" iops_wr="100" bps_max="20971520" bps_max_length="5" group="db"/>' "$out"
check "--from-libvirt names dropped elements by XPath" grep -qF "$lv: dropped /domain/devices/controller[1] (controller:" "$err"
check "--from-libvirt names dropped attributes by XPath" grep -qxF "$lv: dropped /domain/vcpu/@placement (libvirt's vCPU placement)" "$err"
check "--from-libvirt keeps an empty cdrom" grep -q '<disk type="file" device="cdrom">' "$out"
check "--iotune writes libvirt's element" test "$(run --from-libvirt --iotune "$lv")" = 0
check "--iotune output holds <iotune>" grep -q '<total_bytes_sec>10485760</total_bytes_sec>' "$out"

for f in "$src"/tests/data/libvirt-refused/*.xml; do
    rc=$(run --from-libvirt "$f")
    want=$(cat "${f%.xml}.err")
    check "--from-libvirt refuses $(basename "$f")" test "$rc" = 1
    check "--from-libvirt names the error of $(basename "$f")" grep -qxF "error: $f: $want" "$err"
done

check "a missing file is an error" test "$(run /nonexistent/x.xml)" = 1
check "a missing file is named" grep -q "/nonexistent/x.xml" "$err"
check "one bad file among good ones fails" test "$(run "$src/examples/web1.xml" "$src/tests/data/invalid/malformed.xml")" = 1
check "the good file is still printed" grep -q "<name>web1</name>" "$out"
check "--quiet prints nothing" test "$(run --quiet "$src/examples/web1.xml")" = 0
check "--quiet output is empty" test ! -s "$out"
check "no file is a usage error" test "$(run)" = 1
check "an unknown option is refused" test "$(run --bogus x)" = 1
check "the unknown option is named" grep -q "unknown option '--bogus'" "$err"
check "--help succeeds" test "$(run --help)" = 0
exit $fail
