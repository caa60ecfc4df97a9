#!/usr/bin/env python3
"""Loads COUNT revocation rules into a running gateway through its admin API (POST /revocations),
for the harness's revocation-scaling configurations. The rules never match the load's tokens
(sub user:load, agent agent:load): kinds rotate over jti, agent, sub and client_id with values
of their own. Keep-alive connections on loopback, a few threads; bounded by --timeout.

    GATEWAY_ADMIN_KEY=... python3 revocations.py ADMIN_PORT COUNT [--timeout SECONDS]
"""
import http.client
import json
import os
import sys
import threading
import time

KINDS = ("jti", "agent", "sub", "client_id")


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    port, count = int(sys.argv[1]), int(sys.argv[2])
    timeout = float(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[3] == "--timeout" else 600.0
    key = os.environ["GATEWAY_ADMIN_KEY"]
    headers = {"Authorization": "Bearer " + key, "Content-Type": "application/json"}
    deadline = time.monotonic() + timeout
    threads = 4
    failures = []

    def work(start: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for i in range(start, count, threads):
            if time.monotonic() > deadline:
                failures.append("timeout")
                return
            kind = KINDS[i % len(KINDS)]
            body = json.dumps({kind: f"revoked:{kind}:{i}", "reason": "load test: a rule that never matches"})
            connection.request("POST", "/revocations", body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status != 201:
                failures.append(f"{response.status} for rule {i}")
                return

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    started = time.monotonic()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    if failures:
        print("revocations: failed: " + ", ".join(failures[:3]), file=sys.stderr)
        return 1
    print(f"revocations: {count} rules loaded in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
