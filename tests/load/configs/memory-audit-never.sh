# Gateway configuration "memory-audit-never": configs/memory-audit.sh with no fsync (the OS writes the file back).
# Prices the audit file's durability settings against each other (docs/performance.md).
DESCRIPTION="memory store, token cache on, audit file on, fsync: never"
GATEWAY_SETTINGS="store: memory"
POLICY_SECTIONS=""
GATEWAY_ENV=()
prepare_config() {
    AUDIT_DIR=$1/audit-memory-never
    mkdir -p "$AUDIT_DIR"
    POLICY_SECTIONS="audit:
  file: $AUDIT_DIR/decisions.jsonl
  fsync: never"
}
