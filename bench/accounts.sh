#!/usr/bin/env bash
# Accounts benchmark (issue: generate accounts for the 100,000-student demo
# school, about 230,000 people, in <= 5 s excluding password hashing; any
# filter or search on the Accounts screen in <= 100 ms).
#
# Generates and imports the demo school once, then RUNS times: copies the
# imported database and times `keyroll accounts generate` on the copy; then
# times the Accounts screen's page queries (100 rows, with their count) for a
# few filters and searches: in-process on one connection as the app keeps it
# (crates/core/examples/list_queries.rs), and as `keyroll accounts list
# --limit 100` (the time includes starting the process and opening the
# database, with a cold cache).
#
#   bench/accounts.sh [STUDENTS] [RUNS]
set -euo pipefail
out="bench/out-accounts"
source "$(dirname "$0")/common.sh"
"$bin" --db "$out/imported.db" import "$out/school" | sed 's/^/# /'

ts=(); ms=()
for i in $(seq "$runs"); do
  rm -f "$out"/run.db*
  # The import closed the database cleanly (no WAL left), so a copy is whole.
  cp "$out/imported.db" "$out/run.db"
  # Written back before the run, so the copy's writeback does not land in it.
  sync
  read -r t m < <(measure "$bin" --db "$out/run.db" accounts generate)
  ts+=("$t"); ms+=("$m")
done
sed 's/^/# /' "$out/stdout"
t=$(printf '%s\n' "${ts[@]}" | median); m=$(printf '%s\n' "${ms[@]}" | median)
people=$("$bin" --db "$out/run.db" accounts list --json | grep -c '"sis_id"')

echo
echo "Accounts for $students students ($people people), median of $runs runs, $(nproc) cores:"
echo
echo "| what | time (s) | peak memory (MB) | goal |"
echo "|---|---:|---:|---:|"
echo "| keyroll accounts generate (no password hashing) | $t | $((m / 1024)) | ≤ 5 s |"
echo
echo "The Accounts screen's page query in the app (one open connection, as the app keeps it):"
echo
cargo run --release --quiet -p keyroll-core --example list_queries -- "$out/run.db"
echo
echo "The same through the command line (a new process and a cold cache each time):"
echo
echo "| what | time (s) | | goal |"
echo "|---|---:|---:|---:|"
for args in "--kind parent --state disabled" "--search smith" "--search o'brien --kind student" \
            "--new --group Students --year 07" "--search zzzz-nobody"; do
  ts=()
  for i in 1 2 3; do
    read -r t _ < <(measure "$bin" --db "$out/run.db" accounts list --limit 100 --json $args)
    ts+=("$t")
  done
  t=$(printf '%s\n' "${ts[@]}" | median)
  echo "| accounts list --limit 100 $args (a new process, filtering in SQL) | $t | | |"
done
