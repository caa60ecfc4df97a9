# Gateway configuration "redis-audit": "redis" with the audit trail on (audit.file, fsync after every
# batch), so that --configs redis,redis-audit measures what auditing costs with the Redis store.
# Its own redis-server, separate from "redis"'s. Events are counted and the chain verified after the run.
DESCRIPTION="Redis store (own redis-server, no persistence), token cache on, audit file on (fsync every batch)"
GATEWAY_SETTINGS="store: redis"
POLICY_SECTIONS=""
GATEWAY_ENV=()
prepare_config() { start_redis "$1" redis-audit; audit_file "$1" redis-audit; }
