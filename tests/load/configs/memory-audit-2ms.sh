# Gateway configuration "memory-audit-2ms": configs/memory-audit.sh with a 2 ms group commit instead of the default 10 ms.
# Prices the audit file's durability settings against each other (docs/performance.md).
# shellcheck source=memory-audit.sh
source "$here/configs/memory-audit.sh"
DESCRIPTION="memory store, token cache on, audit file on, batch_delay: 2ms"
AUDIT_NAME=audit-memory-2ms
AUDIT_EXTRA="batch_delay: 2ms"
