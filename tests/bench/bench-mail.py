#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Mail benchmark: a campaign to 100,000 guests (500,000 with --full)
delivered by eventdeskd to Postfix's smtp-sink on loopback, against
Postfix's smtp-source sending over reused connections to the same sink as
the ceiling.

  bench-mail.py --eventdeskd PATH [--full] [--guests N] [--connections N]
                [--max-messages N] [--keep]

Prints the launch time (through the API), the sustained delivery rate, the
smtp-source rate and the ratio, and /healthz latency while sending (a
client asking every 5 ms). Everything listens on 127.0.0.1 with a free
port; every process it starts is stopped by its pid, also on failure.
"""

import argparse
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ADMIN = "bench"
PASSWORD = "bench password for the mailer"
SMTP_SINK = "/usr/sbin/smtp-sink"
SMTP_SOURCE = "/usr/sbin/smtp-source"


def call(base, method, path, token=None, body=None, content_type="application/json"):
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", content_type)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req, timeout=600) as resp:
        return json.loads(resp.read() or b"null")


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, deadline_s=10):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("smtp-sink does not listen on port %d" % port)


def start_sink(port):
    argv = [SMTP_SINK]
    if os.geteuid() == 0:
        argv += ["-u", "nobody"]
    argv += ["127.0.0.1:%d" % port, "1024"]
    sink = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_listening(port)
    return sink


def stop(process):
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def poll_healthz(base, stop_event, samples):
    while not stop_event.is_set():
        started = time.perf_counter()
        with urllib.request.urlopen(base + "/healthz", timeout=30) as resp:
            resp.read()
        samples.append((time.perf_counter() - started) * 1000)
        time.sleep(0.005)


def cpu_seconds(pid):
    """User and system time of a process so far, all its threads."""
    fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--eventdeskd", required=True)
    parser.add_argument("--full", action="store_true", help="500,000 guests instead of 100,000")
    parser.add_argument("--guests", type=int, default=0)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--max-messages", type=int, default=100,
                        help="messages per SMTP connection (the transport's max-messages)")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    n_guests = args.guests or (500000 if args.full else 100000)

    data_dir = tempfile.mkdtemp(prefix="bench-mail-")
    sink = daemon = None
    try:
        port = free_port()
        sink = start_sink(port)
        print("load average before: %s" % " ".join(open("/proc/loadavg").read().split()[:3]))

        # The ceiling: smtp-source over reused connections (-d), as many as
        # the daemon uses, messages of about the daemon's size.
        n_source = min(n_guests, 100000)
        started = time.perf_counter()
        subprocess.run([SMTP_SOURCE, "-d", "-s", str(args.connections), "-m", str(n_source), "-l", "1000",
                        "-f", "bench@example.org", "-t", "guest@example.org", "127.0.0.1:%d" % port],
                       check=True, stdout=subprocess.DEVNULL)
        source_s = time.perf_counter() - started
        source_rate = n_source / source_s
        print("smtp-source: %d messages over %d reused connections in %.2f s: %.0f msg/s"
              % (n_source, args.connections, source_s, source_rate))

        subprocess.run([args.eventdeskd, "admin", "add", ADMIN, "--password-stdin", "--data-dir", data_dir],
                       input=PASSWORD.encode(), check=True, capture_output=True)
        log = open(os.path.join(data_dir, "daemon.log"), "wb")
        transport = "smtp://127.0.0.1:%d?starttls=off&max-messages=%d" % (port, args.max_messages)
        daemon = subprocess.Popen([args.eventdeskd, "--listen", "127.0.0.1:0", "--data-dir", data_dir,
                                   "--mail-transport", transport, "--mail-rate", "0",
                                   "--mail-connections", str(args.connections),
                                   "--mail-from", "Bench Events <events@example.org>"],
                                  stdout=subprocess.PIPE, stderr=log)
        base = daemon.stdout.readline().decode().strip().rsplit(" ", 1)[-1]
        token = call(base, "POST", "/api/v1/session", body={"username": ADMIN, "password": PASSWORD})["token"]
        event_id = call(base, "POST", "/api/v1/events", token,
                        {"name": "Mail bench", "starts_at": "2031-05-01T18:00:00Z", "capacity": 1000000})["id"]

        csv = "email,first_name,last_name\n" + "".join(
            "guest%d@example.org,Guest,Number %d\n" % (i, i) for i in range(n_guests))
        started = time.perf_counter()
        report = call(base, "POST", "/api/v1/events/%d/guests/import" % event_id, token, csv.encode(), "text/csv")
        print("imported %d guests in %.1f s" % (report["imported"], time.perf_counter() - started))
        db_path = os.path.join(data_dir, "eventdesk.db")
        reader = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True, timeout=30)
        while reader.execute("SELECT (SELECT indexed_upto FROM guests_search_state) < "
                             "(SELECT max(id) FROM guests)").fetchone()[0]:
            time.sleep(0.5)

        campaign = call(base, "POST", "/api/v1/events/%d/campaigns" % event_id, token,
                        {"kind": "invitation", "subject": "Invitation: {{event_name}}",
                         "text": "Hello {{first_name}} {{last_name}},\n\nyou are invited to {{event_name}}.\n"
                                 "Please answer here: {{rsvp_url}}\n\nUnsubscribe: {{unsubscribe_url}}\n",
                         "html": "<p>Hello {{first_name}} {{last_name}},</p><p>you are invited to "
                                 "<b>{{event_name}}</b>.</p><p><a href=\"{{rsvp_url}}\">Answer</a></p>"})

        samples = []
        stop_event = threading.Event()
        poller = threading.Thread(target=poll_healthz, args=(base, stop_event, samples))
        poller.start()

        started = time.perf_counter()
        launched = call(base, "POST", "/api/v1/campaigns/%d/launch" % campaign["id"], token, {})
        launch_s = time.perf_counter() - started
        print("launch: %d messages queued in %.3f s (target for 500,000: < 3 s)" % (launched["total"], launch_s))

        # Sustained rate: from the first 5% delivered to the last 5%, so that
        # the start (connections, first claims) and the tail do not count.
        def sent():
            return reader.execute("SELECT coalesce(sum(messages), 0) FROM campaign_counts "
                                  "WHERE campaign_id = ? AND state = 'sent'", (campaign["id"],)).fetchone()[0]

        low, high = n_guests * 0.05, n_guests * 0.95
        t_low = t_high = None
        n_low = n_high = 0
        healthz_from = None
        deadline = time.monotonic() + max(600, n_guests / 100)
        while time.monotonic() < deadline:
            n = sent()
            now = time.perf_counter()
            if t_low is None and n >= low:
                t_low, n_low, healthz_from = now, n, len(samples)
                cpu_low = cpu_seconds(daemon.pid)
            if n >= high:
                t_high, n_high = now, n
                cpu_high = cpu_seconds(daemon.pid)
                break
            time.sleep(0.2)
        healthz = samples[healthz_from:] if healthz_from is not None else []
        while sent() < n_guests and time.monotonic() < deadline:
            time.sleep(0.2)
        total_s = time.perf_counter() - started
        stop_event.set()
        poller.join()

        if t_high is None:
            print("FAIL: only %d of %d delivered in time" % (sent(), n_guests))
            return 1
        rate = (n_high - n_low) / (t_high - t_low)
        print("delivered %d messages in %.1f s after the launch" % (sent(), total_s))
        print("sustained: %.0f msg/s (target >= 3000) %s" % (rate, "PASS" if rate >= 3000 else "FAIL"))
        print("ratio to smtp-source: %.0f%% (target >= 35%%) %s"
              % (100 * rate / source_rate, "PASS" if rate / source_rate >= 0.35 else "FAIL"))
        # CPU time per message depends less on what else runs than the rate
        print("eventdeskd CPU while sending: %.0f us per message (%.2f cores)"
              % (1e6 * (cpu_high - cpu_low) / (n_high - n_low), (cpu_high - cpu_low) / (t_high - t_low)))
        if healthz:
            p99 = percentile(healthz, 99)
            print("/healthz while sending: %d requests, p50 %.1f ms, p99 %.1f ms, max %.1f ms (target p99 < 20 ms) %s"
                  % (len(healthz), percentile(healthz, 50), p99, max(healthz), "PASS" if p99 < 20 else "FAIL"))
        queue = call(base, "GET", "/api/v1/queue", token)
        print("queue afterwards: %s" % json.dumps({k: queue.get(k) for k in ("total", "counts", "rate_limit")}))
        print("load average after: %s" % " ".join(open("/proc/loadavg").read().split()[:3]))
        reader.close()
        return 0
    finally:
        stop(daemon)
        stop(sink)
        if args.keep:
            print("data kept in", data_dir)
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
