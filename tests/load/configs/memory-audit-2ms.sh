# Gateway configuration "memory-audit-2ms": configs/memory-audit.sh with a 2 ms group commit instead of the default 10 ms.
# Prices the audit file's durability settings against each other (docs/performance.md).
DESCRIPTION="memory store, token cache on, audit file on, batch_delay: 2ms"
GATEWAY_SETTINGS="store: memory"
POLICY_SECTIONS=""
GATEWAY_ENV=()
prepare_config() {
    AUDIT_DIR=$1/audit-memory-2ms
    mkdir -p "$AUDIT_DIR"
    POLICY_SECTIONS="audit:
  file: $AUDIT_DIR/decisions.jsonl
  batch_delay: 2ms"
}
