# Gateway configuration "memory-notrace": configs/memory.sh with every trace sampled out
# (OTEL_TRACES_SAMPLER=always_off, read by the OpenTelemetry SDK). Not a deployment to recommend:
# it shows what recording the spans (server, gateway.authorize, the forwarded call) costs per request,
# since the default app records them for every request even with no exporter.
DESCRIPTION="memory store, token cache on, traces sampled out (OTEL_TRACES_SAMPLER=always_off)"
GATEWAY_SETTINGS="store: memory"
POLICY_SECTIONS=""
GATEWAY_ENV=("OTEL_TRACES_SAMPLER=always_off")
