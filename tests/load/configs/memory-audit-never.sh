# Gateway configuration "memory-audit-never": configs/memory-audit.sh with no fsync (the OS writes the file back).
# Prices the audit file's durability settings against each other (docs/performance.md).
# shellcheck source=memory-audit.sh
source "$here/configs/memory-audit.sh"
DESCRIPTION="memory store, token cache on, audit file on, fsync: never"
AUDIT_NAME=audit-memory-never
AUDIT_EXTRA="fsync: never"
