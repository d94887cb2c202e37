#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Launch benchmark: how long POST /api/v1/campaigns/ID/launch takes to queue
a whole audience (500,000 guests by default), what /healthz answers while it
runs, and what the per-campaign counter triggers add to the queueing.

  bench-launch.py --eventdeskd PATH [--guests N] [--keep]

Starts its own eventdeskd on a free loopback port and a fresh data directory,
imports the guests through the API, launches one campaign to all of them
while another thread polls /healthz every 5 ms, stops the daemon, then times
the same INSERT ... SELECT on the database with and without the triggers.
"""

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ADMIN = "bench"
PASSWORD = "bench password for the launch"


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


def poll_healthz(base, stop, samples):
    while not stop.is_set():
        started = time.perf_counter()
        with urllib.request.urlopen(base + "/healthz", timeout=30) as resp:
            resp.read()
        samples.append((time.perf_counter() - started) * 1000)
        time.sleep(0.005)


def time_insert(db_path, campaign_id, event_id, with_triggers):
    db = sqlite3.connect(db_path, isolation_level=None)
    db.execute("PRAGMA synchronous = FULL")
    db.execute("BEGIN IMMEDIATE")
    db.execute("DELETE FROM messages")
    db.execute("DELETE FROM campaign_counts")
    if not with_triggers:
        for name in ("campaign_counts_insert", "campaign_counts_update", "campaign_counts_delete"):
            db.execute("DROP TRIGGER " + name)
    db.execute("COMMIT")
    started = time.perf_counter()
    db.execute("BEGIN IMMEDIATE")
    db.execute("INSERT INTO messages (campaign_id, guest_id, state, priority, next_attempt_at, created_at) "
               "SELECT ?, id, 'queued', 0, 1, 1 FROM guests WHERE event_id = ? AND unsubscribed_at IS NULL "
               "ORDER BY id ON CONFLICT (campaign_id, guest_id) DO NOTHING", (campaign_id, event_id))
    db.execute("COMMIT")
    elapsed = time.perf_counter() - started
    db.close()
    return elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--eventdeskd", required=True)
    parser.add_argument("--guests", type=int, default=500000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="bench-launch-")
    daemon = None
    try:
        subprocess.run([args.eventdeskd, "admin", "add", ADMIN, "--password-stdin", "--data-dir", data_dir],
                       input=PASSWORD.encode(), check=True, capture_output=True)
        log = open(os.path.join(data_dir, "daemon.log"), "wb")
        daemon = subprocess.Popen([args.eventdeskd, "--listen", "127.0.0.1:0", "--data-dir", data_dir],
                                  stdout=subprocess.PIPE, stderr=log)
        line = daemon.stdout.readline().decode().strip()
        base = line.rsplit(" ", 1)[-1]
        token = call(base, "POST", "/api/v1/session", body={"username": ADMIN, "password": PASSWORD})["token"]
        event = call(base, "POST", "/api/v1/events", token,
                     {"name": "Launch bench", "starts_at": "2027-05-01T18:00:00Z", "capacity": 1000000})
        event_id = event["id"]

        csv = "email,first_name,last_name\n" + "".join(
            "guest%d@example.org,Guest,Number %d\n" % (i, i) for i in range(args.guests))
        started = time.perf_counter()
        report = call(base, "POST", "/api/v1/events/%d/guests/import" % event_id, token,
                      csv.encode(), "text/csv")
        print("imported %d guests in %.1f s" % (report["imported"], time.perf_counter() - started))
        # The import's search indexing runs on in the background; let it end
        # so that the launch is measured alone (read-only look beside the
        # daemon, which WAL allows).
        reader = sqlite3.connect("file:%s?mode=ro" % os.path.join(data_dir, "eventdesk.db"), uri=True)
        started = time.perf_counter()
        while reader.execute("SELECT (SELECT indexed_upto FROM guests_search_state) < "
                             "(SELECT max(id) FROM guests)").fetchone()[0]:
            time.sleep(0.5)
        reader.close()
        print("search index caught up %.1f s later" % (time.perf_counter() - started))

        campaign = call(base, "POST", "/api/v1/events/%d/campaigns" % event_id, token,
                        {"kind": "update", "subject": "News about {{event_name}}",
                         "text": "Hello {{first_name}}: {{rsvp_url}}"})
        samples = []
        stop = threading.Event()
        poller = threading.Thread(target=poll_healthz, args=(base, stop, samples))
        poller.start()
        time.sleep(0.3)
        before = len(samples)
        started = time.perf_counter()
        launched = call(base, "POST", "/api/v1/campaigns/%d/launch" % campaign["id"], token, {})
        launch_s = time.perf_counter() - started
        during = samples[before:]
        stop.set()
        poller.join()

        print("launch: %d messages queued in %.3f s (target < 3 s): %s" %
              (launched["total"], launch_s, "PASS" if launch_s < 3 and launched["total"] == args.guests else "FAIL"))
        if during:
            print("/healthz during the launch: %d requests, p50 %.1f ms, p99 %.1f ms, max %.1f ms" %
                  (len(during), percentile(during, 50), percentile(during, 99), max(during)))
        else:
            print("/healthz during the launch: no request finished")

        daemon.terminate()
        daemon.wait(timeout=60)
        daemon = None

        db_path = os.path.join(data_dir, "eventdesk.db")
        with_triggers = time_insert(db_path, campaign["id"], event_id, True)
        without = time_insert(db_path, campaign["id"], event_id, False)
        print("INSERT ... SELECT of %d messages, sqlite3 alone: %.3f s with the counter triggers, "
              "%.3f s without (the triggers cost %.3f s, %.0f%%)" %
              (args.guests, with_triggers, without, with_triggers - without,
               100 * (with_triggers - without) / without))
        print("load average: %s" % open("/proc/loadavg").read().split()[:3])
    finally:
        if daemon is not None:
            daemon.terminate()
            daemon.wait(timeout=60)
        if args.keep:
            print("data kept in", data_dir)
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
