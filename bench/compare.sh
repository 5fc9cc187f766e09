#!/usr/bin/env bash
# Side by side: two builds of the `keyroll` CLI timed in one run, rounds
# interleaved (this machine's speed drifts over the day), on the same demo
# school: a first import into an empty database (beside the sqlite3 .import
# floor of bench/import.sh, timed in the same rounds), a dry run with 1% of
# rows changed against an imported copy, and account generation on a copy.
#
#   bench/compare.sh OLD_BIN NEW_BIN [STUDENTS] [ROUNDS]
#
# Each build imports its own copy for the dry run and generation (a newer
# build's schema is one an older build cannot open).
set -euo pipefail
old_bin="$1"; new_bin="$2"; shift 2
out="bench/out-compare"
source "$(dirname "$0")/common.sh"
rounds="$runs"

cp -r "$out/school" "$out/changed"
python3 - "$out/changed/users.csv" <<'PY'
import csv, sys
path = sys.argv[1]
with open(path, newline="", encoding="utf-8") as f:
    rows = list(csv.reader(f))
col = [h.lower() for h in rows[0]].index("givenname")
for i in range(1, len(rows)):
    if i % 100 == 0:
        rows[i][col] += "x"
with open(path, "w", newline="", encoding="utf-8") as f:
    csv.writer(f, lineterminator="\r\n").writerows(rows)
PY
for side in old new; do
  b="${side}_bin"
  "${!b}" --db "$out/$side-imported.db" import "$out/school" >/dev/null
done

declare -A t m
floor=()
for i in $(seq "$rounds"); do
  rm -f "$out/floor.db"
  read -r a _ < <(measure sqlite3 "$out/floor.db" ".mode csv" \
    ".import $out/school/manifest.csv manifest" ".import $out/school/orgs.csv orgs" \
    ".import $out/school/users.csv users" ".import $out/school/demographics.csv demographics")
  floor+=("$a")
  # Alternate which build goes first.
  order=(old new); [ $((i % 2)) -eq 0 ] && order=(new old)
  for side in "${order[@]}"; do
    b="${side}_bin"
    rm -f "$out"/first.db*
    read -r a b2 < <(measure "${!b}" --db "$out/first.db" import "$out/school")
    t[$side-import]+="$a "; m[$side-import]+="$b2 "
    read -r a b2 < <(measure "${!b}" --db "$out/$side-imported.db" import "$out/changed" --dry-run)
    t[$side-dryrun]+="$a "; m[$side-dryrun]+="$b2 "
    rm -f "$out"/run.db*
    cp "$out/$side-imported.db" "$out/run.db"
    sync
    read -r a b2 < <(measure "${!b}" --db "$out/run.db" accounts generate)
    t[$side-generate]+="$a "; m[$side-generate]+="$b2 "
  done
done

med() { tr ' ' '\n' | grep . | median; }
f=$(printf '%s\n' "${floor[@]}" | median)
range() { tr ' ' '\n' | grep . | sort -n | sed -n '1p;$p' | paste -sd- ; }
echo
echo "Side by side, $rounds rounds interleaved, $students students, $(nproc) cores (median, range; peak memory):"
echo
echo "| what | $old_bin (s) | $new_bin (s) | MB (old / new) |"
echo "|---|---:|---:|---:|"
echo "| sqlite3 .import floor | $f | $f | |"
for what in import dryrun generate; do
  o=$(echo "${t[old-$what]}" | med); n=$(echo "${t[new-$what]}" | med)
  or=$(echo "${t[old-$what]}" | range); nr=$(echo "${t[new-$what]}" | range)
  om=$(( $(echo "${m[old-$what]}" | med) / 1024 )); nm=$(( $(echo "${m[new-$what]}" | med) / 1024 ))
  ratio=""
  [ "$what" = import ] && ratio=$(awk -v o="$o" -v n="$n" -v f="$f" 'BEGIN { printf " (%.2fx / %.2fx the floor)", o / f, n / f }')
  echo "| $what$ratio | $o ($or) | $n ($nr) | $om / $nm |"
done
