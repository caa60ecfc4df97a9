#!/usr/bin/env bash
# The load harness (issue 9): the gateway and a bare YARP proxy in front of the same fast upstream,
# side by side in one run, on loopback, measured with wrk. One command:
#
#   bash tests/load/run.sh                       # full run: bare YARP vs the gateway, memory store
#   bash tests/load/run.sh --quick --aa          # smoke run, with a second bare YARP (A/A check)
#
# Method, options and how to add a gateway configuration: tests/load/README.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

# --- Options (defaults are the issue's method) ------------------------------------------------
warmup=20          # seconds of warm-up per target (tiered JIT and PGO need it)
rounds=5           # alternating rounds per scenario
seconds=10         # seconds per measurement
configs=memory     # gateway configurations (tests/load/configs/NAME.sh), comma-separated; none for no gateway
aa=0               # 1: add a second bare YARP ("bare-b") to validate the harness (expect ~1.00x)
jwt=0              # 1: add "bare-jwt", bare YARP behind ASP.NET Core JwtBearer and a scope policy
mixes=one,pool     # token mixes: one repeated token; a pool larger than the gateway's token cache; rotate
reuse=10           # rotate mix: calls per token before the next one replaces it
baseline=""        # a git revision to build as well, for before/after in one run
baseline_configs=""
methods=GET,POST
loads=c1,c32,paced
pool=40000         # pool size; see README.md for why 4x the default cache of 10,000
body_bytes=1024
paced_connections=32
think_ms=10        # mean think time per connection at the paced load: 32 / 10 ms ~ 3k req/s
threads=1          # wrk threads (at most the connections)
max_steal=1.0      # percent; a round with more steal is measured again
steal_retries=2    # at most this many reruns of one round
build=1
out=""
profile=0          # seconds of dotnet-trace per gateway after the warm-up (0 = none)
perf_seconds=0     # seconds of `perf record` per target after the warm-up (0 = none)

usage() {
    cat <<'EOF'
usage: bash tests/load/run.sh [options]
  --quick               smoke run: 2 s warm-up, 2 rounds of 3 s
  --aa                  add a second bare YARP target (A/A: its ratio must be ~1.00)
  --jwt                 add bare-jwt: bare YARP plus ASP.NET Core JwtBearer validating the same ES256 token and
                        an authorization policy on the route's action (what a team would build instead)
  --configs LIST        gateway configurations from tests/load/configs/ (default memory; none = no gateway)
  --mixes LIST          one,pool (default both); rotate: each token of the pool used --reuse times, then replaced
  --reuse N             rotate mix: calls per token (default 10: a tenth of the calls validate a new token)
  --baseline REV        also build the gateway at git revision REV (git archive, so no work tree is touched) and
                        run the --baseline-configs on it as targets gwb-NAME: before and after side by side
  --baseline-configs L  configurations for the baseline build (default: the same as --configs)
  --methods LIST        GET,POST (default both); MCP adds a 1 KiB MCP tools/call (POST /bench/mcp, 2026-07-28
                        generation) through an MCP route of the gateway and a plain route of bare YARP
  --loads LIST          c1,c32,paced (default all); any cN is N connections, closed loop (c8, c128, ...)
  --warmup S            warm-up seconds per target (default 20)
  --rounds N            rounds per scenario (default 5)
  --seconds S           seconds per measurement (default 10)
  --pool N              tokens in the pool mix (default 40000)
  --paced-connections N connections of the paced load (default 32)
  --think-ms N          mean think time of the paced load (default 10)
  --threads N           wrk threads (default 1)
  --no-build            reuse the last build in artifacts/load/bin
  --profile S           after the warm-up, trace bare YARP and each gateway for S s under GET c=32 one-token
                        (dotnet-trace, sampled thread time; installed with 'dotnet tool install -g')
  --perf S              after the warm-up, sample every target's CPU with 'perf record' for S s under
                        GET c=32 one-token and print where its CPU goes per request (perf_profile.py);
                        starts every target with the runtime's perf map on (Debian package linux-perf)
  --out DIR             results folder (default artifacts/load/YYYYmmdd-HHMMSS)
EOF
}

number() { [[ "$2" =~ ^[0-9]+$ ]] || { echo "$1 needs a whole number, got '$2'" >&2; exit 2; }; }

while [ $# -gt 0 ]; do
    case "$1" in
        --quick) warmup=2 rounds=2 seconds=3 ;;
        --aa) aa=1 ;;
        --jwt) jwt=1 ;;
        --reuse) number "$1" "${2:-}"; reuse=$2; shift ;;
        --baseline) baseline=${2:?}; shift ;;
        --baseline-configs) baseline_configs=${2:?}; shift ;;
        --configs) configs=${2:?}; shift ;;
        --mixes) mixes=${2:?}; shift ;;
        --methods) methods=${2:?}; shift ;;
        --loads) loads=${2:?}; shift ;;
        --warmup) number "$1" "${2:-}"; warmup=$2; shift ;;
        --rounds) number "$1" "${2:-}"; rounds=$2; shift ;;
        --seconds) number "$1" "${2:-}"; seconds=$2; shift ;;
        --pool) number "$1" "${2:-}"; pool=$2; shift ;;
        --paced-connections) number "$1" "${2:-}"; paced_connections=$2; shift ;;
        --think-ms) number "$1" "${2:-}"; think_ms=$2; shift ;;
        --threads) number "$1" "${2:-}"; threads=$2; shift ;;
        --no-build) build=0 ;;
        --profile) number "$1" "${2:-}"; profile=$2; shift ;;
        --perf) number "$1" "${2:-}"; perf_seconds=$2; shift ;;
        --out) out=${2:?}; shift ;;
        -h | --help) usage; exit 0 ;;
        *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

IFS=, read -r -a mix_list <<<"$mixes"
IFS=, read -r -a method_list <<<"$methods"
IFS=, read -r -a load_list <<<"$loads"
config_list=()
if [ "$configs" != none ]; then IFS=, read -r -a config_list <<<"$configs"; fi
for m in "${mix_list[@]}"; do [[ "$m" =~ ^(one|pool|rotate)$ ]] || { echo "unknown mix: $m" >&2; exit 2; }; done
for m in "${method_list[@]}"; do [[ "$m" =~ ^(GET|POST|MCP)$ ]] || { echo "unknown method: $m" >&2; exit 2; }; done
for l in "${load_list[@]}"; do [[ "$l" =~ ^(c[1-9][0-9]*|paced)$ ]] || { echo "unknown load: $l" >&2; exit 2; }; done
for c in "${config_list[@]}"; do [ -f "$here/configs/$c.sh" ] || { echo "no configuration $here/configs/$c.sh" >&2; exit 2; }; done
[ "$rounds" -ge 1 ] && [ "$seconds" -ge 1 ] || { echo "--rounds and --seconds must be at least 1" >&2; exit 2; }

# --- Tools ------------------------------------------------------------------------------------
if ! command -v wrk >/dev/null 2>&1; then
    echo "Installing wrk (Debian package)"
    if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq wrk >/dev/null
fi
command -v dotnet >/dev/null 2>&1 || { echo "dotnet is required (see global.json)" >&2; exit 1; }
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
if [ "$perf_seconds" -gt 0 ]; then
    if ! command -v perf >/dev/null 2>&1; then
        echo "Installing perf (Debian package linux-perf)"
        if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq linux-perf >/dev/null
    fi
    # Every target alike, bare YARP included: JIT-compiled code named in /tmp/perf-PID.map, and
    # mapped once (not double-mapped for W^X) so perf can attribute samples to it.
    export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0
fi

# --- Targets and the time this will take ------------------------------------------------------
targets=(bare)
[ "$aa" = 1 ] && targets+=(bare-b)
[ "$jwt" = 1 ] && targets+=(bare-jwt)
for c in "${config_list[@]}"; do targets+=("gw-$c"); done
baseline_list=()
if [ -n "$baseline" ]; then
    git -C "$root" rev-parse --verify -q "$baseline^{commit}" >/dev/null || { echo "--baseline: no revision $baseline" >&2; exit 2; }
    IFS=, read -r -a baseline_list <<<"${baseline_configs:-$configs}"
    for c in "${baseline_list[@]}"; do
        [ -f "$here/configs/$c.sh" ] || { echo "no configuration $here/configs/$c.sh" >&2; exit 2; }
        targets+=("gwb-$c")
    done
fi
n_targets=${#targets[@]}
kinds=$((${#mix_list[@]} * ${#method_list[@]}))
warm_each=$(((warmup + kinds - 1) / kinds))
n_scenarios=$((kinds * ${#load_list[@]}))
expected=$((n_targets * kinds * (warm_each + 1) + n_scenarios * rounds * n_targets * (seconds + 1)))
token_hours=$((expected / 3600 + 2))

run_dir=${out:-$root/artifacts/load/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$run_dir"
run_dir=$(cd "$run_dir" && pwd) # the policy names files by absolute path; --out may be relative
bin=$root/artifacts/load/bin

{
    echo "machine:   $(nproc) CPUs, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), kernel $(uname -r)"
    echo "           sched_autogroup_enabled=$(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null || echo '?'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "tools:     $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2), dotnet $(dotnet --version)"
    echo "targets:   ${targets[*]} (ratios against bare)"
    echo "scenarios: mixes ${mixes}, methods ${methods}, loads ${loads} (paced: ${paced_connections} connections, ${think_ms} ms mean think time)"
    echo "method:    ${warmup} s warm-up per target, ${rounds} alternating rounds of ${seconds} s, medians; steal > ${max_steal}% reruns a round"
    echo "expected:  about $((expected / 60)) min $((expected % 60)) s after the build (more if rounds are rerun for steal)"
    echo "results:   $run_dir"
} | tee "$run_dir/about.txt"
if awk -v n="$(nproc)" '{ exit !($1 > n / 2) }' /proc/loadavg; then
    echo "warning: the machine is busy (load average $(cut -d' ' -f1 /proc/loadavg) on $(nproc) CPUs); expect noisy numbers, and the A/A ratio shows how noisy" | tee -a "$run_dir/about.txt"
fi

# --- Processes: started here, from this shell (no setsid), stopped by PID on exit -------------
declare -A PID_OF=() PORT_OF=() LOG_OF=() DESCRIPTION_OF=()
# Per target: a Redis to count commands on, an audit folder to count events in, requests sent
# (warm-up and checks included) and the connections of every wrk run (requests in flight when wrk
# stops are answered, and audited, but not counted by wrk).
declare -A REDIS_PORT_OF=() AUDIT_DIR_OF=() ADMIN_PORT_OF=() SENT_OF=() INFLIGHT_OF=()
PIDS=()
WRK_PID=""

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    [ -n "$WRK_PID" ] && kill "$WRK_PID" 2>/dev/null || true
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    [ ${#PIDS[@]} -gt 0 ] && echo "stopped: ${PIDS[*]}"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Usable from configuration files: start_process NAME LOG COMMAND...
start_process() {
    local name=$1 log=$2
    shift 2
    "$@" >"$log" 2>&1 &
    PIDS+=("$!")
    PID_OF[$name]=$!
    LOG_OF[$name]=$log
}

# Usable from configuration files: a free loopback port.
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
    exit 1
}

# Usable from configuration files: wait_for_port PORT NAME (fails when NAME's process exits).
wait_for_port() {
    local port=$1 name=$2
    for _ in $(seq 1 600); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        if [ -n "${PID_OF[$name]:-}" ] && ! kill -0 "${PID_OF[$name]}" 2>/dev/null; then
            echo "$name exited before listening; the end of ${LOG_OF[$name]}:" >&2
            tail -20 "${LOG_OF[$name]}" >&2
            exit 1
        fi
        sleep 0.1
    done
    echo "$name did not listen on $port within 60 s" >&2
    exit 1
}

# --- Build ------------------------------------------------------------------------------------
if [ "$build" = 1 ]; then
    echo "building (Release) ..."
    dotnet publish "$root/src/Gateway/Gateway.csproj" -c Release -o "$bin/gateway" -nologo -v q -clp:ErrorsOnly
    for project in Upstream BareProxy TokenPool; do
        dotnet publish "$here/$project/$project.csproj" -c Release -o "$bin/$project" -nologo -v q -clp:ErrorsOnly
    done
fi
if [ -n "$baseline" ]; then
    # The baseline's sources from git (not a work tree), in a temporary folder outside the repository
    # (its docs and projects would otherwise sit beside this checkout's), built into the results.
    echo "building the baseline $baseline ($(git -C "$root" rev-parse --short "$baseline")) (Release) ..."
    baseline_src=$(mktemp -d)
    git -C "$root" archive "$baseline" | tar -x -C "$baseline_src"
    dotnet publish "$baseline_src/src/Gateway/Gateway.csproj" -c Release -o "$run_dir/baseline-bin" -nologo -v q -clp:ErrorsOnly
    rm -rf "$baseline_src"
fi
for dll in gateway/gateway.dll Upstream/upstream.dll BareProxy/bare-proxy.dll TokenPool/token-pool.dll; do
    [ -f "$bin/$dll" ] || { echo "missing $bin/$dll: run without --no-build" >&2; exit 1; }
done

# --- Key, tokens and the request body -----------------------------------------------------------
issuer=https://idp.load.test
audience=https://gateway.load.test
actions=bench.items:read,bench.items:update
resource='bench:item/*'
needs_pool=0
[[ " ${mix_list[*]} " == *" pool "* || " ${mix_list[*]} " == *" rotate "* ]] && needs_pool=1
echo "minting: the repeated token with 'gateway token mint'$([ "$needs_pool" = 1 ] && echo ", ${pool} more for the pool") ..."
dotnet "$bin/gateway/gateway.dll" keys generate --alg ES256 --kid load-es256 --out "$run_dir/keys" >/dev/null
key=$run_dir/keys/load-es256-private.jwk
jwks=$run_dir/keys/load-es256.jwks.json
dotnet "$bin/gateway/gateway.dll" token mint --key "$key" --iss "$issuer" --aud "$audience" \
    --sub user:load --agent agent:load --action bench.items:read --action bench.items:update \
    --resource "$resource" --ttl "${token_hours}h" --max-steps 1000000000 >"$run_dir/tokens-one.txt"
if [ "$needs_pool" = 1 ]; then
    dotnet "$bin/TokenPool/token-pool.dll" "$key" "$issuer" "$audience" "$actions" "$resource" \
        $((token_hours * 3600)) "$pool" "$run_dir/tokens-pool.txt"
fi
token=$(head -1 "$run_dir/tokens-one.txt")

# --- Upstream, bare YARP, gateways --------------------------------------------------------------
common_env=(ASPNETCORE_ENVIRONMENT=Production)

port=$(free_port)
PORT_OF[upstream]=$port
start_process upstream "$run_dir/upstream.log" env "${common_env[@]}" dotnet "$bin/Upstream/upstream.dll" --urls "http://127.0.0.1:$port"
wait_for_port "$port" upstream
upstream_url=http://127.0.0.1:${PORT_OF[upstream]}

# Usable from configuration files: COUNT routes that the load never hits, numbered from START, as
# policy text (distinct literal prefixes, a route value and a resource template, like real routes).
filler_routes() { # COUNT START
    awk -v n="$1" -v s="$2" 'BEGIN {
        for (i = s; i < s + n; i++) {
            printf "  - id: filler-%d\n    match: { methods: [GET], path: \"/svc%d/items/{id}\" }\n", i, i
            printf "    upstream: bench\n    action: bench.items:read\n    resource: \"bench:item/{id}\"\n    tier: low\n"
        }
    }'
}

write_policy() { # FILE SETTINGS SECTIONS ROUTES_BEFORE ROUTES_AFTER [UPSTREAM_AUTH]
    cat >"$1" <<EOF
# Generated by tests/load/run.sh: two routes like the bare proxy's one, budgets too large to run out.
gateway:
  audience: $audience
  max_token_lifetime: ${token_hours}h
$(printf '%s\n' "$2" | sed -e '/^$/d' -e 's/^/  /')
issuers:
  - issuer: $issuer
    jwks_file: $jwks
    algorithms: [ES256]
tiers:
  low: { risk: 1 }
budgets:
  steps: { default: 1000000000 }
  risk: { limit: 1000000000, window: 24h, on_exceed: deny }
upstreams:
  bench: { destinations: [ "$upstream_url" ]${6:+, auth: $6} }
routes:
$4
  - id: bench-read
    match: { methods: [GET], path: "/bench/items/{id}" }
    upstream: bench
    action: bench.items:read
    resource: "bench:item/{id}"
    tier: low
  - id: bench-update
    match: { methods: [POST], path: "/bench/items/{id}" }
    upstream: bench
    action: bench.items:update
    resource: "bench:item/{id}"
    tier: low
$5
$(mcp_route)
$3
EOF
}

# The MCP route, only when the MCP scenario runs: one tool whose resource comes from its arguments,
# covered by the token's bench:item/* grant like the REST routes.
mcp_route() {
    [[ " ${method_list[*]} " == *" MCP "* ]] || return 0
    cat <<'EOF'
  - id: bench-mcp
    match: { path: "/bench/mcp" }
    upstream: bench
    mcp:
      tools:
        get_item: { action: bench.items:read, resource: "bench:item/{args.id}", tier: low }
EOF
}

for target in "${targets[@]}"; do
    port=$(free_port)
    PORT_OF[$target]=$port
    case "$target" in
        bare | bare-b)
            DESCRIPTION_OF[$target]="bare YARP (same version, one route, default settings)"
            start_process "$target" "$run_dir/$target.log" env "${common_env[@]}" \
                dotnet "$bin/BareProxy/bare-proxy.dll" --urls "http://127.0.0.1:$port" --upstream "$upstream_url"
            ;;
        bare-jwt)
            DESCRIPTION_OF[$target]="bare YARP + ASP.NET Core JwtBearer (the same ES256 token, keys from the same JWKS file) + an authorization policy on the route's action"
            start_process "$target" "$run_dir/$target.log" env "${common_env[@]}" \
                dotnet "$bin/BareProxy/bare-proxy.dll" --urls "http://127.0.0.1:$port" --upstream "$upstream_url" \
                --jwks "$jwks" --issuer "$issuer" --audience "$audience"
            ;;
        gw-* | gwb-*)
            # gwb-NAME: configuration NAME on the baseline build, its files in their own folder.
            name=${target#*-} dll=$bin/gateway/gateway.dll config_dir=$run_dir
            if [[ "$target" == gwb-* ]]; then
                dll=$run_dir/baseline-bin/gateway.dll config_dir=$run_dir/baseline
                mkdir -p "$config_dir"
            fi
            DESCRIPTION="" GATEWAY_SETTINGS="" POLICY_SECTIONS="" ROUTES_BEFORE="" ROUTES_AFTER="" UPSTREAM_AUTH=""
            REDIS_PORT="" AUDIT_DIR="" AUDIT_NAME="" AUDIT_EXTRA="" COALESCE=""
            GATEWAY_ENV=()
            unset -f prepare_config after_start
            # shellcheck source=configs/memory.sh
            source "$here/configs/$name.sh"
            if declare -F prepare_config >/dev/null; then prepare_config "$config_dir"; fi
            build_label=""
            [[ "$target" == gwb-* ]] && build_label=" at $baseline"
            DESCRIPTION_OF[$target]="gateway$build_label: ${DESCRIPTION:-$name}"
            policy=$run_dir/$target.yaml
            write_policy "$policy" "$GATEWAY_SETTINGS" "$POLICY_SECTIONS" "$ROUTES_BEFORE" "$ROUTES_AFTER" "$UPSTREAM_AUTH"
            ADMIN_PORT_OF[$target]=$(free_port)
            [ -n "$REDIS_PORT" ] && REDIS_PORT_OF[$target]=$REDIS_PORT
            [ -n "$AUDIT_DIR" ] && AUDIT_DIR_OF[$target]=$AUDIT_DIR
            start_process "$target" "$run_dir/$target.log" env "${common_env[@]}" "${GATEWAY_ENV[@]}" \
                dotnet "$dll" serve --config "$policy" \
                --urls "http://127.0.0.1:$port" --admin-urls "http://127.0.0.1:${ADMIN_PORT_OF[$target]}"
            ;;
    esac
    wait_for_port "$port" "$target"
    SENT_OF[$target]=0 INFLIGHT_OF[$target]=0
    if [[ "$target" == gw* ]] && declare -F after_start >/dev/null; then
        wait_for_port "${ADMIN_PORT_OF[$target]}" "$target"
        after_start "$run_dir" "$target"
    fi
done

post_body=$(printf '{"data":"%s"}' "$(head -c $((body_bytes - 11)) /dev/zero | tr '\0' x)")
mcp_head='{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_item","arguments":{"id":"42","note":"'
mcp_body=$(printf '%s%s"}}}' "$mcp_head" "$(head -c $((body_bytes - ${#mcp_head} - 4)) /dev/zero | tr '\0' x)")

# One request over bash's /dev/tcp; prints the response head.
http_head() { # PORT METHOD
    local request
    if [ "$2" = MCP ]; then
        printf -v request 'POST /bench/mcp HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/call\r\nMcp-Name: get_item\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' "$1" "$token" "${#mcp_body}" "$mcp_body"
    elif [ "$2" = POST ]; then
        printf -v request 'POST /bench/items/42 HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' "$1" "$token" "${#post_body}" "$post_body"
    else
        printf -v request 'GET /bench/items/42 HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n' "$1" "$token"
    fi
    exec 3<>"/dev/tcp/127.0.0.1/$1"
    printf '%s' "$request" >&3
    timeout 10 cat <&3 | tr -d '\r' | sed '/^$/q' || true
    exec 3<&- 3>&-
}

echo "checking: every target answers 200 to the same GET and 1 KiB POST ..."
for target in "${targets[@]}"; do
    for method in "${method_list[@]}"; do
        response=$(http_head "${PORT_OF[$target]}" "$method")
        status=$(printf '%s\n' "$response" | head -1 | cut -d' ' -f2)
        if [ "$status" != 200 ]; then
            echo "$target answered $method with '${status:-nothing}', not 200; its log: ${LOG_OF[$target]}" >&2
            printf '%s\n' "$response" >&2
            exit 1
        fi
        if [ "$method" != GET ] && ! printf '%s\n' "$response" | grep -qi "^upstream-received-bytes: $body_bytes$"; then
            echo "$target did not forward the whole POST body:" >&2
            printf '%s\n' "$response" >&2
            exit 1
        fi
        SENT_OF[$target]=$((SENT_OF[$target] + 1))
    done
done

# --- Measuring ----------------------------------------------------------------------------------
hz=$(getconf CLK_TCK)

proc_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
# busy steal total, in ticks, all CPUs
box_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }

connections_of() { case "$1" in paced) echo "$paced_connections" ;; *) echo "${1#c}" ;; esac; }
think_of() { if [ "$1" = paced ]; then echo "$think_ms"; else echo 0; fi; }
scenario_name() { # MIX METHOD LOAD
    local load=$3 mix=$1
    case "$load" in c*) load=c=${load#c} ;; esac
    case "$mix" in one) mix=one-token ;; pool) mix=token-pool ;; rotate) mix=token-rotate-$reuse ;; esac
    echo "$2 $load $mix"
}

run_wrk() { # TARGET MIX METHOD CONNECTIONS THINK_MS SECONDS OUTPUT
    local t=$threads
    [ "$4" -lt "$t" ] && t=$4
    local tokens=$2 reuse_each=1
    [ "$2" = rotate ] && tokens=pool reuse_each=$reuse
    LOAD_TOKENS="$run_dir/tokens-$tokens.txt" LOAD_REUSE=$reuse_each LOAD_METHOD=$3 LOAD_BODY_BYTES=$body_bytes LOAD_THINK_MS=$5 \
        wrk -t"$t" -c"$4" -d"$6s" --timeout 5s -s "$here/wrk.lua" "http://127.0.0.1:${PORT_OF[$1]}/bench/items/42" >"$7" 2>&1 &
    WRK_PID=$!
    if ! wait "$WRK_PID"; then
        WRK_PID=""
        echo "wrk failed against $1:" >&2
        cat "$7" >&2
        exit 1
    fi
    WRK_PID=""
    grep -q '^WRK_RESULT ' "$7" || { echo "wrk printed no result:" >&2; cat "$7" >&2; exit 1; }
    SENT_OF[$1]=$((SENT_OF[$1] + $(sed -n 's/^WRK_RESULT requests=\([0-9]*\).*/\1/p' "$7")))
    INFLIGHT_OF[$1]=$((INFLIGHT_OF[$1] + $4))
}

# Redis commands executed so far (INFO itself left out), then EVALSHA alone: "TOTAL EVALSHA".
redis_calls() { # PORT
    redis-cli -p "$1" INFO commandstats | tr -d '\r' | awk -F'[:=,]' '
        /^cmdstat_/ && $1 != "cmdstat_info" { total += $3; if ($1 == "cmdstat_evalsha") evalsha += $3 }
        END { printf "%d %d\n", total, evalsha }'
}

# Appends one line to $round_file: target rps p50_us p99_us cpu_us box_us steal_pct non2xx sockerr requests.
# Runs in this shell (not in $(...)), so that a failure stops the run and a signal stops wrk.
measure() { # TARGET MIX METHOD LOAD
    local target=$1 pid=${PID_OF[$1]} p0 p1 b0 b1 output=$run_dir/wrk-last.txt r0="" r1=""
    kill -0 "$pid" 2>/dev/null || { echo "$target (pid $pid) is gone; its log: ${LOG_OF[$target]}" >&2; exit 1; }
    [ -n "${REDIS_PORT_OF[$target]:-}" ] && r0=$(redis_calls "${REDIS_PORT_OF[$target]}")
    p0=$(proc_ticks "$pid"); b0=$(box_ticks)
    run_wrk "$target" "$2" "$3" "$(connections_of "$4")" "$(think_of "$4")" "$seconds" "$output"
    p1=$(proc_ticks "$pid"); b1=$(box_ticks)
    if [ -n "$r0" ]; then
        r1=$(redis_calls "${REDIS_PORT_OF[$target]}")
        redis-cli -p "${REDIS_PORT_OF[$target]}" INFO commandstats | tr -d '\r' >"$run_dir/$target-commandstats.txt"
        awk -v s="$(scenario_name "$2" "$3" "$4")" -v t="$target" -v r0="$r0" -v r1="$r1" '
            /^WRK_RESULT / {
                for (i = 2; i <= NF; i++) { split($i, kv, "="); r[kv[1]] = kv[2] }
                split(r0, a, " "); split(r1, b, " ")
                printf "%s\t%s\t%d\t%d\t%d\t%d\n", s, t, r["requests"], r["non2xx"], b[1] - a[1], b[2] - a[2]
            }' "$output" >>"$run_dir/redis.tsv"
    fi
    awk -v target="$target" -v p0="$p0" -v p1="$p1" -v b0="$b0" -v b1="$b1" -v hz="$hz" '
        /^WRK_RESULT / {
            for (i = 2; i <= NF; i++) { split($i, kv, "="); r[kv[1]] = kv[2] }
            split(b0, x, " "); split(b1, y, " ")
            n = r["requests"] > 0 ? r["requests"] : 1
            total = y[3] - x[3]
            printf "%s\t%.1f\t%d\t%d\t%.2f\t%.2f\t%.2f\t%d\t%d\t%d\n", target,
                r["requests"] * 1e6 / r["duration_us"], r["p50_us"], r["p99_us"],
                (p1 - p0) * 1e6 / hz / n, (y[1] - x[1]) * 1e6 / hz / n,
                (total > 0 ? (y[2] - x[2]) * 100 / total : 0),
                r["non2xx"], r["connect"] + r["read"] + r["write"] + r["timeout"], r["requests"]
        }' "$output" >>"$round_file"
}

results=$run_dir/results.tsv
printf 'scenario\ttarget\trequests\tnon2xx\tredis_calls\tevalsha\n' >"$run_dir/redis.tsv"
round_file=$run_dir/round.tsv
printf 'scenario\tround\ttarget\trps\tp50_us\tp99_us\tcpu_us\tbox_us\tsteal_pct\tnon2xx\tsockerr\trequests\n' >"$results"
printf 'scenario\tround\tattempt\ttarget\trps\tp50_us\tp99_us\tcpu_us\tbox_us\tsteal_pct\tnon2xx\tsockerr\trequests\n' >"$run_dir/rerun.tsv"

echo "warming up: ${warm_each} s per mix and method, c=32, each target ..."
for target in "${targets[@]}"; do
    for mix in "${mix_list[@]}"; do
        for method in "${method_list[@]}"; do
            run_wrk "$target" "$mix" "$method" 32 0 "$warm_each" "$run_dir/wrk-last.txt"
            sleep 1
        done
    done
done

# --- Profiles (optional): where a gateway's time goes, under the c=32 GET load, before measuring ----
if [ "$profile" -gt 0 ]; then
    trace_tool=$HOME/.dotnet/tools/dotnet-trace
    if [ ! -x "$trace_tool" ]; then dotnet tool install -g dotnet-trace >/dev/null; fi
    for target in "${targets[@]}"; do
        # bare YARP too: the gap is what the gateway's profile has and bare YARP's has not.
        [[ "$target" == gw* || "$target" == bare ]] || continue
        "$trace_tool" collect -p "${PID_OF[$target]}" --profile dotnet-sampled-thread-time \
            --duration "00:00:00:$(printf '%02d' "$profile")" -o "$run_dir/$target.nettrace" >"$run_dir/$target-trace.log" 2>&1 &
        trace_pid=$!
        PIDS+=("$trace_pid")
        sleep 2
        run_wrk "$target" one GET 32 0 "$profile" "$run_dir/wrk-profile-$target.txt"
        wait "$trace_pid" || true
        for kind in exclusive inclusive; do
            option=""; [ "$kind" = inclusive ] && option=--inclusive
            "$trace_tool" report "$run_dir/$target.nettrace" topN -n 40 $option >"$run_dir/$target-top-$kind.txt" 2>&1 || true
        done
        echo "profile: $run_dir/$target-top-exclusive.txt, $target-top-inclusive.txt"
    done
fi

# --- CPU profiles (optional): perf samples of each target alone under the c=32 GET load ----------
if [ "$perf_seconds" -gt 0 ]; then
    for target in "${targets[@]}"; do
        pid=${PID_OF[$target]}
        perf record -q -e cpu-clock -F 999 -p "$pid" -o "$run_dir/$target.perf.data" -- sleep "$((perf_seconds + 1))" \
            >"$run_dir/$target-perf.log" 2>&1 &
        perf_pid=$!
        PIDS+=("$perf_pid")
        sleep 0.5
        # The Redis store's own server too (not sampled): its CPU per request over the same load.
        redis_pid=""
        [ -n "${REDIS_PORT_OF[$target]:-}" ] && redis_pid=${PID_OF[redis-${REDIS_PORT_OF[$target]}]:-}
        p0=$(proc_ticks "$pid"); [ -n "$redis_pid" ] && q0=$(proc_ticks "$redis_pid")
        run_wrk "$target" one GET 32 0 "$perf_seconds" "$run_dir/wrk-perf-$target.txt"
        p1=$(proc_ticks "$pid"); [ -n "$redis_pid" ] && q1=$(proc_ticks "$redis_pid")
        wait "$perf_pid" || true
        if [ -n "$redis_pid" ]; then
            awk -v p0="$q0" -v p1="$q1" -v hz="$hz" '/^WRK_RESULT / {
                for (i = 2; i <= NF; i++) { split($i, kv, "="); r[kv[1]] = kv[2] }
                printf "%.2f\n", (p1 - p0) * 1e6 / hz / (r["requests"] > 0 ? r["requests"] : 1) }' \
                "$run_dir/wrk-perf-$target.txt" >"$run_dir/$target.perf.redis"
        fi
        awk -v p0="$p0" -v p1="$p1" -v hz="$hz" '/^WRK_RESULT / {
            for (i = 2; i <= NF; i++) { split($i, kv, "="); r[kv[1]] = kv[2] }
            printf "%.2f\n", (p1 - p0) * 1e6 / hz / (r["requests"] > 0 ? r["requests"] : 1) }' \
            "$run_dir/wrk-perf-$target.txt" >"$run_dir/$target.perf.cpu"
        perf script -i "$run_dir/$target.perf.data" -F comm,pid,tid,ip,sym,dso >"$run_dir/$target.perf.txt" 2>/dev/null || true
    done
    python3 "$here/perf_profile.py" "$run_dir" "${targets[@]}" >"$run_dir/perf.md"
    echo "CPU per request by component (perf, GET c=32 one-token, $perf_seconds s per target): $run_dir/perf.md"
    sed -n '1,/^$/p' "$run_dir/perf.md"
fi

started=$SECONDS
for mix in "${mix_list[@]}"; do
    for method in "${method_list[@]}"; do
        for load in "${load_list[@]}"; do
            scenario=$(scenario_name "$mix" "$method" "$load")
            for round in $(seq 1 "$rounds"); do
                # Alternate the order each round, so a drift of the machine favours no target.
                order=("${targets[@]}")
                if [ $((round % 2)) = 0 ]; then
                    order=()
                    for ((i = n_targets - 1; i >= 0; i--)); do order+=("${targets[$i]}"); done
                fi
                attempt=0
                while :; do
                    : >"$round_file"
                    for target in "${order[@]}"; do
                        measure "$target" "$mix" "$method" "$load"
                        sleep 1
                    done
                    mapfile -t lines <"$round_file"
                    steal=$(printf '%s\n' "${lines[@]}" | awk -F'\t' 'BEGIN { m = 0 } $7 > m { m = $7 } END { print m }')
                    if awk -v s="$steal" -v m="$max_steal" 'BEGIN { exit !(s > m) }' && [ "$attempt" -lt "$steal_retries" ]; then
                        attempt=$((attempt + 1))
                        echo "  warning: ${steal}% steal in '$scenario' round $round; measuring the round again ($attempt/$steal_retries)"
                        printf '%s\n' "${lines[@]}" | awk -v s="$scenario" -v r="$round" -v a="$attempt" '{ print s "\t" r "\t" a "\t" $0 }' >>"$run_dir/rerun.tsv"
                        continue
                    fi
                    if awk -v s="$steal" -v m="$max_steal" 'BEGIN { exit !(s > m) }'; then
                        echo "  warning: ${steal}% steal in '$scenario' round $round after $steal_retries reruns; kept, read it with care"
                    fi
                    break
                done
                printf '%s\n' "${lines[@]}" | awk -v s="$scenario" -v r="$round" '{ print s "\t" r "\t" $0 }' >>"$results"
                printf '%s\n' "${lines[@]}" | awk -F'\t' -v s="$scenario" -v r="$round" '
                    { line = line sprintf("  %s %.0f/s p99 %.2f ms %.1f us/req", $1, $2, $4 / 1000, $5); if ($8 + $9 > 0) line = line " ERRORS " $8 + $9 }
                    END { printf "%-22s round %d:%s\n", s, r, line }'
            done
        done
    done
done

# --- The table ----------------------------------------------------------------------------------
{
    echo
    echo "Medians of ${rounds} rounds of ${seconds} s; ratio, +CPU, +p50 and +p99 per round against bare, then the median."
    echo "CPU us = the target process's CPU per request (/proc/PID/stat); box us = the whole machine's (wrk and upstream too)."
    echo "paced rows: req/s is the rate achieved (${paced_connections} connections, ${think_ms} ms mean think time)."
    for target in "${targets[@]}"; do echo "  $target: ${DESCRIPTION_OF[$target]}"; done
    echo
    awk -v base=bare -f "$here/summarize.awk" "$results"
} | tee "$run_dir/table.txt"
awk -v base=bare -v format=md -f "$here/summarize.awk" "$results" >"$run_dir/table.md"
if awk -F'\t' 'NR > 1 && $10 + $11 > 0 { found = 1 } END { exit !found }' "$results"; then
    echo "warning: some requests failed or were refused (errors column); those rows do not measure the forwarding path" >&2
fi

# --- Redis commands per allowed call ------------------------------------------------------------
# Redis counts the commands a script runs in INFO commandstats too, so the commands the gateway sends
# (round trips) are counted apart with MONITOR, which marks a script's commands "[0 lua]": a short
# extra load (3 s, 8 connections, GET, one token) after the measurements, never during them.
if [ ${#REDIS_PORT_OF[@]} -gt 0 ]; then
    for target in "${!REDIS_PORT_OF[@]}"; do
        monitor=$run_dir/$target-monitor.txt
        redis-cli -p "${REDIS_PORT_OF[$target]}" MONITOR >"$monitor" 2>&1 &
        monitor_pid=$!
        PIDS+=("$monitor_pid")
        sleep 0.5
        run_wrk "$target" one GET 8 0 3 "$run_dir/wrk-monitor-$target.txt"
        sleep 0.5
        kill "$monitor_pid" 2>/dev/null || true
        wait "$monitor_pid" 2>/dev/null || true
        awk -v t="$target" -v w="$run_dir/wrk-monitor-$target.txt" '
            BEGIN { while ((getline line < w) > 0) if (line ~ /^WRK_RESULT /) { split(line, f, /[ =]/); requests = f[3] } }
            / \[[0-9]+ lua\] / { lua++; next }
            / \[[0-9]+ [0-9a-fA-F.:\[\]]+\] / { client++; cmd = $4; gsub(/"/, "", cmd); by[toupper(cmd)]++ }
            END {
                list = ""; for (c in by) list = list sprintf("%s %d, ", c, by[c])
                printf "%s\t%d\t%d\t%d\t%s\n", t, requests, client, lua, list }' "$monitor" >>"$run_dir/redis-monitor.tsv"
    done
    {
        echo
        echo "Redis commands per allowed call. From INFO commandstats before and after each measurement (INFO left out;"
        echo "allowed = wrk's 2xx responses; requests in flight when wrk stops add at most c/requests); Redis counts the"
        echo "commands run inside a script there too, so 'executed' includes the budget script's own commands:"
        echo
        echo "| scenario | target | allowed calls | commands executed | executed per call | EVALSHA per call |"
        echo "| --- | --- | ---: | ---: | ---: | ---: |"
        awk -F'\t' 'NR > 1 { k = $1 "|" $2; if (!(k in n)) order[++m] = k; n[k] += $3 - $4; c[k] += $5; e[k] += $6 }
            END { for (i = 1; i <= m; i++) { k = order[i]; split(k, p, "|")
                printf "| %s | %s | %d | %d | %.3f | %.3f |\n", p[1], p[2], n[k], c[k], c[k] / (n[k] ? n[k] : 1), e[k] / (n[k] ? n[k] : 1) } }' "$run_dir/redis.tsv"
        echo
        echo "Commands the gateway sent (round trips) per allowed call, from MONITOR during a 3 s GET load at c=8 after the measurements:"
        echo
        echo "| target | allowed calls | commands sent | per call | commands inside scripts | per call | sent, by command |"
        echo "| --- | ---: | ---: | ---: | ---: | ---: | --- |"
        awk -F'\t' '{ n = $2 ? $2 : 1; printf "| %s | %d | %d | %.3f | %d | %.3f | %s |\n", $1, $2, $3, $3 / n, $4, $4 / n, $5 }' "$run_dir/redis-monitor.tsv"
    } | tee "$run_dir/redis.md"
fi

# --- Audit events against requests sent -----------------------------------------------------------
# The gateway is stopped gracefully first (SIGTERM: the listeners drain, then the audit writer).
if [ ${#AUDIT_DIR_OF[@]} -gt 0 ]; then
    {
        echo
        echo "Audit events against requests sent (gateway stopped with SIGTERM first, so the writer drained):"
        echo
        echo "| target | requests sent (wrk + checks) | audit lines | lines - sent | in flight at most | lost |"
        echo "| --- | ---: | ---: | ---: | ---: | ---: |"
    } | tee "$run_dir/audit.md"
    for target in "${!AUDIT_DIR_OF[@]}"; do
        pid=${PID_OF[$target]}
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        lines=$(cat "${AUDIT_DIR_OF[$target]}"/*.jsonl* 2>/dev/null | grep -c '"route":"bench-' || true)
        sent=${SENT_OF[$target]}
        awk -v t="$target" -v s="$sent" -v l="$lines" -v f="${INFLIGHT_OF[$target]}" 'BEGIN {
            lost = (l < s) ? s - l : 0
            printf "| %s | %d | %d | %+d | %d | %d |\n", t, s, l, l - s, f, lost }' | tee -a "$run_dir/audit.md"
    done
fi
echo "measured in $((SECONDS - started)) s; results in $run_dir (table.txt, table.md, results.tsv)"
