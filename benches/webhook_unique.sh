#!/bin/bash
# Webhook throughput with a distinct signed body per request, side by side in one run: the Python
# peer (../shared/bench/peer_webhook.py: in memory, not durable) and summarybot (durable: each
# request is a new job on disk before it is answered). ../shared/bench/webhook_peer.sh sends ONE
# body with a unique X-Request-Id; summarybot deduplicates on the body, so there every request
# after the first is a duplicate for it. Here no request is a duplicate for either server.
# Usage, from the project root: benches/webhook_unique.sh [seconds] [connections] [BIN] [BODIES]
# Needs wrk, python3 (to sign the bodies) and the peer's venv (made as webhook_peer.sh makes it).
set -eu
D=${1:-10} C=${2:-32} BIN=${3:-target/release/summarybot} N=${4:-400000}
HERE=$(cd "$(dirname "$0")" && pwd)
PEER_DIR=${PEER_DIR:-$HERE/../../shared/bench}
SECRET=bench-secret-0123456789abcdef0123456789abcdef
THREADS=2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export BODIES=$T/bodies.tsv THREADS
# N distinct bodies, each signed: "sha256=<hmac><TAB><body>" per line.
SECRET=$SECRET N=$N python3 - >"$BODIES" <<'PY'
import hashlib, hmac, os, sys
key, n = os.environ["SECRET"].encode(), int(os.environ["N"])
out = sys.stdout
for i in range(n):
    body = '{"type":"summary_request","channel_id":"884513377211678742","hours":24,"request_id":"bench-%d"}' % i
    sig = hmac.new(key, body.encode(), hashlib.sha256).hexdigest()
    out.write("sha256=%s\t%s\n" % (sig, body))
PY
VENV=${PEER_VENV:-${TMPDIR:-/tmp}/peer-webhook-venv}
PY=$VENV/bin/python
if [[ ! -x $PY ]]; then python3 -m venv "$VENV" && "$PY" -m pip install -q fastapi uvicorn slowapi; fi
run_wrk() {
  local out
  out=$(wrk -t$THREADS -c"$C" -d"${D}s" --latency -s "$HERE/webhook_unique.lua" "http://127.0.0.1:$1" 2>&1)
  grep -E 'Requests/sec|99%|50%|Non-2xx|requests in' <<<"$out"
  local sent
  sent=$(grep -oE '^ *[0-9]+ requests in' <<<"$out" | grep -oE '[0-9]+')
  if ((sent > N)); then echo "  WARNING: $sent requests > $N bodies: some were duplicates; pass a larger BODIES"; fi
}
wait_up() { for _ in $(seq 50); do curl -s "127.0.0.1:$1/health" >/dev/null && return; sleep 0.2; done; }
P1=18091
WEBHOOK_SECRET=$SECRET RATE=100000000/minute $PY -m uvicorn --app-dir "$PEER_DIR" peer_webhook:app --port $P1 --log-level warning & S=$!
wait_up $P1
echo "== Python peer (in memory, not durable), $N distinct bodies"; run_wrk $P1
kill $S; wait $S 2>/dev/null || true
P2=18092
: >"$T/c.toml"
SUMMARYBOT_CONFIG=$T/c.toml SUMMARYBOT_DISCORD__ENABLED=false SUMMARYBOT_LLM__PROVIDER=builtin SUMMARYBOT_STORAGE__PATH=$T/db.redb \
  SUMMARYBOT_WEBHOOK__ENABLED=true WEBHOOK_SECRET=$SECRET WEBHOOK_HOST=127.0.0.1 WEBHOOK_PORT=$P2 RATE_LIMIT_PER_MINUTE=100000000 \
  "$BIN" run >"$T/log" 2>&1 & S=$!
wait_up $P2
echo "== summarybot (durable), $N distinct bodies"; run_wrk $P2
kill $S; wait $S 2>/dev/null || true
