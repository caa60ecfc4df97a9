# Gateway configuration "redis": budgets, revocations and approvals in a redis-server started here on a
# free loopback port (no persistence), named to the gateway through Gateway__Store__Redis. run.sh counts
# the Redis commands of every measurement (INFO commandstats) and divides by the allowed calls.
DESCRIPTION="Redis store (local redis-server, no persistence), token cache on"
GATEWAY_SETTINGS="store: redis"
POLICY_SECTIONS=""
GATEWAY_ENV=()
prepare_config() {
    local port
    port=$(free_port)
    start_process "redis-$port" "$1/redis-$port.log" \
        redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no --protected-mode yes
    wait_for_port "$port" "redis-$port"
    REDIS_PORT=$port
    GATEWAY_ENV=("Gateway__Store__Redis=127.0.0.1:$port")
    # COALESCE=false (configs/*-single.sh): one script call per charge.
    if [ -n "$COALESCE" ]; then GATEWAY_ENV+=("Gateway__Store__CoalesceCharges=$COALESCE"); fi
}
