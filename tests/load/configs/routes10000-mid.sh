# Gateway configuration "routes10000-mid": the memory store and a policy of 10000 GET routes (plus the POST
# route), the load's route in the middle.
DESCRIPTION="memory store, 10000 routes, the hit route in the middle"
GATEWAY_SETTINGS="store: memory"
POLICY_SECTIONS=""
GATEWAY_ENV=()
ROUTES_BEFORE=$(filler_routes 5000 1)
ROUTES_AFTER=$(filler_routes 4999 5001)
