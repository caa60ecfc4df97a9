# Gateway configuration "memory-cred-oauth": the memory store with an OAuth 2.0 client-credentials token
# brokered to the upstream (upstreams.bench.auth.oauth2_client_credentials). The harness's upstream serves
# the token endpoint (one-hour tokens), so the run measures the cached path every call takes after the
# first. Compare with "memory" in the same run.
DESCRIPTION="memory store, upstream credential: OAuth client credentials (cached token)"
GATEWAY_SETTINGS="store: memory"
prepare_config() {
    printf 'load-client-secret\n' >"$1/bench.secret"
    chmod 600 "$1/bench.secret"
    UPSTREAM_AUTH="{ oauth2_client_credentials: { token_url: \"$upstream_url/oauth/token\", client_id: load-gateway, client_secret_file: \"$1/bench.secret\" } }"
}
