#!/usr/bin/env bash
# Dry-run benchmark (issue: a dry run against an already-imported copy of the
# 100,000-student demo school, with 1% of rows changed, in <= 2 s).
#
# Generates the demo school, imports it once into a fresh encrypted database,
# changes the given name of every 100th users.csv row (1% of rows), then times
# `keyroll import --dry-run` of the changed export RUNS times and prints a
# Markdown table of the median with peak memory (max RSS, from GNU time).
#
#   bench/dryrun.sh [STUDENTS] [RUNS]
set -euo pipefail
out="bench/out-dryrun"
source "$(dirname "$0")/common.sh"
"$bin" --db "$out/k.db" import "$out/school" >/dev/null

cp -r "$out/school" "$out/changed"
python3 - "$out/changed/users.csv" <<'PY'
import csv, sys
path = sys.argv[1]
with open(path, newline="", encoding="utf-8") as f:
    rows = list(csv.reader(f))
col = [h.lower() for h in rows[0]].index("givenname")
changed = 0
for i in range(1, len(rows)):
    if i % 100 == 0:
        rows[i][col] += "x"
        changed += 1
with open(path, "w", newline="", encoding="utf-8") as f:
    csv.writer(f, lineterminator="\r\n").writerows(rows)
print(f"# changed the given name of {changed} of {len(rows) - 1} users.csv rows")
PY

ts=(); ms=()
for i in $(seq "$runs"); do
  read -r t m < <(measure "$bin" --db "$out/k.db" import "$out/changed" --dry-run)
  ts+=("$t"); ms+=("$m")
done
grep -o "Would change[^;]*" "$out/stdout" | sed 's/^/# /'
t=$(printf '%s\n' "${ts[@]}" | median); m=$(printf '%s\n' "${ms[@]}" | median)
echo
echo "Dry run of $students students with 1% of users.csv rows changed, against an imported copy, median of $runs runs, $(nproc) cores:"
echo
echo "| what | time (s) | peak memory (MB) | goal |"
echo "|---|---:|---:|---:|"
echo "| keyroll import --dry-run | $t | $((m / 1024)) | ≤ 2 s |"
