#!/usr/bin/env bash
# Loopback throughput and latency table: `braid perf` (64 KiB and 1 KiB messages, MTU 1200
# and 1500, 1 and 2 shards) next to usrsctp <-> usrsctp (the interop peer, same contract,
# 100 MB in discard mode) and Braid <-> usrsctp, all measured in this one run; then the echo
# round trip of a 64-byte message next to raw UDP.
#
#   scripts/loopback-table.sh [SECONDS_PER_BRAID_RUN]     (needs libusrsctp-dev and python3)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-3}
cargo build --release -q -p braid-cli
braid=target/release/braid
peer=$(mktemp -d)/usrsctp-peer
cc -O2 -o "$peer" interop/usrsctp/peer.c -lusrsctp -lpthread

json_field() { python3 -c "import json,sys; print(json.loads(sys.stdin.read())['$1'])"; }

# server_prog client_prog size mtu -> the client's MB/s (100 MB, discard, one stream)
pair() {
  local server=$1 client=$2 size=$3 mtu=$4 out
  out=$(mktemp)
  "$server" server --bind 127.0.0.1:0 --mode discard --mtu "$mtu" >"$out" 2>/dev/null &
  local spid=$!
  for _ in $(seq 100); do grep -q listening "$out" && break; sleep 0.05; done
  local addr
  addr=$(grep listening "$out" | json_field addr)
  local count=$(( (100000000 + size - 1) / size ))
  "$client" client --connect "$addr" --bind 127.0.0.1:0 --streams 1 --count "$count" --size "$size" \
    --mode discard --mtu "$mtu" 2>/dev/null | grep '"done"' | json_field mbytes_per_s
  wait "$spid" || true
  rm -f "$out"
}

printf '| messages | MTU | braid perf, 1 shard | braid perf, 2 shards | usrsctp → usrsctp | braid → usrsctp | usrsctp → braid |\n'
printf '|---|---|---|---|---|---|---|\n'
for size in 65536 1024; do
  for mtu in 1200 1500; do
    b1=$($braid perf --quiet --json --duration "$secs" --size "$size" --mtu "$mtu" --shards 1 2>/dev/null | grep '"perf"' | json_field mbytes_per_s)
    b2=$($braid perf --quiet --json --duration "$secs" --size "$size" --mtu "$mtu" --shards 2 2>/dev/null | grep '"perf"' | json_field mbytes_per_s)
    uu=$(pair "$peer" "$peer" "$size" "$mtu")
    bu=$(pair "$peer" "$braid" "$size" "$mtu")
    ub=$(pair "$braid" "$peer" "$size" "$mtu")
    printf '| %s B | %s | %.0f MB/s | %.0f MB/s | %.0f MB/s | %.0f MB/s | %.0f MB/s |\n' "$size" "$mtu" "$b1" "$b2" "$uu" "$bu" "$ub"
  done
done
echo
$braid perf --rtt --pings 20000 2>/dev/null
