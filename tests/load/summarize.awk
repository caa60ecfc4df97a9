# Summarises the harness's results.tsv into the table (plain text, or Markdown with -v format=md).
#   awk -v base=bare [-v format=md] -f summarize.awk results.tsv
# Columns of results.tsv: scenario round target rps p50_us p99_us cpu_us box_us steal_pct non2xx sockerr requests
# Medians over rounds; the ratio and the "added" columns are computed per round against the base
# target measured in the same round, and the median of those is shown. Written for POSIX awk (mawk).
BEGIN { FS = "\t" }
NR == 1 { next }
{
    scen = $1; round = $2 + 0; target = $3
    if (!(scen in seenScen)) { seenScen[scen] = 1; scens[++nScen] = scen }
    if (!(target in seenTarget)) { seenTarget[target] = 1; targets[++nTarget] = target }
    if (round > maxRound) maxRound = round
    k = scen SUBSEP target SUBSEP round
    rps[k] = $4; p50[k] = $5; p99[k] = $6; cpu[k] = $7; box[k] = $8
    errors[scen SUBSEP target] += $10 + $11
}

function median(a, n,    i, j, t) {
    if (n == 0) return ""
    for (i = 2; i <= n; i++) {
        t = a[i]
        for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]
        a[j + 1] = t
    }
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}

# Median over rounds of metric m for (scen, target); with d = 1, of (target - base) per round; with d = 2, of target / base.
function stat(m, scen, target, d,    r, n, v, k, kb, a) {
    split("", a); n = 0
    for (r = 1; r <= maxRound; r++) {
        k = scen SUBSEP target SUBSEP r; kb = scen SUBSEP base SUBSEP r
        if (!(k in rps)) continue
        if (d > 0 && !(kb in rps)) continue
        v = value(m, k)
        if (d == 1) v = v - value(m, kb)
        if (d == 2) { if (value(m, kb) == 0) continue; v = v / value(m, kb) }
        a[++n] = v
    }
    return median(a, n)
}

function value(m, k) {
    if (m == "rps") return rps[k]
    if (m == "p50") return p50[k]
    if (m == "p99") return p99[k]
    if (m == "cpu") return cpu[k]
    return box[k]
}

function ms(v) { return v == "" ? "" : v / 1000 }
function fmt(f, v) { return v == "" ? "-" : sprintf(f, v) }
function signed(f, v) { return v == "" ? "-" : sprintf(v >= 0 ? "+" f : f, v) }

function row(c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12) {
    if (format == "md") {
        printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12
    } else {
        printf "%-22s %-16s %9s %7s %8s %8s %8s %8s %9s %8s %8s %7s\n", c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12
    }
}

END {
    row("scenario", "target", "req/s", "ratio", "p50 ms", "p99 ms", "CPU us", "box us", "+CPU us", "+p50 ms", "+p99 ms", "errors")
    if (format == "md") row("---", "---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:")
    for (s = 1; s <= nScen; s++) {
        scen = scens[s]
        for (t = 1; t <= nTarget; t++) {
            target = targets[t]
            if (stat("rps", scen, target, 0) == "") continue
            isBase = target == base
            row(scen, target,
                fmt("%.0f", stat("rps", scen, target, 0)),
                fmt("%.2f", stat("rps", scen, target, 2)),
                fmt("%.3f", ms(stat("p50", scen, target, 0))),
                fmt("%.3f", ms(stat("p99", scen, target, 0))),
                fmt("%.1f", stat("cpu", scen, target, 0)),
                fmt("%.1f", stat("box", scen, target, 0)),
                isBase ? "-" : signed("%.1f", stat("cpu", scen, target, 1)),
                isBase ? "-" : signed("%.3f", ms(stat("p50", scen, target, 1))),
                isBase ? "-" : signed("%.3f", ms(stat("p99", scen, target, 1))),
                errors[scen SUBSEP target] + 0)
        }
    }
}
