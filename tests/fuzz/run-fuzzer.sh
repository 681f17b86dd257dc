#!/bin/sh
# run-fuzzer.sh FUZZER SECONDS SEED_DIR...: run a libFuzzer target for a
# bounded time on a scratch corpus seeded from SEED_DIRs (which are only
# read). Fails on a crash, a leak or a failed check.
set -eu
fuzzer=$1; seconds=$2; shift 2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus" "$work/artifacts" "$work/tmp"
# what a fuzzer makes in the temporary directory goes with the rest
export TMPDIR="$work/tmp"
status=0
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
    "$work/corpus" "$@" >"$work/log" 2>&1 || status=$?
tail -n 25 "$work/log"
if ls "$work/artifacts"/* >/dev/null 2>&1; then
    echo "fuzzer found a failing input:"
    for f in "$work/artifacts"/*; do echo "== $f"; od -c "$f" | head -20; done
    exit 1
fi
exit $status
