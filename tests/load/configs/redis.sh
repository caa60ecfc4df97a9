# Gateway configuration "redis": budgets, revocations and approvals in Redis, as several replicas
# would share them. prepare_config starts a redis-server of its own (loopback, free port, no
# persistence; installed from Debian's packages when missing) and points the store at it with
# Gateway__Store__Redis; run.sh stops it by PID at the end.
DESCRIPTION="Redis store (own redis-server, no persistence), token cache on"
GATEWAY_SETTINGS="store: redis"
POLICY_SECTIONS=""
GATEWAY_ENV=()
prepare_config() { start_redis "$1" redis; }
