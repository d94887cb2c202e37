#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The RSVP page in a real browser.

Starts the real eventdeskd on a fresh data directory and Debian's headless
Chromium through chromedriver (WebDriver over HTTP on loopback), creates an
event and guests through the API, opens a guest's link, checks the page,
accepts with a party size, checks the confirmation and the seat count, sees
the count change live — pushed over the page's WebSocket, and polled when
no WebSocket can be had — when other guests answer, and saves a screenshot of
each state (desktop, and a 390x844 phone) for review. Python's standard
library only.
"""

import argparse
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

ADMIN = "admin"
PASSWORD = "correct horse battery staple"
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
START_TIMEOUT_S = 30
LIVE_UPDATE_TIMEOUT_S = 20
PUSH_TIMEOUT_S = 3          # well under the 5 s of the polling it replaces
PUBLIC_LIVE_PER_ADDRESS = 4


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)
    print("ok -", message)


def http(method, url, body=None, token=None, headers=None, raw=False):
    data = None
    request_headers = dict(headers or {})
    if body is not None:
        data = json.dumps(body).encode()
        request_headers["Content-Type"] = "application/json"
    if token:
        request_headers["Authorization"] = "Bearer " + token
    request = urllib.request.Request(url, data=data, method=method, headers=request_headers)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=30) as response:
            payload = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        payload = error.read()
        status = error.code
    if raw:
        return status, payload
    return status, json.loads(payload) if payload else None


def open_live_socket(base, token):
    """Opens the page's WebSocket by hand (the standard library has no
    client) and returns the socket and the status line of the answer."""
    parts = urllib.parse.urlsplit(base)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(("GET /r/%s/live HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
                  % (token, parts.hostname, parts.port, key)).encode())
    reply = b""
    while b"\r\n\r\n" not in reply:
        byte = sock.recv(1)
        if not byte:
            break
        reply += byte
    return sock, reply.split(b"\r\n", 1)[0].decode()


def public_live_clients(base):
    status, text = http("GET", base + "/metrics", raw=True)
    for line in text.decode().splitlines():
        if line.startswith('eventdesk_live_clients{channel="public"} '):
            return int(float(line.split()[-1]))
    return -1


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebDriver:
    def __init__(self, base, capabilities):
        self.base = base
        status, answer = http("POST", base + "/session", {"capabilities": {"alwaysMatch": capabilities}})
        if status != 200:
            raise Failure("chromedriver refused the session: %s" % answer)
        self.session = answer["value"]["sessionId"]

    def call(self, method, path, body=None):
        status, answer = http(method, "%s/session/%s%s" % (self.base, self.session, path),
                              body if body is not None else ({} if method == "POST" else None))
        if status != 200:
            raise Failure("WebDriver %s %s: %s" % (method, path, answer))
        return answer["value"]

    def go(self, url):
        self.call("POST", "/url", {"url": url})

    def find(self, css):
        return self.call("POST", "/element", {"using": "css selector", "value": css})[ELEMENT]

    def exists(self, css):
        return self.js("return document.querySelector(arguments[0]) !== null;", css)

    def text(self, css):
        return self.call("GET", "/element/%s/text" % self.find(css))

    def click(self, css):
        self.call("POST", "/element/%s/click" % self.find(css))

    def js(self, script, *args):
        return self.call("POST", "/execute/sync", {"script": script, "args": list(args)})

    def url(self):
        return self.call("GET", "/url")

    def resize(self, width, height):
        self.call("POST", "/window/rect", {"width": width, "height": height})

    def screenshot(self, path):
        with open(path, "wb") as f:
            f.write(base64.b64decode(self.call("GET", "/screenshot")))
        print("# screenshot:", path)

    def wait_for(self, script, timeout, *args):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.js(script, *args):
                return True
            time.sleep(0.2)
        return False

    def quit(self):
        try:
            http("DELETE", "%s/session/%s" % (self.base, self.session))
        except OSError:
            pass


def wait_for_http(url, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            http("GET", url)
            return True
        except (OSError, ValueError):
            time.sleep(0.1)
    return False


def chromium_capabilities(profile, width, height, languages=None):
    options = {
        "binary": shutil.which("chromium") or "/usr/bin/chromium",
        "args": [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--user-data-dir=" + profile,
            "--window-size=%d,%d" % (width, height), "--hide-scrollbars",
            "--force-device-scale-factor=1",
        ],
    }
    if languages:
        options["args"].append("--lang=" + languages.split(",")[0])
        options["prefs"] = {"intl.accept_languages": languages}
    return {"browserName": "chrome", "goog:chromeOptions": options}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--eventdeskd", required=True)
    parser.add_argument("--screenshots", required=True)
    parser.add_argument("--chromedriver", default=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    args = parser.parse_args()

    os.makedirs(args.screenshots, exist_ok=True)
    work = tempfile.mkdtemp(prefix="eventdesk-browser-")
    data_dir = os.path.join(work, "data")
    processes = []
    drivers = []
    env = dict(os.environ, TZ="Asia/Tokyo", LC_ALL="C.UTF-8")

    def shot(name):
        return os.path.join(args.screenshots, name)

    try:
        # The daemon, with one admin.
        subprocess.run([args.eventdeskd, "admin", "add", ADMIN, "--password-stdin", "--data-dir", data_dir],
                       input=PASSWORD + "\n", text=True, check=True, env=env, capture_output=True)
        log = open(os.path.join(work, "eventdeskd.log"), "w")
        daemon = subprocess.Popen([args.eventdeskd, "--listen", "127.0.0.1:0", "--data-dir", data_dir],
                                  stdout=subprocess.PIPE, stderr=log, text=True, env=env)
        processes.append(daemon)
        line = daemon.stdout.readline().strip()
        check(line.startswith("eventdeskd listening on http://127.0.0.1:"), "eventdeskd started: " + line)
        base = line[len("eventdeskd listening on "):]

        status, answer = http("POST", base + "/api/v1/session", {"username": ADMIN, "password": PASSWORD})
        check(status == 201, "admin logged in")
        token = answer["token"]

        status, event = http("POST", base + "/api/v1/events", {
            "name": "Midsummer Garden Party",
            "description": "Lanterns, music and a long table under the linden trees.\n\n"
                           "Bring a jumper: evenings by the river get cool.",
            "venue": "Botanical Garden, Lindenallee 3",
            "timezone": "Europe/Berlin",
            "starts_at": "2030-06-21T18:00",
            "ends_at": "2030-06-21T23:30",
            "rsvp_deadline": "2030-06-14T23:59",
            "capacity": 20,
            "max_party_size": 4,
        }, token)
        check(status == 201, "event created")
        guests = []
        for email, first in (("ann@example.com", "Ann"), ("bob@example.com", "Bob"), ("cem@example.com", "Cem"),
                             ("dan@example.com", "Dan")):
            status, guest = http("POST", "%s/api/v1/events/%d/guests" % (base, event["id"]),
                                 {"email": email, "first_name": first}, token)
            check(status == 201, "guest %s created" % first)
            status, link = http("GET", "%s/api/v1/guests/%d/link" % (base, guest["id"]), token=token)
            check(status == 200 and link["url"].startswith(base + "/r/"), "link of %s" % first)
            guests.append((guest["id"], link["url"], link["token"]))

        # chromedriver on a free loopback port.
        port = free_port()
        driver_process = subprocess.Popen([args.chromedriver, "--port=%d" % port, "--allowed-ips=127.0.0.1"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        processes.append(driver_process)
        driver_base = "http://127.0.0.1:%d" % port
        check(wait_for_http(driver_base + "/status", START_TIMEOUT_S), "chromedriver started")

        browser = WebDriver(driver_base, chromium_capabilities(os.path.join(work, "profile-en"), 1280, 900,
                                                               "en-US,en"))
        drivers.append(browser)

        # The invitation.
        ann_id, ann_url, _ = guests[0]
        browser.go(ann_url)
        check(browser.js("return document.documentElement.lang;") == "en", "page language is en")
        check(browser.text("h1") == "Midsummer Garden Party", "the event's name is the heading")
        check("Friday, June 21, 2030, 6:00 PM – 11:30 PM" in browser.text(".facts"),
              "date and time in the event's zone")
        check(browser.text("#seats-left") == "20", "20 seats left")
        check(browser.text("#current-answer") == "You haven’t answered yet.", "no answer yet")
        check(browser.js("return [...document.querySelectorAll('input:not([type=hidden]), select')]"
                         ".every(e => e.labels && e.labels.length > 0);"), "every control has a label")
        check(browser.js("return getComputedStyle(document.querySelector('.card')).borderTopLeftRadius;") == "14px",
              "the style sheet applies under the page's CSP")
        check(browser.wait_for("return document.getElementById('seats-left').dataset.seatsLeft === '20';", 10),
              "the script runs and reads the seat count (CSP allows it)")
        browser.screenshot(shot("01-invitation-desktop.png"))

        # Keyboard order: the first answer, then the second, then the party size, then the button.
        order = browser.js("""
            const items = [...document.querySelectorAll('a[href], input:not([type=hidden]), select, button')];
            return items.map(e => e.id || e.tagName.toLowerCase());""")
        check(order[:4] == ["response-accept", "response-decline", "party-size", "button"],
              "focus order: accept, decline, party size, send (%s)" % order)

        # Accept with a party of 3.
        browser.click("#response-accept")
        browser.js("const s = document.getElementById('party-size'); s.value = '3';"
                   "s.dispatchEvent(new Event('change'));")
        browser.click("button[type=submit]")
        check(browser.wait_for("return location.search.includes('notice=saved');", 10), "redirected after the answer")
        check(browser.text("#notice") == "Thank you! Your answer has been saved.", "confirmation shown")
        check(browser.text("#current-answer") == "You’re coming. We’ve kept 3 seats for your party.",
              "the answer reads accepted with 3 seats")
        check(browser.text("#seats-left") == "17", "17 seats left after the answer")
        check(browser.exists("#add-to-calendar"), "an add-to-calendar link")
        check(browser.js("return document.activeElement && document.activeElement.id;") == "notice",
              "the confirmation has the focus")
        browser.screenshot(shot("02-accepted-desktop.png"))

        # Seats left, live: Bob answers elsewhere, and the number is pushed
        # to Ann's page over its WebSocket.
        check(browser.wait_for("return document.getElementById('seats-left').dataset.feed === 'live';", 10),
              "the page listens on its WebSocket")
        _, bob_url, _ = guests[1]
        request = urllib.request.Request(bob_url, data=b"response=accept&party_size=4", method="POST",
                                         headers={"Accept": "application/json",
                                                  "Content-Type": "application/x-www-form-urlencoded"})
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=30) as response:
            check(json.loads(response.read())["seats_left"] == 13, "another guest takes 4 seats")
        check(browser.wait_for("return document.getElementById('seats-left').textContent === '13';",
                               PUSH_TIMEOUT_S), "the open page shows 13 seats left at once, without reloading")
        browser.screenshot(shot("03-live-update-desktop.png"))

        # No WebSocket to be had (this address holds the most allowed): the
        # page polls instead, and still follows.
        browser.go("about:blank")
        deadline = time.monotonic() + 10
        while public_live_clients(base) != 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        check(public_live_clients(base) == 0, "the page's WebSocket closed with the page")
        _, _, ann_token = guests[0]
        held = []
        for _ in range(PUBLIC_LIVE_PER_ADDRESS):
            sock, status_line = open_live_socket(base, ann_token)
            held.append(sock)
            check(status_line.startswith("HTTP/1.1 101"), "a live channel opens: " + status_line)
        sock, status_line = open_live_socket(base, ann_token)
        held.append(sock)
        check(status_line.startswith("HTTP/1.1 429"), "one too many is refused: " + status_line)
        browser.go(ann_url)
        check(browser.wait_for("return document.getElementById('seats-left').dataset.feed === 'polling';", 10),
              "the page falls back to polling")
        _, dan_url, _ = guests[3]
        request = urllib.request.Request(dan_url, data=b"response=accept&party_size=2", method="POST",
                                         headers={"Accept": "application/json",
                                                  "Content-Type": "application/x-www-form-urlencoded"})
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=30) as response:
            check(json.loads(response.read())["seats_left"] == 11, "a fourth guest takes 2 seats")
        check(browser.wait_for("return document.getElementById('seats-left').textContent === '11';",
                               LIVE_UPDATE_TIMEOUT_S), "the polling page shows 11 seats left without reloading")
        for sock in held:
            sock.close()

        # A phone.
        browser.resize(390, 844)
        browser.go(ann_url)
        check(browser.js("return document.documentElement.scrollWidth <= window.innerWidth;"),
              "no sideways scrolling at 390 px")
        browser.screenshot(shot("04-accepted-phone.png"))
        _, cem_url, _ = guests[2]
        browser.go(cem_url)
        browser.screenshot(shot("05-invitation-phone.png"))

        # A broken link.
        browser.go(ann_url[:-6] + "AAAAAA")
        check(browser.text("h1") == "This link doesn’t work", "a broken link gets the friendly page")
        check("Midsummer" not in browser.js("return document.body.innerText;"), "and it reveals nothing")
        browser.screenshot(shot("06-invalid-link-phone.png"))

        # German, for a browser that asks for it.
        german = WebDriver(driver_base, chromium_capabilities(os.path.join(work, "profile-de"), 390, 844,
                                                              "de-DE,de"))
        drivers.append(german)
        german.resize(390, 844)
        german.go(cem_url)
        check(german.js("return document.documentElement.lang;") == "de", "page language is de")
        check(german.text("legend") == "Kommen Sie?", "the form is in German")
        check("Freitag, 21. Juni 2030, 18:00 Uhr – 23:30 Uhr" in german.text(".facts"), "the date is in German")
        german.screenshot(shot("07-invitation-phone-de.png"))

        # What the browser did is in the database, once.
        status, guest = http("GET", "%s/api/v1/guests/%d" % (base, ann_id), token=token)
        check(guest["status"] == "accepted" and guest["party_size"] == 3, "Ann is accepted with 3 seats")
        status, history = http("GET", "%s/api/v1/guests/%d/history" % (base, ann_id), token=token)
        check(history["total"] == 1 and history["items"][0]["source"] == "guest", "one history row, from the guest")

        print("1..1\nok 1 - the RSVP page in Chromium")
        return 0
    except Failure as failure:
        print("not ok -", failure)
        log_path = os.path.join(work, "eventdeskd.log")
        if os.path.exists(log_path):
            with open(log_path) as f:
                sys.stdout.write("# eventdeskd log:\n" + "".join("# " + l for l in f.readlines()[-40:]))
        return 1
    finally:
        for driver in drivers:
            driver.quit()
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
