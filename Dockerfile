# syntax=docker/dockerfile:1
#
# The Gateway container image.
#
#   docker build -t gateway:dev .
#   # policy/gateway.yaml: your policy, with audit.file: /var/lib/gateway/audit/decisions.jsonl
#   docker run --rm --read-only -p 8080:8080 -p 127.0.0.1:9901:9901 \
#     -v "$PWD/policy:/etc/gateway:ro" -v gateway-audit:/var/lib/gateway/audit gateway:dev
#
# Two stages: the SDK builds and publishes src/Gateway (never the tests), the runtime stage
# holds only the published output on the ASP.NET runtime image. The process runs as UID 64198,
# reads its policy from /etc/gateway (a mounted ConfigMap in Kubernetes) and writes only to the
# audit volume and stdout, so the root filesystem can be mounted read-only. Checked statically
# by tests/Gateway.DeploymentTests (no Docker engine is needed for that); docs/deploy.md says
# how to build and run it.

ARG DOTNET_VERSION=10.0

FROM mcr.microsoft.com/dotnet/sdk:${DOTNET_VERSION} AS build
WORKDIR /src

# Restore from the project files alone, so the package layer is reused until a csproj or the
# central package versions change. Every project src/Gateway references must be listed here
# (a test checks that the list follows the ProjectReferences).
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/Gateway.Core/Gateway.Core.csproj src/Gateway.Core/
COPY src/Gateway.Redis/Gateway.Redis.csproj src/Gateway.Redis/
COPY src/Gateway/Gateway.csproj src/Gateway/
RUN dotnet restore src/Gateway/Gateway.csproj

COPY src/ src/
# UseAppHost=false: the entry point is `dotnet gateway.dll`, so no native launcher is shipped.
# SatelliteResourceLanguages=en: the gateway is not localised; leave the libraries' translations out.
# (GenerateDocumentationFile stays on: the build's IDE0005 check needs it.)
RUN dotnet publish src/Gateway/Gateway.csproj --configuration Release --no-restore \
      --output /app -p:UseAppHost=false -p:SatelliteResourceLanguages=en \
 && mkdir -p /rootfs/var/lib/gateway/audit /rootfs/etc/gateway


FROM mcr.microsoft.com/dotnet/aspnet:${DOTNET_VERSION} AS runtime

LABEL org.opencontainers.image.title="gateway" \
      org.opencontainers.image.description="Agent capability gateway: validates capability tokens, enforces route policy, proxies allowed calls."

# DOTNET_EnableDiagnostics=0: the runtime would otherwise create its diagnostics IPC socket and
# debugger pipes in /tmp at start, which fails on a read-only root filesystem. (The Helm chart
# still mounts a small emptyDir on /tmp, so diagnostics can be switched back on there.)
# ASPNETCORE_HTTP_PORTS is emptied because the base image sets it to 8080 and `serve --urls`
# is the one place the listener is chosen; left set, Kestrel logs that one overrides the other.
ENV DOTNET_EnableDiagnostics=0 \
    ASPNETCORE_HTTP_PORTS="" \
    DOTNET_NOLOGO=1

WORKDIR /app
# Owned by root and not writable by the process: the code cannot be changed at run time.
COPY --from=build /app /app
# The audit folder is the one place the process writes (mount a volume there); the policy
# folder is created empty so a mount point exists.
COPY --from=build --chown=64198:64198 /rootfs/var/lib/gateway /var/lib/gateway
COPY --from=build /rootfs/etc/gateway /etc/gateway

# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 64198:64198

# 8080: the proxy (what agents call). 9901: the admin API and /healthz, /readyz (keep it private).
EXPOSE 8080 9901

# No HEALTHCHECK: Kubernetes ignores it and uses the chart's probes on the admin port
# (/healthz, /readyz). For plain Docker, probe http://127.0.0.1:9901/readyz from outside.
ENTRYPOINT ["dotnet", "gateway.dll"]
CMD ["serve", "--config", "/etc/gateway/gateway.yaml", "--urls", "http://0.0.0.0:8080", "--admin-urls", "http://0.0.0.0:9901"]
