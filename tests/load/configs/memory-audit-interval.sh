# Gateway configuration "memory-audit-interval": configs/memory-audit.sh with fsync: interval (every 1 s) instead of every batch.
# Prices the audit file's durability settings against each other (docs/performance.md).
DESCRIPTION="memory store, token cache on, audit file on, fsync: interval"
GATEWAY_SETTINGS="store: memory"
POLICY_SECTIONS=""
GATEWAY_ENV=()
prepare_config() {
    AUDIT_DIR=$1/audit-memory-interval
    mkdir -p "$AUDIT_DIR"
    POLICY_SECTIONS="audit:
  file: $AUDIT_DIR/decisions.jsonl
  fsync: interval"
}
