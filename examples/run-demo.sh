#!/usr/bin/env bash
# make run: the server on the demo configuration (examples/tessera.properties:
# issuer http://127.0.0.1:8080, embedded memory store, demo client and
# demo API token). Ctrl-C stops it cleanly.
set -eu
cd "$(dirname "$0")/.."
cat <<'MSG'
Tessera demo
  issuer             http://127.0.0.1:8080
  discovery          http://127.0.0.1:8080/.well-known/openid-configuration
  JWK set            http://127.0.0.1:8080/jwks.json
  healthcheck        curl -H 'Authorization: Bearer demo-api-token' http://127.0.0.1:8080/monitor/v1/healthcheck
  demo client        demo-client / demo-secret, redirect http://127.0.0.1:9999/callback
MSG
exec build/release/tessera --config examples/tessera.properties
