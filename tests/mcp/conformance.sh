#!/usr/bin/env bash
# The official MCP conformance suite's server scenarios, run twice against the same server
# (tests/Gateway.McpConformanceServer, built with the C# MCP SDK): once directly, once through
# an MCP route of the gateway with a grant for every tool, resource and prompt. The gateway is
# transparent when both runs give the same result for every check; the script prints both
# columns and exits 1 on any difference (or when the direct run itself fails a check).
#
#   bash tests/mcp/conformance.sh              # both runs and the comparison (about a minute after the build)
#   bash tests/mcp/conformance.sh --direct     # only against the server, no gateway
#   bash tests/mcp/conformance.sh --no-build   # reuse the Release build
#   bash tests/mcp/conformance.sh --plain      # through a plain route (one action for the whole server)
#   bash tests/mcp/conformance.sh --from-build # use what 'dotnet build Gateway.sln -c Release' left (tests/test.sh)
#
# Installs the suite (pinned in tests/mcp/package.json) into tests/mcp/node_modules with npm.
# Results go to artifacts/mcp-conformance/DATE-TIME/{direct,gateway}/ (each check's JSON), with
# every process's log beside them. Every process it starts is stopped, by PID, when it ends.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

direct_only=0
build=1
route=mcp
for arg in "$@"; do
    case $arg in
        --direct) direct_only=1 ;;
        --no-build) build=0 ;;
        --plain) route=plain ;;
        --from-build) build=from-build ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "unknown argument: $arg" >&2; exit 2 ;;
    esac
done

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
run_dir=$root/artifacts/mcp-conformance/$(date -u +%Y%m%d-%H%M%S)
mkdir -p "$run_dir"

pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT INT TERM

# Waits until the process' log shows "listening on X" and prints X (fails if it exits first).
listening_on() {
    local pid=$1 log=$2
    for _ in $(seq 1 600); do
        if grep -q '^listening on ' "$log" 2>/dev/null; then
            sed -n 's/^listening on //p' "$log" | head -1
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "process $pid exited before listening; the end of $log:" >&2
            tail -20 "$log" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "process $pid did not listen within 60 s" >&2
    return 1
}

free_port() {
    local port
    for _ in $(seq 1 100); do
        port=$((20000 + RANDOM % 20000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
    echo "no free port found" >&2
    return 1
}

wait_for_port() {
    local port=$1 pid=$2 log=$3
    for _ in $(seq 1 600); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "process $pid exited before listening on $port; the end of $log:" >&2
            tail -20 "$log" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "nothing listened on $port within 60 s" >&2
    return 1
}

# --- The suite ---------------------------------------------------------------------------------
command -v node >/dev/null || { echo "node is required (Debian package nodejs)" >&2; exit 1; }
suite=$here/node_modules/@modelcontextprotocol/conformance/dist
if [ ! -f "$suite/index.js" ]; then
    echo "installing the conformance suite into tests/mcp/node_modules ..."
    npm install --prefix "$here" --no-audit --no-fund --no-package-lock --loglevel=error >/dev/null
fi
cli=$suite/index.js
# The CLI imports fs.globSync (node 22) only to sum result folders, which this script does
# itself; on older node a copy without that import runs.
if [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 22 ]; then
    sed 's/globSync as o,//' "$suite/index.js" >"$suite/index-node20.js"
    grep -q 'globSync' "$suite/index-node20.js" && { echo "cannot remove the fs.globSync import from $suite/index.js" >&2; exit 1; }
    cli=$suite/index-node20.js
fi

# --- Build -------------------------------------------------------------------------------------
bin=$root/artifacts/mcp-conformance/bin
server_dll=$bin/server/Gateway.McpConformanceServer.dll
gateway_dll=$bin/gateway/gateway.dll
if [ "$build" = from-build ]; then
    server_dll=$root/tests/Gateway.McpConformanceServer/bin/Release/net10.0/Gateway.McpConformanceServer.dll
    gateway_dll=$root/src/Gateway/bin/Release/net10.0/gateway.dll
elif [ "$build" = 1 ]; then
    echo "building (Release) ..."
    dotnet publish "$root/tests/Gateway.McpConformanceServer/Gateway.McpConformanceServer.csproj" -c Release -o "$bin/server" -nologo -v q -clp:ErrorsOnly
    [ "$direct_only" = 1 ] || dotnet publish "$root/src/Gateway/Gateway.csproj" -c Release -o "$bin/gateway" -nologo -v q -clp:ErrorsOnly
fi

# --- The server --------------------------------------------------------------------------------
dotnet "$server_dll" >"$run_dir/server.log" 2>&1 &
pids+=($!)
server_url=$(listening_on "$!" "$run_dir/server.log")
echo "conformance server: $server_url"

run_suite() {
    local name=$1 url=$2
    # Both suites: "active" and "pending" (json-schema-2020-12, server-sse-polling).
    for which in active pending; do
        node "$cli" server --url "$url" --suite "$which" -o "$run_dir/$name" >"$run_dir/$name-$which.log" 2>&1 || true
    done
}

echo "running the server scenarios directly ..."
run_suite direct "$server_url"

# --- Through the gateway -----------------------------------------------------------------------
if [ "$direct_only" = 0 ]; then
    upstream=${server_url%/mcp}
    tools=(test_simple_text test_image_content test_audio_content test_embedded_resource test_multiple_content_types
        test_tool_with_logging test_tool_with_progress test_error_handling test_reconnection test_sampling
        test_elicitation test_elicitation_sep1034_defaults test_elicitation_sep1330_enums json_schema_2020_12_tool)
    prompts=(test_simple_prompt test_prompt_with_arguments test_prompt_with_embedded_resource test_prompt_with_image)
    policy=$run_dir/gateway.yaml
    {
        cat <<EOF
# Generated by tests/mcp/conformance.sh: one route in front of the conformance server, budgets
# too large to run out; an MCP route maps every tool, resource and prompt.
gateway:
  audience: https://gateway.conformance.test
  max_token_lifetime: 1h
issuers:
  - issuer: https://idp.conformance.test
    jwks_file: keys/conformance-es256.jwks.json
    algorithms: [ES256]
tiers:
  low: { risk: 0 }
budgets:
  steps: { default: 1000000 }
  risk: { limit: 1000000, window: 1d, on_exceed: deny }
upstreams:
  conformance: { destinations: [ $upstream ] }
routes:
EOF
        if [ "$route" = plain ]; then
            cat <<EOF
  - id: conformance-plain
    match: { methods: [GET, POST, DELETE], path: /mcp }
    upstream: conformance
    action: conformance.tools:call
    resource: "conformance:tool/all"
    tier: low
EOF
        else
            cat <<EOF
  - id: conformance-mcp
    match: { path: /mcp }
    upstream: conformance
    mcp:
      tools:
EOF
            for tool in "${tools[@]}"; do
                echo "        $tool: { action: conformance.tools:call, resource: \"conformance:tool/$tool\", tier: low }"
            done
            cat <<EOF
      resources:
        - { uri: "test://{name}", action: conformance.resources:read, resource: "conformance:resource/{name}", tier: low }
        - { uri: "test://template/{id}/data", action: conformance.resources:read, resource: "conformance:resource/template-{id}", tier: low }
      prompts:
EOF
            for prompt in "${prompts[@]}"; do
                echo "        $prompt: { action: conformance.prompts:get, resource: \"conformance:prompt/$prompt\", tier: low }"
            done
        fi
    } >"$policy"

    dotnet "$gateway_dll" keys generate --alg ES256 --kid conformance-es256 --out "$run_dir/keys" >/dev/null
    token=$(dotnet "$gateway_dll" token mint --key "$run_dir/keys/conformance-es256-private.jwk" \
        --iss https://idp.conformance.test --aud https://gateway.conformance.test --sub user:conformance --agent agent:conformance \
        --action conformance.tools:call --action conformance.resources:read --action conformance.prompts:get \
        --resource 'conformance:tool/*' --resource 'conformance:resource/*' --resource 'conformance:prompt/*' --ttl 1h)

    gateway_port=$(free_port)
    admin_port=$(free_port)
    dotnet "$gateway_dll" serve --config "$policy" --urls "http://127.0.0.1:$gateway_port" \
        --admin-urls "http://127.0.0.1:$admin_port" >"$run_dir/gateway.log" 2>&1 &
    pids+=($!)
    wait_for_port "$gateway_port" "$!" "$run_dir/gateway.log"
    echo "gateway ($route route): http://127.0.0.1:$gateway_port/mcp"

    GATEWAY_TOKEN=$token node "$here/token-hop.mjs" "http://127.0.0.1:$gateway_port" >"$run_dir/hop.log" 2>&1 &
    pids+=($!)
    hop_port=$(listening_on "$!" "$run_dir/hop.log")
    echo "token hop: http://127.0.0.1:$hop_port/mcp"

    echo "running the server scenarios through the gateway ..."
    run_suite gateway "http://127.0.0.1:$hop_port/mcp"
fi

# --- Compare -----------------------------------------------------------------------------------
node "$here/compare-results.mjs" "$run_dir/direct" "$([ "$direct_only" = 0 ] && echo "$run_dir/gateway")" | tee "$run_dir/summary.txt"
status=${PIPESTATUS[0]}
echo "results: $run_dir"
exit "$status"
