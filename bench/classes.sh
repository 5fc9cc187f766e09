#!/usr/bin/env bash
# Classes benchmark: what classes and enrollments add to an import.
#
# Generates the demo school, then a copy of it with classes.csv and
# enrollments.csv as a OneRoster export of a secondary school has them (each
# student in six classes of 25, each class with one teacher of its school),
# and times, RUNS times each, rounds interleaved:
#   without: keyroll import of the demo school (as bench/import.sh)
#   with:    keyroll import of the copy with classes
#   again:   the copy with classes imported again, unchanged
# Prints a Markdown table of the medians with peak memory (max RSS).
#
#   bench/classes.sh [STUDENTS] [RUNS]
set -euo pipefail
out="bench/out-classes"
source "$(dirname "$0")/common.sh"
cp -r "$out/school" "$out/classes"
python3 - "$out/classes" <<'PY'
import csv, random, sys
folder = sys.argv[1]
random.seed(1)
users = list(csv.DictReader(open(f"{folder}/users.csv", newline="", encoding="utf-8")))
school = lambda u: u["orgSourcedIds"].split(",")[0]
students, teachers = {}, {}
for u in users:
    if u["role"] == "student":
        students.setdefault(school(u), []).append(u["sourcedId"])
    elif u["role"] == "teacher":
        teachers.setdefault(school(u), []).append(u["sourcedId"])
classes, enrollments = [], []
for org, ids in sorted(students.items()):
    staff = teachers.get(org) or [t for ts in teachers.values() for t in ts][:5]
    for subject in range(6):
        random.shuffle(ids)
        for i in range(0, len(ids), 25):
            c = f"cl{len(classes) + 1}"
            classes.append([c, "active", "", f"Class {len(classes) + 1}", "", "", c.upper(),
                            "scheduled", "", org, "", "", "", ""])
            enrollments.append([f"e{len(enrollments)}", "active", "", c, org,
                                staff[len(classes) % len(staff)], "teacher", "true", "", ""])
            for s in ids[i:i + 25]:
                enrollments.append([f"e{len(enrollments)}", "active", "", c, org, s, "student",
                                    "false", "", ""])
def write(name, header, rows):
    with open(f"{folder}/{name}", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(header.split(","))
        w.writerows(rows)
write("classes.csv", "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,"
      "classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods", classes)
write("enrollments.csv", "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,"
      "userSourcedId,role,primary,beginDate,endDate", enrollments)
manifest = open(f"{folder}/manifest.csv", encoding="utf-8").read()
manifest = manifest.replace("file.classes,absent", "file.classes,bulk")
manifest = manifest.replace("file.enrollments,absent", "file.enrollments,bulk")
open(f"{folder}/manifest.csv", "w", encoding="utf-8").write(manifest)
print(f"# {len(classes)} classes, {len(enrollments)} enrollments")
PY

without_t=(); without_m=(); with_t=(); with_m=(); again_t=(); again_m=()
for i in $(seq "$runs"); do
  rm -f "$out"/a.db* "$out"/b.db*
  read -r t m < <(measure "$bin" --db "$out/a.db" import "$out/school")
  without_t+=("$t"); without_m+=("$m")
  read -r t m < <(measure "$bin" --db "$out/b.db" import "$out/classes")
  with_t+=("$t"); with_m+=("$m")
  read -r t m < <(measure "$bin" --db "$out/b.db" import "$out/classes")
  again_t+=("$t"); again_m+=("$m")
done
med() { printf '%s\n' "$@" | median; }
echo
echo "Import of $students students with and without classes, median of $runs runs, $(nproc) cores:"
echo
echo "| what | time (s) | peak memory (MB) |"
echo "|---|---:|---:|"
echo "| first import, no classes | $(med "${without_t[@]}") | $(( $(med "${without_m[@]}") / 1024 )) |"
echo "| first import, with classes | $(med "${with_t[@]}") | $(( $(med "${with_m[@]}") / 1024 )) |"
echo "| the same again, nothing changed | $(med "${again_t[@]}") | $(( $(med "${again_m[@]}") / 1024 )) |"
