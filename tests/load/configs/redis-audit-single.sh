# Gateway configuration "redis-audit-single": configs/redis-audit.sh with charges not coalesced
# (Gateway__Store__CoalesceCharges=false): one script call per charge, as before issue 15, to price
# the coalescing side by side.
# shellcheck source=redis-audit.sh
source "$(dirname "${BASH_SOURCE[0]}")/redis-audit.sh"
DESCRIPTION="Redis store, audit file on, one script call per charge (not coalesced)"
COALESCE=false
AUDIT_NAME=audit-redis-single
