#!/usr/bin/env bash
# Letters benchmark (issue 13: 10,000 one-page letters with QR codes for the
# demo school in <= 15 s and <= 500 MB), beside the same merged letters as one
# HTML file printed to PDF by headless Chromium (Debian's `chromium`) in the
# same run.
#
# Generates the demo school (enough students for LETTERS parent accounts, about
# 0.9 a student), imports it, generates accounts and enables exactly LETTERS
# parent accounts (by SIS id; the rest stay waiting for review). Then:
#   keyroll:  `keyroll letters --kind parent --state enabled` on a fresh copy
#             of that database each run: one A4 letter per parent (the built-in
#             parent.txt, the children table, the credentials box and a QR
#             code of the activation link), issuing the activation codes and
#             saving them, as a school would print them.
#   chromium: the same letters as a word processor's mail merge makes them:
#             `keyroll export mail-merge` of the same accounts (from another
#             copy, so they carry codes too), turned by the Python below into
#             ONE HTML file of page-broken A4 letters (the same text, read from
#             parent.txt, the same fonts, a children table, a credentials box
#             and an inline SVG QR code of the activation link made with
#             qrencode), printed with `chromium --headless --print-to-pdf`.
#             Making the HTML and its QR codes is done beforehand, not timed.
# RUNS rounds, the two interleaved; prints a Markdown table of the medians and
# both PDFs' page counts (pdfinfo) as a check.
#
#   bench/letters.sh [LETTERS] [RUNS]
#   KEYROLL_BIN=~/.cache/keyroll/target/debug/keyroll bench/letters.sh 200
#     (any build of the CLI, for trying at small scale; default: builds release)
#
# Memory: Keyroll is one process, so its peak is GNU time's max RSS, as in the
# other benchmarks. Chromium is a tree of processes (browser, renderer, GPU and
# utility processes), and GNU time's max RSS sees only the top one. So its
# tree is sampled every 0.1 s from /proc while it runs: the peak of the summed
# PSS (proportional set size: a page shared by N processes counts 1/N in each,
# so shared libraries are not counted once per process) is the table's figure;
# the peak of the summed RSS (which counts shared pages in every process) and
# the top process's max RSS are printed below the table. Sampling can miss a
# peak shorter than 0.1 s. (A memory cgroup would catch every peak, but the
# cgroup this runs in is the sandbox's, and its figures include page cache.)
set -euo pipefail
# A relative KEYROLL_BIN is taken from where the script was started.
[ -n "${KEYROLL_BIN:-}" ] && KEYROLL_BIN="$(realpath "$KEYROLL_BIN")"
cd "$(dirname "$0")/.."
letters="${1:-10000}"
runs="${2:-1}"
out="bench/out-letters"

# What the reference needs, installed if missing (as scripts/install-deps does).
missing=()
for p in chromium qrencode poppler-utils time; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
# Any python3 will do (it may not be Debian's).
command -v python3 >/dev/null || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "# Installing: ${missing[*]}"
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ -n "${KEYROLL_BIN:-}" ]; then
  bin="$KEYROLL_BIN"
else
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/keyroll/target}"
  cargo build --release -p keyroll-cli --quiet
  bin="$CARGO_TARGET_DIR/release/keyroll"
fi
echo "# keyroll: $bin"
echo "# $(chromium --version 2>/dev/null); qrencode $(qrencode --version 2>&1 | head -1 | awk '{print $3}')"

rm -rf "$out" && mkdir -p "$out"
export KEYROLL_DB_KEY="$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"

# Prints "seconds max_rss_kib" of a command; its output goes to $out/stdout.
measure() { /usr/bin/time -f "%e %M" -o "$out/time" "$@" >"$out/stdout" 2>"$out/stderr" || { cat "$out/stderr" "$out/time"; exit 1; }; cat "$out/time"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
med() { printf '%s\n' "$@" | median; }

# About 0.9 parent accounts a student (some contacts get none); a margin on top.
students=$(( letters * 5 / 4 + 20 ))
"$bin" demo --students "$students" --out "$out/school" --seed 1 2>&1 | sed 's/^/# /'
"$bin" --db "$out/k.db" import "$out/school" | tail -1 | sed 's/^/# /'
"$bin" --db "$out/k.db" accounts generate | tail -1 | sed 's/^/# /'
"$bin" --db "$out/k.db" letters settings --sign-in-url https://accounts.example.school \
  --address "1 Hill Road\nSpringfield" >/dev/null
# Parents' accounts wait for review (disabled); enable the first LETTERS of them.
mapfile -t ids < <("$bin" --db "$out/k.db" accounts list --kind parent --state disabled --json |
  python3 -c 'import json, sys; [print(p["sis_id"]) for p in json.load(sys.stdin)]')
if [ "${#ids[@]}" -lt "$letters" ]; then
  echo "Only ${#ids[@]} parent accounts in a school of $students students; need $letters." >&2
  exit 1
fi
args=()
for id in "${ids[@]:0:$letters}"; do args+=(--id "$id"); done
"$bin" --db "$out/k.db" accounts enable "${args[@]}" | tail -1 | sed 's/^/# /'
enabled=$("$bin" --db "$out/k.db" letters --kind parent --state enabled --dry-run --json |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["letters"])')
[ "$enabled" -eq "$letters" ] || { echo "$enabled letters would print, not $letters" >&2; exit 1; }

# The reference's merge data, from a copy (printing hands the codes out, and a
# second print of the same accounts would say "unchanged").
cp "$out/k.db" "$out/ref.db"
"$bin" --db "$out/ref.db" export mail-merge --kind parent --state enabled \
  --out "$out/letters.csv" | tail -1 | sed 's/^/# mail merge: /'

start=$(date +%s.%N)
python3 - "$out/letters.csv" crates/core/src/letters/defaults/parent.txt \
  crates/core/src/letters/fonts "$out/letters.html" <<'PY'
# One HTML file of page-broken A4 letters from the mail-merge CSV, laid out as
# crates/core/src/letters/layout.typ lays out a letter.
import base64, csv, html, re, subprocess, sys
csv_path, template_path, fonts, out_path = sys.argv[1:]
rows = list(csv.DictReader(open(csv_path, newline="", encoding="utf-8")))
template = open(template_path, encoding="utf-8").read()
esc = html.escape

def font(family, file, weight):
    data = base64.b64encode(open(f"{fonts}/{file}", "rb").read()).decode()
    return (f'@font-face {{ font-family: "{family}"; font-weight: {weight}; '
            f'src: url(data:font/ttf;base64,{data}) format("truetype"); }}\n')

css = (font("Noto Sans", "NotoSans-Regular.ttf", 400) + font("Noto Sans", "NotoSans-Bold.ttf", 700)
       + font("Noto Sans Mono", "NotoSansMono-Regular.ttf", 400) + """
@page { size: A4; margin: 2cm 2.2cm; }
body { margin: 0; font-family: "Noto Sans"; font-size: 11pt; line-height: 1.35; }
.letter { break-after: page; page-break-after: always; }
.letter:last-child { break-after: auto; page-break-after: auto; }
.head { display: flex; justify-content: space-between; font-size: 9pt; color: #505050;
        margin-bottom: 0.6cm; }
h1 { font-size: 17pt; margin: 1.2em 0 0.8em; }
h2 { font-size: 13pt; margin: 1.2em 0 0.8em; }
p { margin: 0 0 1.1em; }
code { font-family: "Noto Sans Mono"; font-size: 0.92em; }
table.children { width: 100%; border-collapse: collapse; margin: 0 0 1.1em; }
table.children th, table.children td { border: 0.5pt solid #aaa; padding: 6pt 8pt; text-align: left; }
table.children th:not(:first-child), table.children td:not(:first-child) { width: 1%; white-space: nowrap; }
.cred { border: 0.8pt solid #787878; border-radius: 4pt; padding: 12pt; margin: 0 0 1.1em;
        display: grid; grid-template-columns: auto 1fr; gap: 9pt 14pt; break-inside: avoid;
        overflow-wrap: anywhere; }
svg.qr { width: 3.4cm; height: 3.4cm; display: block; margin: 0 0 1.1em; }
""")

def qr(text):
    # Error correction M and a 4-module quiet zone, as the qrcode crate's
    # defaults that Keyroll uses; one path, as its SVG has.
    svg = subprocess.run(["qrencode", "-t", "SVG", "--svg-path", "--inline", "-l", "M", "-m", "4",
                          "-o", "-", text], check=True, capture_output=True, text=True).stdout
    svg = re.sub(r'\s(width|height)="[^"]*"', "", svg, count=2)
    return svg.replace("<svg ", '<svg class="qr" role="img" aria-label="QR code" ', 1)

def spans(text, r):
    # The template's own markup first, then the fields (printed as written).
    s = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", esc(text))
    s = re.sub(r"(?<!\w)_(.+?)_(?!\w)", r"<em>\1</em>", s)
    return re.sub(r"\{\{\s*([\w.]+)\s*\}\}", lambda m: esc(r.get(m.group(1), "")), s)

def children(r):
    rows, k = [], 1
    while f"child_{k}_name" in r:
        if r[f"child_{k}_name"]:
            u = r[f"child_{k}_username"]
            rows.append(f"<tr><td>{esc(r[f'child_{k}_name'])}</td>"
                        f"<td>{f'<code>{esc(u)}</code>' if u else '—'}</td>"
                        f"<td>{esc(r[f'child_{k}_year'])}</td></tr>")
        k += 1
    if not rows:
        return ""
    return ('<table class="children"><thead><tr><th>Child</th><th>Username</th><th>Year</th></tr>'
            f'</thead><tbody>{"".join(rows)}</tbody></table>')

def credentials(r):
    rows = [("Username", f"<code>{esc(r['username'])}</code>")]
    if r.get("password"):
        rows.append(("Initial password", f"<code>{esc(r['password'])}</code>"))
        rows.append(("Sign in at", esc(r["sign_in_url"])))
    elif r.get("activation_code"):
        rows.append(("Activation code", f"<code>{esc(r['activation_code'])}</code>"))
        if r.get("activation_link"):
            rows.append(("Activate at", esc(r["activation_link"])))
        if r.get("expires"):
            rows.append(("Use it before", esc(r["expires"])))
    return '<div class="cred">' + "".join(f"<div>{a}</div><div>{b}</div>" for a, b in rows) + "</div>"

def letter(r):
    parts = ['<section class="letter"><div class="head">'
             f'<div>{esc(r["school_name"])}<br>{esc(r["school_address"]).replace(chr(10), "<br>")}</div>'
             f'<div>{esc(r["today"])}</div></div>']
    para, items = [], []
    def flush():
        if para:
            parts.append("<p>" + "<br>".join(spans(l, r) for l in para) + "</p>")
            para.clear()
        if items:
            parts.append("<ul>" + "".join(f"<li>{spans(i, r)}</li>" for i in items) + "</ul>")
            items.clear()
    for line in template.splitlines():
        s = line.strip()
        block = re.fullmatch(r"\{\{\s*(children_table|credentials|qr_code|logo)\s*\}\}", s)
        if not s or block or s.startswith("#") or (s.startswith("- ") != bool(items)):
            flush()
        if block:
            name = block.group(1)
            if name == "children_table":
                parts.append(children(r))
            elif name == "credentials":
                parts.append(credentials(r))
            elif name == "qr_code":
                target = r.get("activation_link") or r.get("sign_in_url")
                if target:
                    parts.append(qr(target))
            # No logo is set in this benchmark.
        elif s.startswith("## "):
            parts.append(f"<h2>{spans(s[3:], r)}</h2>")
        elif s.startswith("# "):
            parts.append(f"<h1>{spans(s[2:], r)}</h1>")
        elif s.startswith("- "):
            items.append(s[2:])
        elif s:
            para.append(s)
    flush()
    parts.append("</section>")
    return "".join(parts)

with open(out_path, "w", encoding="utf-8") as f:
    f.write(f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>Welcome letters</title><style>{css}</style></head><body>\n")
    for r in rows:
        f.write(letter(r) + "\n")
    f.write("</body></html>\n")
print(f"# {len(rows)} letters in one HTML file")
PY
prep=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
html_mb=$(du -m "$out/letters.html" | cut -f1)

# Runs a command, sampling its process tree's memory from /proc every 0.1 s;
# prints "seconds top_max_rss_kib peak_pss_kib peak_rss_kib".
measure_tree() {
  python3 - "$out" "$@" <<'PY'
import os, subprocess, sys, time
out, cmd = sys.argv[1], sys.argv[2:]
with open(f"{out}/stdout", "w") as so, open(f"{out}/stderr", "w") as se:
    p = subprocess.Popen(["/usr/bin/time", "-f", "%e %M", "-o", f"{out}/time", *cmd],
                         stdout=so, stderr=se)
    peak_pss = peak_rss = 0
    while p.poll() is None:
        parents = {}
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    stat = open(f"/proc/{d}/stat").read()
                    parents.setdefault(int(stat[stat.rindex(")") + 2:].split()[1]), []).append(int(d))
                except OSError:
                    pass
        tree, todo = [], [p.pid]
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo += parents.get(pid, [])
        pss = rss = 0
        for pid in tree:
            try:
                for line in open(f"/proc/{pid}/smaps_rollup"):
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
                    elif line.startswith("Rss:"):
                        rss += int(line.split()[1])
            except OSError:
                pass
        peak_pss, peak_rss = max(peak_pss, pss), max(peak_rss, rss)
        time.sleep(0.1)
if p.returncode != 0:
    sys.stderr.write(open(f"{out}/stderr").read() + open(f"{out}/time").read())
    sys.exit(1)
t, m = open(f"{out}/time").read().split()[-2:]
print(t, m, peak_pss, peak_rss)
PY
}

kr_t=(); kr_m=(); ch_t=(); ch_m=(); ch_rss=(); ch_top=()
for i in $(seq "$runs"); do
  rm -f "$out"/run.db* "$out"/keyroll*.pdf
  # The last command closed the database cleanly (no WAL left), so a copy is whole.
  cp "$out/k.db" "$out/run.db"
  # Written back before the run, so the copy's writeback does not land in it.
  sync
  read -r t m < <(measure "$bin" --db "$out/run.db" letters --kind parent --state enabled \
    --out "$out/keyroll.pdf")
  [ -n "$m" ] || exit 1
  kr_t+=("$t"); kr_m+=("$m")
  [ "$i" -eq 1 ] && grep -v '^Saved' "$out/stdout" | sed 's/^/# keyroll: /'

  rm -rf "$out/chromium.pdf" "$out/profile"
  read -r t top pss rss < <(measure_tree chromium --headless --disable-gpu --no-sandbox \
    --no-first-run --no-pdf-header-footer --user-data-dir="$PWD/$out/profile" \
    --print-to-pdf="$PWD/$out/chromium.pdf" "file://$PWD/$out/letters.html")
  [ -n "$rss" ] || exit 1
  ch_t+=("$t"); ch_m+=("$pss"); ch_rss+=("$rss"); ch_top+=("$top")
done

kt=$(med "${kr_t[@]}"); km=$(( $(med "${kr_m[@]}") / 1024 ))
ct=$(med "${ch_t[@]}"); cm=$(( $(med "${ch_m[@]}") / 1024 ))
crss=$(( $(med "${ch_rss[@]}") / 1024 )); ctop=$(( $(med "${ch_top[@]}") / 1024 ))
ratio=$(awk -v a="$ct" -v b="$kt" 'BEGIN { printf "%.1f", a / b }')
mratio=$(awk -v a="$cm" -v b="$km" 'BEGIN { printf "%.1f", a / b }')
pages() { for f in "$@"; do pdfinfo "$f" 2>/dev/null | awk '/^Pages:/ { print $2 }'; done | awk '{ s += $1 } END { print s }'; }
size() { du -mc "$@" | tail -1 | cut -f1; }
# A run of more than 1,000 letters is written as numbered parts.
kfiles=("$out"/keyroll*.pdf)
kp=$(pages "${kfiles[@]}"); cp_=$(pages "$out/chromium.pdf")
# Per letter, times the goal's 10,000.
per10k=$(awk -v t="$kt" -v n="$letters" 'BEGIN { printf "%.1f", t / n * 10000 }')

echo
echo "$letters one-page parent letters with QR codes ($students-student demo school), median of $runs runs, $(nproc) cores:"
echo
echo "| letters | Keyroll (s) | Keyroll peak (MB) | Chromium (s) | Chromium peak (MB) | Chromium ÷ Keyroll (time) |"
echo "|---:|---:|---:|---:|---:|---:|"
echo "| $letters | $kt | $km | $ct | $cm | ${ratio}x |"
echo
echo "- Goal: 10,000 letters in ≤ 15 s and ≤ 500 MB. Keyroll's time per letter × 10,000: $per10k s (start-up included,"
echo "  so an over-estimate at small counts; memory is as measured, not scaled)."
echo "- Keyroll: \`keyroll letters --kind parent --state enabled --out FILE.pdf\`, including issuing the"
echo "  activation codes and saving them; peak = max RSS (GNU time)."
echo "- Chromium: \`chromium --headless --print-to-pdf\` of one $html_mb MB HTML file of the same letters"
echo "  (mail-merge export, the same text and fonts, inline SVG QR codes); peak = the process tree's summed"
echo "  PSS sampled every 0.1 s (summed RSS: $crss MB; the top process's max RSS: $ctop MB; memory ${mratio}x"
echo "  Keyroll's). Not counted: the export that issued its codes and making the HTML with its QR codes"
echo "  (qrencode), $prep s."
echo "- Check (pdfinfo): Keyroll's ${#kfiles[@]} PDF(s) $kp pages ($(size "${kfiles[@]}") MB), Chromium's $cp_ pages ($(size "$out/chromium.pdf") MB)."
if [ "$kp" != "$letters" ] || [ "$cp_" != "$letters" ]; then
  echo "- Warning: a PDF does not have one page per letter."
fi

# The live preview (issue 13: the first page <= 300 ms after a keystroke):
# the Letters screen's renderer kept, the template edited 30 times, on the
# same school (crates/core/examples/letters_preview.rs).
if [ -z "${KEYROLL_BIN:-}" ]; then
  cargo build --release -p keyroll-core --example letters_preview --quiet
  preview=$("$CARGO_TARGET_DIR/release/examples/letters_preview" "$out/k.db" 30)
  echo "- Live preview of the first family letter ($letters parents chosen): $preview."
fi
