# Gateway configuration "routes1000-mid": the memory store and a policy of 1000 GET routes (plus the POST
# route), the load's route in the middle.
DESCRIPTION="memory store, 1000 routes, the hit route in the middle"
GATEWAY_SETTINGS="store: memory"
POLICY_SECTIONS=""
GATEWAY_ENV=()
ROUTES_BEFORE=$(filler_routes 500 1)
ROUTES_AFTER=$(filler_routes 499 501)
