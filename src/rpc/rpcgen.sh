#!/bin/sh
# rpcgen.sh -h|-c INPUT.x OUTPUT: run rpcgen and make its output usable
# from a build directory.
#   - the .c includes its header by base name, not by the path of the .x;
#   - the header includes <rpc/types.h> and <rpc/xdr.h> rather than
#     <rpc/rpc.h>, because src/rpc/rpc.h has that name too and would be
#     found instead when src/ is on the include path.
set -eu
mode=$1; input=$2; output=$3
header=$(basename "$input" .x).h
tmpdir=$(mktemp -d "$output.XXXXXX")
trap 'rm -rf "$tmpdir"' EXIT
# rpcgen names the header guard after the output file: keep its name
tmp=$tmpdir/$(basename "$output")
rpcgen "$mode" -o "$tmp" "$input"
case $mode in
-h)
    sed -e 's|^#include <rpc/rpc.h>$|#include <rpc/types.h>\n#include <rpc/xdr.h>|' \
        "$tmp" >"$output" ;;
-c)
    sed -e "s|^#include \".*\\.h\"\$|#include \"$header\"|" "$tmp" >"$output" ;;
*)
    echo "rpcgen.sh: unknown mode $mode" >&2; exit 1 ;;
esac
