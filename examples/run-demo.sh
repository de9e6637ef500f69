#!/usr/bin/env bash
# make run: the server on the demo configuration (examples/tessera.properties:
# issuer http://127.0.0.1:8080, embedded memory store, demo client and
# demo API token) and the example login page on http://127.0.0.1:8081 (its
# authorisation endpoint and logout page). Both run in this terminal's
# foreground process group; Ctrl-C stops both cleanly.
set -eu
cd "$(dirname "$0")/.."

# A fixed PKCE pair for the demo (RFC 7636 §4.1, §4.2: S256 of the verifier).
verifier=tessera-demo-code-verifier-0123456789-abcdefghijklmnop
challenge=QY_TA66mdq5HzXxhSZ2-3CyE7v1EaMn3lshjC2V-LHc

pids=()
stop() {
    trap - INT TERM
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
}
trap 'stop; exit 0' INT TERM

build/release/tessera --config examples/tessera.properties &
pids+=($!)
LOGIN_PAGE_API_TOKEN=demo-api-token build/release/login-page --listen 127.0.0.1:8081 \
    --server http://127.0.0.1:8080 --users examples/login-page/users.json &
pids+=($!)

cat <<MSG
Tessera demo
  issuer             http://127.0.0.1:8080
  discovery          http://127.0.0.1:8080/.well-known/openid-configuration
  JWK set            http://127.0.0.1:8080/jwks.json
  healthcheck        curl -H 'Authorization: Bearer demo-api-token' http://127.0.0.1:8080/monitor/v1/healthcheck
  login page         http://127.0.0.1:8081/login (users alice / alice-pass, bob / bob-pass)
  demo client        demo-client / demo-secret, redirect http://127.0.0.1:9999/callback

Sign in: open this URL in a browser
  http://127.0.0.1:8081/login?response_type=code&client_id=demo-client&redirect_uri=http%3A%2F%2F127.0.0.1%3A9999%2Fcallback&scope=openid%20profile%20email&state=demo-state&nonce=demo-nonce&code_challenge=${challenge}&code_challenge_method=S256
The browser ends on http://127.0.0.1:9999/callback?code=...&state=demo-state&iss=...
(nothing listens there: copy the code from the address bar) and redeem it with
  curl -u demo-client:demo-secret -d grant_type=authorization_code -d code=CODE \\
       -d redirect_uri=http://127.0.0.1:9999/callback -d code_verifier=${verifier} \\
       http://127.0.0.1:8080/token
PKCE code verifier: ${verifier}
Ctrl-C stops both.
MSG

# Either one ending ends the demo.
status=0
wait -n "${pids[@]}" || status=$?
stop
exit "$status"
