#!/usr/bin/env python3
"""Summarises h2load --log-file output: count, failures, p50/p90/p99/p99.9 in microseconds.

h2load prints no percentiles; its log has one line per request: start time, status, duration (µs).
Usage: latency.py LOGFILE [LOGFILE...]   Prints one JSON object.
"""
import json, sys

durations, failed = [], 0
for path in sys.argv[1:]:
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 3:
                continue
            status, duration = int(parts[1]), int(parts[2])
            if status != 200:
                failed += 1
            durations.append(duration)
durations.sort()
def pct(p):
    if not durations:
        return None
    return durations[min(len(durations) - 1, int(p / 100.0 * len(durations)))]
print(json.dumps({"requests": len(durations), "non200": failed,
                  "p50": pct(50), "p90": pct(90), "p99": pct(99), "p999": pct(99.9)}))
