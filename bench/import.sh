#!/usr/bin/env bash
# Import benchmark (issue: import <= 3x the sqlite3 .import floor, peak memory <= 300 MB).
#
# Generates the demo school (default 100,000 students), then in one run times
#   floor:   sqlite3 .import of the same CSV files into plain, unindexed tables
#   keyroll: keyroll import into a fresh encrypted database
# each RUNS times (fresh database every time), and prints a Markdown table of
# the medians with peak memory (max RSS, from GNU time).
#
#   bench/import.sh [STUDENTS] [RUNS]
set -euo pipefail
out="bench/out"
source "$(dirname "$0")/common.sh"
rows=$(( $(wc -l < "$out/school/users.csv") - 1 ))
size=$(du -sm "$out/school" | cut -f1)


floor_t=(); floor_m=(); kr_t=(); kr_m=()
for i in $(seq "$runs"); do
  rm -f "$out/floor.db"
  read -r t m < <(measure sqlite3 "$out/floor.db" \
    ".mode csv" \
    ".import $out/school/manifest.csv manifest" \
    ".import $out/school/orgs.csv orgs" \
    ".import $out/school/users.csv users" \
    ".import $out/school/demographics.csv demographics")
  floor_t+=("$t"); floor_m+=("$m")
  rm -f "$out"/k.db*
  read -r t m < <(measure "$bin" --db "$out/k.db" import "$out/school")
  kr_t+=("$t"); kr_m+=("$m")
done
ft=$(printf '%s\n' "${floor_t[@]}" | median); fm=$(printf '%s\n' "${floor_m[@]}" | median)
kt=$(printf '%s\n' "${kr_t[@]}" | median); km=$(printf '%s\n' "${kr_m[@]}" | median)
ratio=$(awk -v a="$kt" -v b="$ft" 'BEGIN { printf "%.2f", a / b }')

echo
echo "Import of $students students ($rows users.csv rows, ${size} MB of CSV), median of $runs runs, $(nproc) cores:"
echo
echo "| what | time (s) | peak memory (MB) | vs floor |"
echo "|---|---:|---:|---:|"
echo "| sqlite3 .import into plain tables (floor) | $ft | $((fm / 1024)) | 1.00x |"
echo "| keyroll import (SQLCipher, validated, audited) | $kt | $((km / 1024)) | ${ratio}x |"
