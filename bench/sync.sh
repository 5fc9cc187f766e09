#!/usr/bin/env bash
# Sync benchmarks (issue 16), on keyroll-server (SQLite) on loopback:
#
#   first push: the demo school of STUDENTS (default 100,000: about 260,000
#               accounts) pushed by `keyroll sync` (goal <= 30 s); reference:
#               the same number of users made through /Bulk by a bare client
#               (crates/server/examples/load.rs) on a second server, in the
#               same run.
#   quiet:      a sync with nothing changed (goal: no writes).
#   delta:      100 accounts disabled, then synced (goal <= 1 s, requests in
#               proportion to the change: the counts are printed).
#
#   bench/sync.sh [STUDENTS]
set -euo pipefail
out=bench/out-sync
source "$(dirname "$0")/common.sh"
cargo build --release -p keyroll-server --bin keyroll-server --example load --quiet
server_bin="$CARGO_TARGET_DIR/release/keyroll-server"
load="$CARGO_TARGET_DIR/release/examples/load"
db="$out/k.db"
"$bin" --db "$db" import "$out/school" >/dev/null
"$bin" --db "$db" accounts generate >/dev/null
accounts=$("$bin" --db "$db" sync status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["to_create"])')

start_server() { # name → prints "url token"
  local sdb="sqlite:$out/$1.db"
  local token; token=$("$server_bin" --db "$sdb" token create --name bench 2>/dev/null)
  "$server_bin" --db "$sdb" --listen 127.0.0.1:0 > "$out/$1.listening" 2> "$out/$1.log" &
  echo $! >> "$out/pids"
  for _ in $(seq 50); do [ -s "$out/$1.listening" ] && break; sleep 0.1; done
  echo "$(sed -n 's/^listening on //p' "$out/$1.listening")/scim/v2 $token"
}
trap 'kill $(cat "$out/pids") 2>/dev/null || true' EXIT
read -r ref_url ref_token < <(start_server reference)
read -r url token < <(start_server school)
export KEYROLL_SYNC_TOKEN="$token"
echo "$token" | "$bin" --db "$db" sync login --server "$url" --token-stdin >/dev/null
echo "# keyroll sync $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores, $accounts accounts"

"$load" bulk "$ref_url" "$ref_token" "$accounts" | sed 's/^/reference: /'
run() { # label → one line: seconds, peak KiB, the sync's counts
  read -r s kib < <(measure "$bin" --db "$db" sync --json)
  python3 - "$1" "$s" "$kib" "$out/stdout" <<'PY'
import json, sys
label, s, kib, path = sys.argv[1:]
r = json.load(open(path))
p, q = r["pushed"], r["requests"]
print(f"{label}: seconds={s} peak_mb={int(kib)//1024} created={p['users_created']} "
      f"updated={p['users_updated']} members={p['membership_changes']} "
      f"reads={q['reads']} writes={q['writes']} retries={q['retries']}")
PY
}
run "first push"
run "first pull (the push's own changes)"
run "quiet"
ids=$("$bin" --db "$db" accounts list --kind staff --state enabled --limit 100 --json \
  | python3 -c 'import json,sys; print(" ".join("--id " + p["sis_id"] for p in json.load(sys.stdin)))')
# shellcheck disable=SC2086
"$bin" --db "$db" accounts disable --kind staff $ids >/dev/null
run "delta of 100"
run "quiet after the delta"
