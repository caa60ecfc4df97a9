# Gateway configuration "memory-audit": "memory" with the audit trail on (audit.file, fsync after
# every batch, the default), so that a run with --configs memory,memory-audit measures what
# auditing costs, side by side. After the run the gateway is stopped gracefully, its events are
# counted against the responses sent (none may be lost) and the chain is verified.
DESCRIPTION="memory store, token cache on, audit file on (fsync every batch)"
GATEWAY_SETTINGS="store: memory"
POLICY_SECTIONS=""
GATEWAY_ENV=()
prepare_config() { audit_file "$1" memory-audit; }
