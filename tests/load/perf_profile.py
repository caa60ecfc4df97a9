#!/usr/bin/env python3
"""Where each target's CPU goes, per request, from `perf record` samples (the harness's --perf option).

    python3 perf_profile.py RUN_DIR TARGET [TARGET ...]

For every TARGET it reads RUN_DIR/TARGET.perf.txt (`perf script -F comm,pid,tid,ip,sym,dso` of a
`perf record -e cpu-clock -p PID` taken while wrk loaded that target alone) and RUN_DIR/TARGET.perf.cpu
(the target's measured CPU per request over the same load, in microseconds). Samples are put in
components by the deepest frame's module and symbol (JIT-compiled .NET code is named through the
runtime's perf map, DOTNET_PerfMapEnabled=1), and each component's share of the samples is turned
into microseconds per request with the measured figure. Prints one Markdown table, targets side by
side, components ordered by how much more the last target spends on them than the first; then the
first target's and the last's top symbols.
"""
import collections
import os
import re
import sys

LINE = re.compile(r"^\s*(.+?)\s+(\d+)/(\d+)\s+([0-9a-f]+)\s+(.*?)\s+\((.*)\)\s*$")

MANAGED = [
    ("Gateway.Redis", "managed: gateway (Redis store)"),
    ("Gateway.", "managed: gateway"),
    ("StackExchange.Redis", "managed: StackExchange.Redis"),
    ("RESPite", "managed: StackExchange.Redis"),
    ("Pipelines.Sockets", "managed: StackExchange.Redis"),
    ("Polly", "managed: Polly"),
    ("Yarp", "managed: YARP"),
    ("Kestrel", "managed: Kestrel"),
    ("System.Net.Http", "managed: HttpClient"),
    ("System.Net.Sockets", "managed: sockets"),
    ("System.Threading.Channels", "managed: channels"),
    ("System.Threading", "managed: threads, tasks, async"),
    ("System.Runtime.CompilerServices", "managed: threads, tasks, async"),
    ("OpenTelemetry", "managed: OpenTelemetry SDK"),
    ("System.Diagnostics", "managed: Activity, Meter"),
    ("Microsoft.AspNetCore", "managed: ASP.NET Core (hosting, routing)"),
    ("Microsoft.Extensions", "managed: Microsoft.Extensions"),
    ("System.IO.Pipelines", "managed: System.IO.Pipelines"),
    ("System.", "managed: other BCL"),
]


def component(dso: str, symbol: str) -> str:
    if dso == "[kernel.kallsyms]":
        if re.search(r"tcp|ip_|sock|skb|net_|__dev|loopback|inet|nf_|sk_|epoll|ep_|sys_(send|recv)", symbol):
            return "kernel: network, epoll"
        if re.search(r"futex|schedule|switch|wake|sched|enqueue|dequeue|pick_next|update_curr", symbol):
            return "kernel: scheduler, futex"
        if re.search(r"ext4|jbd2|blk|bio|fsync|iowrite|virtio|vfs_|filemap|folio", symbol):
            return "kernel: files, disk"
        return "kernel: other (interrupts, syscall entry)"
    if dso.startswith("libcoreclr"):
        if re.search(r"SVR::|WKS::|gc_heap|GCHeap|GCToEE|gc_|Gc[A-Z]|GC", symbol):
            return "runtime: GC"
        return "runtime: native (allocation, stubs, thread pool)"
    if dso.startswith("libclrjit"):
        return "runtime: JIT compiler"
    if dso.startswith(("libcrypto", "libssl", "libSystem.Security")):
        return "OpenSSL (SHA-256, HMAC)"
    if dso.startswith("perf-") or "doublemapper" in dso or dso.endswith(".dll") or dso == "[unknown]":
        head = symbol[:90]
        for prefix, name in MANAGED:
            if prefix in head:
                return name
        return "managed: unresolved stubs"
    if dso.startswith("libc.so"):
        return "libc (memset, memcpy, syscalls)"
    return "native: other"


def load(run_dir: str, target: str):
    counts = collections.Counter()
    symbols = collections.Counter()
    with open(os.path.join(run_dir, f"{target}.perf.txt"), encoding="utf-8", errors="replace") as lines:
        for line in lines:
            match = LINE.match(line)
            if not match:
                continue
            symbol, dso = match.group(5), match.group(6).split("/")[-1]
            name = component(dso, symbol)
            counts[name] += 1
            symbols[(name, symbol[:100])] += 1
    with open(os.path.join(run_dir, f"{target}.perf.cpu"), encoding="utf-8") as cpu:
        cpu_us = float(cpu.read().split()[0])
    return counts, symbols, cpu_us


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    run_dir, targets = sys.argv[1], sys.argv[2:]
    data = {t: load(run_dir, t) for t in targets}

    def per_request(target, name):
        counts, _, cpu_us = data[target]
        total = sum(counts.values()) or 1
        return counts.get(name, 0) / total * cpu_us

    names = set()
    for counts, _, _ in data.values():
        names.update(counts)
    first, last = targets[0], targets[-1]
    ordered = sorted(names, key=lambda n: per_request(first, n) - per_request(last, n))
    print("| us of CPU per request | " + " | ".join(targets) + " |")
    print("| --- |" + " ---: |" * len(targets))
    for name in ordered:
        values = [per_request(t, name) for t in targets]
        if max(values) >= 0.1:
            print(f"| {name} | " + " | ".join(f"{v:.1f}" for v in values) + " |")
    print("| **measured total** | " + " | ".join(f"**{data[t][2]:.1f}**" for t in targets) + " |")
    redis = {t: os.path.join(run_dir, f"{t}.perf.redis") for t in targets}
    if any(os.path.exists(f) for f in redis.values()):
        # Measured from /proc over the same load, not sampled: Redis's CPU on the same cores, apart.
        def redis_us(t):
            if not os.path.exists(redis[t]):
                return "-"
            with open(redis[t], encoding="utf-8") as f:
                return f"{float(f.read().split()[0]):.1f}"
        print("| redis-server (its own process, /proc) | " + " | ".join(redis_us(t) for t in targets) + " |")
    print("\nsamples: " + ", ".join(f"{t} {sum(data[t][0].values())}" for t in targets))
    for target in dict.fromkeys((first, last)):
        counts, symbols, cpu_us = data[target]
        total = sum(counts.values()) or 1
        print(f"\ntop symbols, {target} (us per request):")
        for (name, symbol), n in symbols.most_common(25):
            print(f"  {n / total * cpu_us:6.2f}  {name:38.38}  {symbol}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
