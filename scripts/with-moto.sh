#!/usr/bin/env bash
# Runs a command with real DynamoDB and S3 APIs: starts moto_server on a free
# loopback port, points the AWS SDK at it and stops it afterwards.
set -euo pipefail

if ! command -v moto_server >/dev/null 2>&1; then
  python3 -m pip install --quiet 'moto[server]'
fi

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
log=$(mktemp)
moto_server -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true; rm -f "$log"' EXIT

ready=
for _ in $(seq 1 150); do
  if python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/', timeout=1)" 2>/dev/null; then
    ready=1
    break
  fi
  if ! kill -0 "$moto_pid" 2>/dev/null; then
    echo "moto_server exited:" >&2; cat "$log" >&2; exit 1
  fi
  sleep 0.2
done
if [ -z "$ready" ]; then
  echo "moto_server did not answer on port $port" >&2; cat "$log" >&2; exit 1
fi

export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$port"
export AWS_ENDPOINT_URL_S3="http://127.0.0.1:$port"
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
"$@"
