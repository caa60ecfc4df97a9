# Gateway configuration "routes10-last": the memory store and a policy of 10 GET routes (plus the POST
# route), the load's route last. Route-count scaling (issue 9): matching must not degrade linearly.
DESCRIPTION="memory store, 10 routes, the hit route last"
GATEWAY_SETTINGS="store: memory"
POLICY_SECTIONS=""
GATEWAY_ENV=()
ROUTES_BEFORE=$(filler_routes 9 1)
