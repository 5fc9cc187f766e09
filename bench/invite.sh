#!/usr/bin/env bash
# Invitations benchmark (issue 14: 10,000 invitations to a local aiosmtpd with
# its Sink handler at >= 1,000 messages a second), beside lettre's own pooled
# SMTP transport against the same server in the same run.
#
#   keyroll: the demo school's invitations (parents and students with an
#            email address, each with its own activation code or password,
#            rendered as text and HTML), queued with `keyroll invite send
#            --all --at <past>` (not timed: it issues and hashes the
#            credentials), trimmed to MESSAGES by cancelling the rest, then
#            `keyroll outbox run` timed: the crash-safe sender over 4
#            connections with TCP_NODELAY, recording every answer in the
#            encrypted outbox (synchronous = FULL) and the audit log.
#   lettre:  crates/core/examples/lettre_pooled.rs: SAMPLE messages of the
#            same shape through lettre 0.11.23's AsyncSmtpTransport with a
#            pool of 4 connections (no outbox, no database). lettre never
#            sets TCP_NODELAY, so each message waits for a delayed ACK; a
#            sample is enough to measure its rate.
#
#   bench/invite.sh [MESSAGES] [SAMPLE]
set -euo pipefail
cd "$(dirname "$0")/.."
messages="${1:-10000}"
sample="${2:-500}"
out="bench/out-invite"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/keyroll/target}"
cargo build --release -p keyroll-cli --quiet
cargo build --release -p keyroll-core --example lettre_pooled --quiet
bin="$CARGO_TARGET_DIR/release/keyroll"
pooled="$CARGO_TARGET_DIR/release/examples/lettre_pooled"
rm -rf "$out" && mkdir -p "$out"
export KEYROLL_DB_KEY="$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"
db="$out/k.db"

python=""
for p in "${KEYROLL_PYTHON:-}" python3 /usr/bin/python3; do
  [ -n "$p" ] && "$p" -c "import aiosmtpd" 2>/dev/null && { python="$p"; break; }
done
[ -n "$python" ] || { echo "aiosmtpd is needed: apt install python3-aiosmtpd"; exit 1; }
port=$("$python" -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
"$python" -m aiosmtpd -n -l "127.0.0.1:$port" -c aiosmtpd.handlers.Sink &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
sleep 1

# About 1.9 addressable accounts a demo student (a student and most parents).
students=$(( messages * 10 / 17 ))
"$bin" demo --students "$students" --out "$out/school" --seed 1 >/dev/null
"$bin" --db "$db" import "$out/school" >/dev/null
"$bin" --db "$db" accounts generate >/dev/null
"$bin" --db "$db" accounts enable --kind parent >/dev/null
"$bin" --db "$db" letters settings --sign-in-url https://accounts.demo.example >/dev/null
"$bin" --db "$db" smtp set --host 127.0.0.1 --port "$port" --security none \
  --from "Demo School Office <office@demo.example>" --connections 4 >/dev/null
echo "# queueing (not timed)…"
"$bin" --db "$db" invite send --all --at 2000-01-01T00:00:00Z >/dev/null
queued=$("$bin" --db "$db" outbox list --status queued --limit 1000000 --json | "$python" -c "
import json, sys
ids = sorted(m['id'] for m in json.load(sys.stdin))
need = $messages
if len(ids) < need: sys.exit('only %d invitations, fewer than %d' % (len(ids), need))
open('$out/surplus', 'w').write(' '.join(map(str, ids[need:])))
print(need)")
[ -s "$out/surplus" ] && xargs -a "$out/surplus" "$bin" --db "$db" outbox cancel >/dev/null

/usr/bin/time -f "%e %M" -o "$out/time" "$bin" --db "$db" outbox run --json >"$out/run.json"
read -r k_secs k_rss <"$out/time"
sent=$("$python" -c "import json; print(json.load(open('$out/run.json'))['sent'])")
[ "$sent" = "$queued" ] || { echo "sent $sent of $queued"; cat "$out/run.json"; exit 1; }
read -r l_count l_secs < <("$pooled" "$port" "$sample" 4)

rate() { "$python" -c "print(round($1 / $2))"; }
echo
echo "| sender | messages | seconds | messages a second | peak memory |"
echo "|---|---:|---:|---:|---:|"
echo "| keyroll outbox run (4 connections, TCP_NODELAY, crash-safe outbox) | $sent | $k_secs | $(rate "$sent" "$k_secs") | $((k_rss / 1024)) MB |"
echo "| lettre 0.11.23 pooled AsyncSmtpTransport (4 connections) | $l_count | $l_secs | $(rate "$l_count" "$l_secs") | – |"
