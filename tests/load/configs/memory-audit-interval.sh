# Gateway configuration "memory-audit-interval": configs/memory-audit.sh with fsync: interval (every 1 s) instead of every batch.
# Prices the audit file's durability settings against each other (docs/performance.md).
# shellcheck source=memory-audit.sh
source "$here/configs/memory-audit.sh"
DESCRIPTION="memory store, token cache on, audit file on, fsync: interval"
AUDIT_NAME=audit-memory-interval
AUDIT_EXTRA="fsync: interval"
