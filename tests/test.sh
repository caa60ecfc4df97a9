#!/usr/bin/env bash
# The whole test suite, as CI runs it. Installs what a fresh machine lacks (redis-server,
# chromium with chromium-driver for the approval page's browser test, node and npm for the
# interop tests' client libraries and the MCP conformance suite),
# builds with warnings as errors, checks formatting, runs every test project, and ends with
# one line: "N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
# The browser test drives Debian's Chromium through its own driver, at these exact paths.
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
[ -x /usr/bin/chromedriver ] || need_apt+=(chromium-driver)
# Standard JavaScript clients (npm dpop and jose) sign proofs and tokens for the interop tests;
# tests/mcp/conformance.sh installs the MCP conformance suite with npm.
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "Installing: ${need_apt[*]}"
  if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
# The tests start their own redis-server processes on free ports; a packaged service is not needed.

# The versions pinned in tests/interop/package-lock.json, installed once per checkout.
if [ ! -d tests/interop/node_modules ] || [ tests/interop/package-lock.json -nt tests/interop/node_modules ]; then
  npm ci --prefix tests/interop --no-audit --no-fund --loglevel=error >/dev/null
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

dotnet build Gateway.sln -c Release -nologo -clp:ErrorsOnly
dotnet format Gateway.sln --verify-no-changes --no-restore

log=$(mktemp)
status=0

# The hostile-input suite is deterministic: one seed (GATEWAY_FUZZ_SEED, default in tests/Gateway.Tests/Hostile/Fuzz.cs)
# drives every property; each appends its seed and case count here, printed after the tests.
export GATEWAY_FUZZ_REPORT
GATEWAY_FUZZ_REPORT=$(mktemp)
for project in tests/Gateway.Tests tests/Gateway.DeploymentTests tests/Gateway.FunctionalTests; do
  dotnet test "$project" -c Release --no-build -nologo --blame-hang-timeout 5m 2>&1 | tee -a "$log" || status=1
done

# The MCP conformance suite's server scenarios, directly and through the gateway, compared
# (tests/mcp/conformance.sh; about 20 s on the build above). Each scenario counts as one test.
timeout 600 bash tests/mcp/conformance.sh --from-build 2>&1 | tee "$log.mcp" || status=1

passed=$(grep -Eo 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -Eo 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
mcp=$(sed -n 's/^MCP conformance scenarios: \([0-9]*\) transparent, \([0-9]*\) not$/\1 \2/p' "$log.mcp")
if [ -z "$mcp" ]; then mcp="0 1"; status=1; fi
passed=$((passed + ${mcp% *}))
failed=$((failed + ${mcp#* }))
rm -f "$log.mcp"
skipped=$(grep -Eo 'Skipped: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
echo "Hostile-input suite (GATEWAY_FUZZ_SEED=${GATEWAY_FUZZ_SEED:-default}):"
sort "$GATEWAY_FUZZ_REPORT"
rm -f "$log" "$GATEWAY_FUZZ_REPORT"
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
if [ "$passed" -eq 0 ]; then status=1; fi
exit $status
