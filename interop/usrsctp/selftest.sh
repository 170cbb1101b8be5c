#!/bin/sh
# Self-test for the usrsctp interop peer: builds peer.c into a temporary directory and runs a few
# short server/client pairs on 127.0.0.1. Exits nonzero on the first failure.
# Needs gcc and libusrsctp-dev. Usage: sh interop/usrsctp/selftest.sh
set -u
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/usrsctp-selftest.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
peer="$tmp/peer"

gcc -O2 -Wall -Wextra -Werror -o "$peer" "$here/peer.c" -lusrsctp -lpthread || {
	echo "selftest: build failed" >&2
	exit 1
}

fail=0
n=0

# run NAME EXPECT_SERVER_RC EXPECT_CLIENT_RC "SERVER ARGS" "CLIENT ARGS"
run() {
	name=$1 want_s=$2 want_c=$3 sargs=$4 cargs=$5
	n=$((n + 1))
	so="$tmp/$n.s.out" co="$tmp/$n.c.out"
	# shellcheck disable=SC2086
	"$peer" server --bind 127.0.0.1:0 $sargs >"$so" 2>"$tmp/$n.s.err" &
	spid=$!
	addr=
	i=0
	while [ $i -lt 100 ]; do
		addr=$(sed -n 's/.*"event":"listening","addr":"\([^"]*\)".*/\1/p' "$so")
		[ -n "$addr" ] && break
		sleep 0.05
		i=$((i + 1))
	done
	if [ -z "$addr" ]; then
		echo "FAIL $name: server did not print listening" >&2
		kill "$spid" 2>/dev/null
		fail=1
		return
	fi
	# shellcheck disable=SC2086
	"$peer" client --connect "$addr" $cargs >"$co" 2>"$tmp/$n.c.err"
	crc=$?
	wait "$spid"
	src=$?
	ok=1
	[ "$src" = "$want_s" ] || ok=0
	[ "$crc" = "$want_c" ] || ok=0
	grep -q '"event":"done"' "$so" || ok=0
	grep -q '"event":"done"' "$co" || ok=0
	if [ "$want_s$want_c" = "00" ]; then
		grep -q '"errors":0,"graceful":true' "$so" || ok=0
		grep -q '"errors":0,"graceful":true' "$co" || ok=0
		grep -q '"event":"established"' "$co" || ok=0
	else
		grep -q '"graceful":false' "$so" || ok=0
		grep -q '"graceful":false' "$co" || ok=0
	fi
	if [ $ok = 1 ]; then
		echo "ok   $name"
	else
		echo "FAIL $name (server rc $src, client rc $crc)" >&2
		sed 's/^/  server: /' "$so" "$tmp/$n.s.err" >&2
		sed 's/^/  client: /' "$co" "$tmp/$n.c.err" >&2
		fail=1
	fi
}

run "echo ordered 1 stream, 1-byte" 0 0 "--count 300" "--streams 1 --count 300 --size 1"
run "echo ordered 16 streams, 1200 B" 0 0 "--count 500" "--streams 16 --count 500 --size 1200"
run "echo unordered 16 streams, 64 KiB" 0 0 "--count 40" \
	"--streams 16 --count 40 --size 65536 --unordered"
run "echo 256 KiB, mtu 1500" 0 0 "--count 10 --mtu 1500" \
	"--streams 2 --count 10 --size 262144 --mtu 1500"
run "discard ordered 1 stream, 8 B" 0 0 "--mode discard --count 1000" \
	"--mode discard --streams 1 --count 1000 --size 8"
run "discard unordered 16 streams, 64 KiB" 0 0 "--mode discard --count 50" \
	"--mode discard --streams 16 --count 50 --size 65536 --unordered"
run "client aborts" 1 1 "" "--streams 4 --count 1000 --size 1200 --abort-after 100"
run "server aborts" 1 1 "--abort-after 100" "--streams 4 --count 1000 --size 1200"

# usage errors exit 2
"$peer" client --connect 127.0.0.1:9 --streams 1 --count 1 --size 4 --unordered 2>/dev/null
[ $? = 2 ] && echo "ok   usage error exits 2" || {
	echo "FAIL usage error did not exit 2" >&2
	fail=1
}

[ $fail = 0 ] && echo "selftest: all passed" || echo "selftest: FAILED" >&2
exit $fail
