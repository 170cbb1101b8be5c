#!/usr/bin/env bash
# Runs a cargo-fuzz target for SECONDS, seeded from ../shared/data/fuzz-seeds (usrsctp's corpus,
# first byte of each file stripped: it is a flag byte of usrsctp's own harness).
# Usage: scripts/fuzz.sh [TARGET=packet] [SECONDS=60]
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-packet}
seconds=${2:-60}
corpus=fuzz/corpus/$target
mkdir -p "$corpus"
# Most CONNECT seeds are chunk sequences without a common header (usrsctp's harness adds it):
# each seed goes in twice, as it stands and behind a synthetic common header.
for f in ../shared/data/fuzz-seeds/usrsctp/*/*; do
  [ -f "$f" ] || continue
  name=$(basename "$f")
  tail -c +2 "$f" > "$corpus/seed-$name"
  { printf '\x13\x88\x13\x88\x00\x00\x00\x01\x00\x00\x00\x00'; tail -c +2 "$f"; } > "$corpus/seedh-$name"
done
echo "corpus: $(ls "$corpus" | wc -l) inputs"
cd fuzz
cargo +nightly fuzz run "$target" "corpus/$target" -- -max_total_time="$seconds" -print_final_stats=1 2>&1 \
  | grep -E 'stat::|Done|ERROR|panicked|SUMMARY|deadly|crash' || true
# cargo fuzz exits non-zero on a crash; PIPESTATUS keeps that visible.
exit "${PIPESTATUS[0]}"
