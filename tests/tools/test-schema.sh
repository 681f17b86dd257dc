#!/bin/bash
# test-schema.sh SRCDIR BUILDTOOL: the RelaxNG schema is never stricter than
# the C validator: every document iovirt accepts, and every canonical form
# it writes, is valid against docs/schemas/domain.rng.
set -u
src=$1; tool=$2
rng=$src/docs/schemas/domain.rng
fail=0 n=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
xmllint --noout --relaxng "$rng" "$rng" >/dev/null 2>&1 || true
for f in "$src"/tests/data/xml2xml/*.xml "$src"/examples/*.xml "$src"/tests/data/libvirt/*.out; do
    n=$((n + 1))
    if xmllint --noout --relaxng "$rng" "$f" >/dev/null 2>"$tmp/err"; then
        echo "ok - $(basename "$f")"
    else
        echo "not ok - $(basename "$f"): $(cat "$tmp/err")"; fail=1
    fi
done
# the conversions of the libvirt documents, in both output forms
for f in "$src"/tests/data/libvirt/*.xml; do
    for flag in "" --iotune; do
        "$tool" --from-libvirt $flag "$f" >"$tmp/out" 2>/dev/null
        if xmllint --noout --relaxng "$rng" "$tmp/out" >/dev/null 2>"$tmp/err"; then
            echo "ok - $(basename "$f") $flag converted"
        else
            echo "not ok - $(basename "$f") $flag converted: $(cat "$tmp/err")"; fail=1
        fi
    done
done
[ $n -ge 10 ] || { echo "not ok - too few documents ($n)"; fail=1; }
exit $fail
