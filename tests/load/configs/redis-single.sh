# Gateway configuration "redis-single": configs/redis.sh with charges not coalesced
# (Gateway__Store__CoalesceCharges=false): one script call per charge, as before issue 15.
# shellcheck source=redis.sh
source "$(dirname "${BASH_SOURCE[0]}")/redis.sh"
DESCRIPTION="Redis store, one script call per charge (not coalesced)"
COALESCE=false
