# Gateway configuration "revoke1k": the memory store with 1000 revocation rules loaded through the admin API
# (POST /revocations, key in GATEWAY_ADMIN_KEY) before the load starts; none matches the load's tokens.
# Revocation-rule scaling (issue 9): compare with configs/memory.sh (0 rules).
DESCRIPTION="memory store, 1000 revocation rules (none matching)"
GATEWAY_SETTINGS="store: memory"
POLICY_SECTIONS=""
GATEWAY_ENV=("GATEWAY_ADMIN_KEY=load-admin-key-not-secret")
after_start() {
    GATEWAY_ADMIN_KEY=load-admin-key-not-secret timeout 900 python3 "$here/revocations.py" "${ADMIN_PORT_OF[$2]}" 1000 --timeout 840 \
        | tee -a "$1/$2-revocations.txt"
}
