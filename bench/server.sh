#!/usr/bin/env bash
# keyroll-server benchmarks (issue 15), each beside its reference in the same
# run, on SQLite:
#
#   bulk:    USERS (default 260,000) demo-school users made through /Bulk,
#            1,000 a request (goal <= 30 s); reference: one POST /Users each,
#            for a sample of 2,000.
#   lookup:  GET /Users?filter=userName eq "…" for SAMPLES random users of
#            those USERS, one at a time (goal p99 <= 5 ms); reference: GET
#            /Users/{id}, the cheapest read there is.
#   sign-in: POST /sign-in (CSRF token, argon2id verification, the failure
#            count reset, last sign-in kept, a session made) from 4 client
#            threads for SECONDS (goal >= 90% of the bound); reference: the
#            argon2 bound, argon2id verifications a second on every core with
#            nothing else, each thread keeping its memory; the two take turns
#            KEYROLL_BENCH_ROUNDS (3) times and the means are compared.
#
# With KEYROLL_BENCH_BACKEND=postgres, the same on PostgreSQL: a throwaway
# cluster (scripts/with-postgres) with synchronous_commit off, as SQLite's
# synchronous = NORMAL.
#
#   bench/server.sh [USERS] [SAMPLES] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
backend="${KEYROLL_BENCH_BACKEND:-sqlite}"
if [ "$backend" = postgres ] && [ -z "${KEYROLL_TEST_POSTGRES:-}" ]; then
  KEYROLL_PG_OPTIONS="-c synchronous_commit=off -c shared_buffers=256MB" exec scripts/with-postgres "$0" "$@"
fi
users="${1:-260000}"
samples="${2:-5000}"
seconds="${3:-10}"
out="bench/out-server-$backend"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/keyroll/target}"
cargo build --release -p keyroll-server --bin keyroll-server --example load --quiet
bin="$CARGO_TARGET_DIR/release/keyroll-server"
load="$CARGO_TARGET_DIR/release/examples/load"
cores=$(nproc)
rm -rf "$out" && mkdir -p "$out"
db="sqlite:$out/server.db"
[ "$backend" = postgres ] && db="$KEYROLL_TEST_POSTGRES/postgres"
token=$("$bin" --db "$db" token create --name bench 2>/dev/null)
"$bin" --db "$db" --listen 127.0.0.1:0 --attempts-per-minute 100000000 > "$out/listening" 2> "$out/server.log" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -s "$out/listening" ] && break; sleep 0.1; done
site=$(sed -n 's/^listening on //p' "$out/listening")
url="$site/scim/v2"
echo "# keyroll-server $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $cores cores, $backend"

"$load" bulk "$url" "$token" "$users" | tee "$out/bulk.txt"
"$load" posts "$url" "$token" 2000 | tee "$out/posts.txt"
"$load" lookup "$url" "$token" "$users" "$samples" | tee "$out/lookup.txt"
"$load" by-id "$url" "$token" "$samples" | tee "$out/by-id.txt"
"$load" sign-in-users "$url" "$token" 500 >/dev/null
# The bound and the sign-ins take turns, ROUNDS times, so that the machine's
# drift (other tenants, heat) falls on both alike.
: > "$out/argon2.txt"; : > "$out/sign-in.txt"
for _ in $(seq "${KEYROLL_BENCH_ROUNDS:-3}"); do
  "$load" argon2 "$seconds" "$cores" | tee -a "$out/argon2.txt"
  "$load" sign-in "$site" 500 "$seconds" 4 | tee -a "$out/sign-in.txt"
done
mean() { sed -n 's/.*per_second=\([0-9.]*\).*/\1/p' "$1" | awk '{s+=$1; n++} END {printf "%.1f", s/n}'; }
bound=$(mean "$out/argon2.txt"); signins=$(mean "$out/sign-in.txt")
echo "# sign-ins $signins a second, bound $bound: $(awk "BEGIN {printf \"%.0f\", 100*$signins/$bound}")%"
echo "# server peak RSS: $(grep VmHWM /proc/$server/status | awk '{print $2/1024 " MB"}')"
