#!/usr/bin/env python3
"""Samples a process every INTERVAL seconds until it exits or this sampler is sent SIGTERM/SIGINT.

Usage: procmon.py PID INTERVAL OUT.jsonl [METRICS_URL]

One JSON object per line: t (epoch seconds), rss_kib, hwm_kib, threads, fds, cpu_s (utime+stime),
machine_busy_pct (all CPUs, since the previous sample), and with METRICS_URL the server's nonroot_admission_open_connections gauge (open_conns).
"""
import json, os, signal, sys, time, urllib.request

pid, interval, out = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
metrics_url = sys.argv[4] if len(sys.argv) > 4 else None
tick = os.sysconf("SC_CLK_TCK")
running = True

def stop(*_):
    global running
    running = False

signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)

_last_stat = None


def machine_busy():
    """Share of all CPUs busy since the previous call, from /proc/stat (0..100)."""
    global _last_stat
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle, total = v[3] + v[4], sum(v[:8])
    prev, _last_stat = _last_stat, (idle, total)
    if prev is None or total == prev[1]:
        return None
    return round(100.0 * (1 - (idle - prev[0]) / (total - prev[1])), 1)


def sample():
    s = {"t": round(time.time(), 3)}
    s["machine_busy_pct"] = machine_busy()
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key == "VmRSS":
                s["rss_kib"] = int(value.split()[0])
            elif key == "VmHWM":
                s["hwm_kib"] = int(value.split()[0])
            elif key == "Threads":
                s["threads"] = int(value)
    s["fds"] = len(os.listdir("/proc/%d/fd" % pid))
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    s["cpu_s"] = round((int(fields[11]) + int(fields[12])) / tick, 2)
    if metrics_url:
        try:
            with urllib.request.urlopen(metrics_url, timeout=2) as r:
                for line in r.read().decode().splitlines():
                    if line.startswith("nonroot_admission_open_connections"):
                        s["open_conns"] = int(float(line.split()[-1]))
        except OSError:
            pass
    return s

with open(out, "a") as f:
    next_at = time.time()
    while running:
        try:
            s = sample()
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            break  # the process is gone
        f.write(json.dumps(s) + "\n")
        f.flush()
        next_at += interval
        while running and time.time() < next_at:
            time.sleep(min(0.2, max(0.0, next_at - time.time())))
