# Gateway configuration "memory-audit": the memory store with the audit file sink on (audit.file), to
# measure audit on against off (configs/memory.sh) side by side. run.sh counts the audit lines of the
# load's routes against the requests it sent, after stopping this gateway gracefully (the writer drains).
DESCRIPTION="memory store, token cache on, audit file on"
GATEWAY_SETTINGS="store: memory"
POLICY_SECTIONS=""
GATEWAY_ENV=()
prepare_config() {
    AUDIT_DIR=$1/${AUDIT_NAME:-audit-memory}
    mkdir -p "$AUDIT_DIR"
    POLICY_SECTIONS="audit:
  file: $AUDIT_DIR/decisions.jsonl${AUDIT_EXTRA:+
  $AUDIT_EXTRA}"
}
