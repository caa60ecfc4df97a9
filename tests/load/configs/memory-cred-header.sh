# Gateway configuration "memory-cred-header": the memory store with a brokered static credential on the
# upstream (upstreams.bench.auth.header, X-Api-Key from a file the gateway re-reads every second).
# Compare with "memory" in the same run: the difference is the credential's cost per call.
DESCRIPTION="memory store, upstream credential: header X-Api-Key from a file"
GATEWAY_SETTINGS="store: memory"
prepare_config() {
    printf 'load-api-key-%s\n' "$RANDOM$RANDOM" >"$1/bench.key"
    chmod 600 "$1/bench.key"
    UPSTREAM_AUTH="{ header: { name: X-Api-Key, value_file: \"$1/bench.key\" } }"
}
