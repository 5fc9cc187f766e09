# Shared by the benchmarks: sourced after `set -euo pipefail` with $out set.
# Builds the release CLI, writes the demo school of $students students to
# $out/school, and gives each run a fresh random database key.
cd "$(dirname "$0")/.."
students="${1:-100000}"
runs="${2:-3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/keyroll/target}"
cargo build --release -p keyroll-cli --quiet
bin="$CARGO_TARGET_DIR/release/keyroll"
rm -rf "$out" && mkdir -p "$out"
"$bin" demo --students "$students" --out "$out/school" --seed 1 2>&1 | sed 's/^/# /'
export KEYROLL_DB_KEY="$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"

# Prints "seconds max_rss_kib" of a command; its output goes to $out/stdout.
measure() { /usr/bin/time -f "%e %M" -o "$out/time" "$@" >"$out/stdout" 2>"$out/stderr" || { cat "$out/stderr" "$out/time"; exit 1; }; cat "$out/time"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
