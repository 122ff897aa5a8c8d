#!/usr/bin/env python3
"""The bench's HTTP client for what wrk does not do: fills the pools, and sends
requests one at a time for the instruction counts (one keep-alive connection,
the standard library only).

  client.py codes URL N CLIENT_ID REDIRECT_URI CHALLENGE USERNAME PASSWORD
      Signs USERNAME in through grantd's own pages (sign-in, consent), then asks
      the authorization endpoint for N codes with that browser session (consent
      is remembered, so each is one GET answered 303); prints one code per line.
  client.py tokens URL N BASIC BODY FIELD
      N token requests (POST /oauth/token, Basic BASIC, form BODY); prints the
      answer's FIELD (access_token, refresh_token) per line.
  client.py send URL N METHOD PATH AUTH BODY POOL_FILE
      N requests one after another, "{}" in AUTH and BODY replaced by the next
      line of POOL_FILE (round-robin); exits 1 on the first answer that is not
      2xx. AUTH is the Authorization header's value (empty: none).

Loopback only; exits 1 with grantd's answer when a step fails.
"""
import html
import http.client
import re
import sys
import urllib.parse


class Browser:
    def __init__(self, url):
        u = urllib.parse.urlsplit(url)
        if u.hostname not in ("127.0.0.1", "localhost", "::1"):
            sys.exit(f"client.py: {url} is not loopback")
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        self.cookies = {}

    def send(self, method, path, body=None, headers=None):
        h = {"Accept": "text/html", **(headers or {})}
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            h["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=body, headers=h)
        r = self.conn.getresponse()
        text = r.read().decode("utf-8", "replace")
        for k, v in r.getheaders():
            if k.lower() == "set-cookie":
                name, _, value = v.split(";", 1)[0].partition("=")
                self.cookies[name.strip()] = value.strip()
        return r.status, r.getheader("Location"), text


def hidden_fields(page):
    return [
        (html.unescape(n), html.unescape(v))
        for n, v in re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)"', page)
    ]


def fail(step, status, text):
    sys.exit(f"client.py: {step} answered {status}: {text[:400]}")


def codes(url, n, client_id, redirect_uri, challenge, username, password):
    b = Browser(url)
    query = urllib.parse.urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
        "code_challenge": challenge, "code_challenge_method": "S256", "state": "bench",
    })
    path = "/oauth/authorize?" + query
    status, location, page = b.send("GET", path)
    if 'action="/oauth/authorize/login"' in page:
        form = hidden_fields(page) + [("username", username), ("password", password)]
        status, location, page = b.send("POST", "/oauth/authorize/login", urllib.parse.urlencode(form))
    if status == 200 and 'action="/oauth/authorize/consent"' in page:
        form = hidden_fields(page.split('action="/oauth/authorize/signout"')[0]) + [("decision", "allow")]
        status, location, page = b.send("POST", "/oauth/authorize/consent", urllib.parse.urlencode(form))
    out = sys.stdout
    for i in range(n):
        if i > 0:
            status, location, page = b.send("GET", path)
        if status != 303 or not location:
            fail("authorize", status, page)
        code = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query).get("code")
        if not code:
            fail("authorize (no code in the redirect)", status, location)
        out.write(code[0] + "\n")


def tokens(url, n, basic, body, field):
    b = Browser(url)
    pattern = re.compile(r'"%s":"([^"]+)"' % re.escape(field))
    for _ in range(n):
        status, _, text = b.send("POST", "/oauth/token", body, {"Authorization": "Basic " + basic, "Accept": "application/json"})
        m = pattern.search(text)
        if status != 200 or not m:
            fail("token", status, text)
        sys.stdout.write(m.group(1) + "\n")


def send(url, n, method, path, auth, body, pool_file):
    b = Browser(url)
    with open(pool_file) as f:
        pool = [line.strip() for line in f if line.strip()] or [""]
    for i in range(n):
        item = pool[i % len(pool)]
        headers = {"Accept": "application/json"}
        if auth:
            headers["Authorization"] = auth.replace("{}", item)
        status, _, text = b.send(method, path, body.replace("{}", item) if body else None, headers)
        if not 200 <= status < 300:
            fail(f"{method} {path}", status, text)


if __name__ == "__main__":
    if len(sys.argv) == 9 and sys.argv[1] == "codes":
        codes(sys.argv[2], int(sys.argv[3]), *sys.argv[4:9])
    elif len(sys.argv) == 9 and sys.argv[1] == "send":
        send(sys.argv[2], int(sys.argv[3]), *sys.argv[4:9])
    elif len(sys.argv) == 7 and sys.argv[1] == "tokens":
        tokens(sys.argv[2], int(sys.argv[3]), *sys.argv[4:7])
    else:
        sys.exit(__doc__)
