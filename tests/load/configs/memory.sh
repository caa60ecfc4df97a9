# Gateway configuration "memory": budgets, revocations and approvals in the gateway's own memory.
# A configuration file is sourced by run.sh before its gateway starts; it may set:
#   DESCRIPTION      one line for the table's legend
#   GATEWAY_SETTINGS lines added under the policy's `gateway:` section (indented by run.sh)
#   POLICY_SECTIONS  whole top-level sections appended to the policy (audit:, telemetry:, ...)
#   GATEWAY_ENV      NAME=value words added to the gateway's environment
#   UPSTREAM_AUTH    the bench upstream's `auth:` mapping, one line (configs/memory-cred-*.sh)
# and may define `prepare_config` (called once, before the gateway starts, with the run folder as
# $1) to start what the configuration needs; start processes there with `start_process NAME LOG
# COMMAND...` so that run.sh stops them by PID at the end, e.g. for a Redis store:
#   prepare_config() { local port; port=$(free_port); start_process redis "$1/redis.log" \
#     redis-server --port "$port" --save '' --appendonly no; wait_for_port "$port" redis
#     GATEWAY_SETTINGS+=$'\nredis: 127.0.0.1:'"$port"; }
DESCRIPTION="memory store, token cache on"
GATEWAY_SETTINGS="store: memory"
POLICY_SECTIONS=""
GATEWAY_ENV=()
