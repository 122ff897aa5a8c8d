"""End-to-end test: the official RingCentral Python SDK (`ringcentral`) against grantd.

Usage: python test_sdk.py PATH/TO/grantd

Starts grantd on a free port with a fresh data directory, registers apps, a user
and a JWT credential over the admin API, then drives the SDK through login,
API call, refresh, logout, the legacy password grant and an error case, and
through the authorization-code flow: the SDK builds the authorization URL, a
`requests.Session()` plays the browser on grantd's sign-in and consent pages,
and the SDK exchanges the code (confidential app; public app with PKCE S256).

Ends with exactly one summary line, "sdk-python: N passed, M failed", and exits
non-zero when anything failed. scripts/test sums every "N passed" / "N failed"
it sees, so nothing else this script prints may contain such a phrase: text
that comes from elsewhere (exception messages, grantd's log) goes through
`quiet()` first.
"""

import base64
import hashlib
import html.parser
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import warnings

import requests
from ringcentral import SDK
from ringcentral.http.api_exception import ApiException

SUITE = "sdk-python"
ADMIN_TOKEN = "sdk-python-admin-token-0123456789abcdef"
EMAIL = "sdk@example.com"
EXTENSION = "101"
PHONE = "+16505550100"
PASSWORD = "correct horse battery"
START_TIMEOUT = 30  # seconds to wait for "grantd listening on ..."
CALLBACK = "http://127.0.0.1:8765/callback"  # never contacted: the test reads Location
WS_URI = "wss://ws.grantd.test/ws"  # the WebSocket gateway grantd names (never connected to here)

# The SDK warns on every username/password login; that is expected here.
warnings.filterwarnings("ignore", message="username-password login")


def quiet(text):
    """Keeps foreign text from adding to scripts/test's "N passed, M failed" sums."""
    return re.sub(r"(\d+)(\s+)(passed|failed)", r"\1\2[\3]", str(text))


# --------------------------------------------------------------------------
# grantd process


class Grantd:
    def __init__(self, binary):
        self.binary = binary
        self.data_dir = tempfile.mkdtemp(prefix="grantd-sdk-python-")
        self.log_path = os.path.join(self.data_dir, "grantd.log")
        self.proc = None
        self.base = None
        self.stdout_lines = []

    def start(self):
        env = dict(os.environ)
        env["GRANTD_ADMIN_TOKEN"] = ADMIN_TOKEN
        env.pop("GRANTD_LISTEN", None)
        env.pop("GRANTD_DATA_DIR", None)
        env.pop("GRANTD_DATABASE_URL", None)
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--data-dir", os.path.join(self.data_dir, "data"),
                "serve",
                "--listen", "127.0.0.1:0",
                "--password-grant-sunset", "2099-12-31",
                "--ws-uri", WS_URI,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.log,  # a file: never blocks
            env=env,
        )
        found = threading.Event()

        def drain():  # keeps reading stdout until grantd exits, so it never blocks
            for raw in self.proc.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                self.stdout_lines.append(line)
                m = re.search(r"grantd listening on (http://\S+)", line)
                if m and not found.is_set():
                    self.base = m.group(1).rstrip("/")
                    found.set()

        threading.Thread(target=drain, daemon=True).start()
        deadline = time.time() + START_TIMEOUT
        while not found.wait(0.1):
            if self.proc.poll() is not None:
                raise RuntimeError("grantd exited with status %s before listening" % self.proc.returncode)
            if time.time() > deadline:
                raise RuntimeError("grantd did not print 'grantd listening on' within %ss" % START_TIMEOUT)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=10)
                if rc != 0:
                    print("note: grantd exited with status %s on SIGTERM" % rc)
            except subprocess.TimeoutExpired:
                print("note: grantd did not stop within 10 s of SIGTERM; killing it")
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "log", None):
            self.log.close()

    def dump_log(self):
        print("---- grantd stdout ----")
        for line in self.stdout_lines:
            print(quiet(line))
        print("---- grantd stderr (%s) ----" % self.log_path)
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError as e:
            text = "(cannot read the log: %s)" % e
        # Strip ANSI colours from the tracing output.
        print(quiet(re.sub(r"\x1b\[[0-9;]*m", "", text)).rstrip())
        print("---- end of grantd log ----")

    def cleanup(self):
        shutil.rmtree(self.data_dir, ignore_errors=True)


# --------------------------------------------------------------------------
# plain HTTP helpers (admin API, introspection): stdlib only


def http(method, url, body=None, headers=None, form=None):
    headers = dict(headers or {})
    data = None
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            status, text = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode()
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        parsed = None
    return status, parsed, text


def admin(grantd, path, body):
    status, parsed, text = http(
        "POST", grantd.base + path, body=body,
        headers={"Authorization": "Bearer " + ADMIN_TOKEN},
    )
    if status not in (200, 201) or not isinstance(parsed, dict):
        raise AssertionError("admin POST %s -> HTTP %s %s" % (path, status, text))
    return parsed


def basic(client_id, secret):
    return "Basic " + base64.b64encode(("%s:%s" % (client_id, secret)).encode()).decode()


def introspect(ctx, token):
    status, parsed, text = http(
        "POST", ctx["base"] + "/oauth/introspect", form={"token": token},
        headers={"Authorization": basic(ctx["jwt_app"]["client_id"], ctx["jwt_app"]["client_secret"])},
    )
    check(status == 200 and isinstance(parsed, dict), "introspect -> HTTP %s %s" % (status, text))
    return parsed


# --------------------------------------------------------------------------
# assertions


def check(cond, message):
    if not cond:
        raise AssertionError(message)


def eq(actual, expected, what):
    if actual != expected:
        raise AssertionError("%s: expected %r, got %r" % (what, expected, actual))


def raises(fn, what):
    """Runs fn, which must raise; returns the exception's full text."""
    try:
        fn()
    except Exception as e:  # the SDK raises ApiException (or plain Exception)
        return "%s: %s" % (type(e).__name__, e)
    raise AssertionError("%s: expected an exception, got none" % what)


def sdk_for(ctx, app):
    return SDK(app["client_id"], app.get("client_secret", ""), ctx["base"])


# --------------------------------------------------------------------------
# the authorization-code flow: the SDK's URL, a requests.Session() as the browser


def sdk_login_url(platform, redirect_uri, state, challenge=""):
    """platform.login_url(...), the SDK's own authorization URL builder.

    ringcentral 0.9.2's platform.py calls urllib.parse.quote without importing
    urllib (it only does `from urllib.parse import urlparse`), so login_url
    raises NameError: name 'urllib' is not defined. When that happens this
    supplies the missing module-level import and calls it again; the URL is
    still the SDK's. Records the workaround in _SDK_NOTES.
    """
    args = dict(state=state, challenge=challenge, challenge_method="S256")
    try:
        return platform.login_url(redirect_uri, **args)
    except NameError as e:
        if "urllib" not in str(e):
            raise
        module = sys.modules[type(platform).__module__]
        module.urllib = urllib
        _SDK_NOTES["login_url"] = (
            "SDK bug: Platform.login_url raised NameError (%s): ringcentral/platform/platform.py "
            "lacks `import urllib`; the test injected it into the module" % e)
        return platform.login_url(redirect_uri, **args)


_SDK_NOTES = {}


class FormParser(html.parser.HTMLParser):
    """Every <form>: its action and its hidden inputs (values unescaped)."""

    def __init__(self):
        super().__init__()
        self.forms = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action"), "method": (a.get("method") or "get").lower(),
                               "hidden": []})
        elif tag == "input" and self.forms and (a.get("type") or "").lower() == "hidden":
            self.forms[-1]["hidden"].append((a.get("name"), a.get("value") or ""))


def form_fields(response, action):
    """The hidden fields of the page's form that posts to `action`."""
    check(response.status_code == 200,
          "expected the page with the form to %s, got HTTP %s Location=%r: %s"
          % (action, response.status_code, response.headers.get("Location"), quiet(response.text[:2000])))
    parser = FormParser()
    parser.feed(response.text)
    for form in parser.forms:
        if form["action"] == action:
            eq(form["method"], "post", "method of the form to %s" % action)
            return list(form["hidden"])
    raise AssertionError("no form posting to %s on the page: %s" % (action, quiet(response.text[:2000])))


def browser_code(ctx, url, state):
    """Walks grantd's pages like a browser, from the authorization URL to the
    app's redirect; returns the code and the redirect's query."""
    browser = requests.Session()
    browser.headers["Accept"] = "text/html"
    page = browser.get(url, allow_redirects=False, timeout=15)
    check("grantd_csrf" in browser.cookies, "no grantd_csrf cookie after GET %s: %r" % (url, dict(page.headers)))
    fields = form_fields(page, "/oauth/authorize/login")
    names = [n for n, _ in fields]
    check("csrf" in names, "sign-in form lacks the csrf field: %r" % names)
    eq(dict(fields)["csrf"], browser.cookies.get("grantd_csrf"), "the sign-in form's csrf vs the grantd_csrf cookie")
    fields += [("username", EMAIL), ("password", PASSWORD)]
    page = browser.post(ctx["base"] + "/oauth/authorize/login", data=fields, allow_redirects=False, timeout=15)
    check("grantd_session" in browser.cookies, "no grantd_session cookie after signing in: HTTP %s %s"
          % (page.status_code, quiet(page.text[:2000])))
    fields = form_fields(page, "/oauth/authorize/consent")
    fields.append(("decision", "allow"))
    done = browser.post(ctx["base"] + "/oauth/authorize/consent", data=fields, allow_redirects=False, timeout=15)
    eq(done.status_code, 303, "status of the consent POST (%s)" % quiet(done.text[:2000]))
    location = done.headers.get("Location", "")
    check(location.startswith(CALLBACK + "?"), "redirect to %r, not to %s?..." % (location, CALLBACK))
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
    check(query.get("code") and "error" not in query, "redirect without a code: %r" % location)
    eq(query.get("state"), state, "state in the redirect")
    eq(query.get("expires_in"), "60", "expires_in in the redirect")
    eq(query.get("iss"), ctx["base"], "iss in the redirect")
    return query["code"], query


def code_login(ctx, app, pkce):
    """SDK URL -> browser -> code -> platform.login(code=...); checks the tokens and an API call."""
    platform = sdk_for(ctx, app).platform()
    state = secrets.token_urlsafe(16)
    verifier = challenge = ""
    if pkce:
        verifier = secrets.token_urlsafe(48)  # 64 characters of [A-Za-z0-9_-]: RFC 7636 §4.1
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    url = sdk_login_url(platform, CALLBACK, state, challenge)
    check(url.startswith(ctx["base"] + "/restapi/oauth/authorize?"), "SDK's authorization URL: %s" % url)
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    eq(query.get("response_type"), "code", "response_type in the SDK's URL")
    eq(query.get("client_id"), app["client_id"], "client_id in the SDK's URL")
    eq(query.get("redirect_uri"), CALLBACK, "redirect_uri in the SDK's URL")
    if pkce:
        eq(query.get("code_challenge"), challenge, "code_challenge in the SDK's URL")
        eq(query.get("code_challenge_method"), "S256", "code_challenge_method in the SDK's URL")

    code, _ = browser_code(ctx, url, state)

    response = platform.login(code=code, redirect_uri=CALLBACK, verifier=verifier)
    sent = urllib.parse.parse_qs(response.request().body if isinstance(response.request().body, str)
                                 else (response.request().body or b"").decode())
    eq(sent.get("grant_type"), ["authorization_code"], "grant_type the SDK sent")
    eq(sent.get("code_verifier"), [verifier] if pkce else None, "code_verifier the SDK sent")
    eq(response.request().headers.get("Authorization"), basic(app["client_id"], app.get("client_secret", "")),
       "SDK's client authentication")
    data = response.json_dict()
    for field in ("access_token", "refresh_token", "token_type", "expires_in", "refresh_token_expires_in"):
        check(data.get(field), "token response lacks %s: %r" % (field, data))
    eq(data.get("owner_id"), ctx["user"]["id"], "owner_id in the token response")
    auth = platform.auth().data()
    eq(auth["access_token"], data["access_token"], "SDK's stored access_token")
    eq(auth["refresh_token"], data["refresh_token"], "SDK's stored refresh_token")
    eq(auth["owner_id"], ctx["user"]["id"], "SDK's stored owner_id")
    check(platform.auth().access_token_valid(), "SDK considers the access token invalid: %r" % auth)
    ext = platform.get("/restapi/v1.0/account/~/extension/~").json_dict()
    eq(ext.get("extensionNumber"), EXTENSION, "extensionNumber with the code-flow token")
    eq(str(ext.get("id")), ctx["user"]["id"], "extension id with the code-flow token")

    # The code is single-use: the SDK's second exchange of it is refused.
    again = sdk_for(ctx, app).platform()
    text = raises(lambda: again.login(code=code, redirect_uri=CALLBACK, verifier=verifier),
                  "a second exchange of the same code")
    check("HTTP 400" in text and "invalid_grant" in text, "code replay should be 400 invalid_grant: %s" % text)
    ctx["code_replay"] = text
    return platform


# --------------------------------------------------------------------------
# the tests, in order; each may use what the earlier ones left in ctx


def test_jwt_login(ctx):
    """SDK(...).platform().login(jwt=...) -> access/refresh tokens, owner_id = user"""
    platform = sdk_for(ctx, ctx["jwt_app"]).platform()
    response = platform.login(jwt=ctx["jwt"])
    data = response.json_dict()
    for field in ("access_token", "refresh_token", "token_type", "expires_in", "refresh_token_expires_in"):
        check(data.get(field), "token response lacks %s: %r" % (field, data))
    eq(data.get("owner_id"), ctx["user"]["id"], "owner_id in the token response")
    auth = platform.auth().data()
    eq(auth["access_token"], data["access_token"], "SDK's stored access_token")
    eq(auth["refresh_token"], data["refresh_token"], "SDK's stored refresh_token")
    eq(auth["owner_id"], ctx["user"]["id"], "SDK's stored owner_id")
    check(platform.auth().access_token_valid(), "SDK considers the access token invalid: %r" % auth)
    check(platform.auth().refresh_token_valid(), "SDK considers the refresh token invalid: %r" % auth)
    headers = response.response().headers
    check("application/json" in headers.get("Content-Type", ""), "Content-Type: %r" % headers.get("Content-Type"))
    check("no-store" in headers.get("Cache-Control", ""), "Cache-Control: %r" % headers.get("Cache-Control"))
    ctx["platform"] = platform


def test_extension_call(ctx):
    """platform.get('/restapi/v1.0/account/~/extension/~') -> the user"""
    platform = ctx["platform"]
    response = platform.get("/restapi/v1.0/account/~/extension/~")
    sent = response.request().headers.get("Authorization", "")
    check(sent.lower().startswith("bearer "), "SDK sent Authorization %r" % sent)
    ext = response.json_dict()
    eq(ext.get("extensionNumber"), EXTENSION, "extensionNumber")
    eq((ext.get("contact") or {}).get("email"), EMAIL, "contact.email")
    eq(str((ext.get("account") or {}).get("id")), ctx["user"]["account_id"], "account.id")
    # The SDK's object view of the same response.
    eq(response.json().extensionNumber, EXTENSION, "response.json().extensionNumber")


def test_websocket_token(ctx):
    """WebSocketClient(platform).get_web_socket_token() -> {uri, ws_access_token, expires_in}"""
    from ringcentral.websocket.web_socket_client import WebSocketClient

    token = WebSocketClient(ctx["platform"]).get_web_socket_token()
    eq(token.get("uri"), WS_URI, "uri of the wstoken (ws.uri)")
    check(token.get("ws_access_token"), "no ws_access_token: %r" % token)
    check(0 < int(token.get("expires_in", 0)) <= 60, "expires_in: %r" % token.get("expires_in"))
    # A JWT for the gateway: its audience is the gateway, its subject the user.
    payload = token["ws_access_token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    eq(claims.get("aud"), WS_URI, "aud of the ws_access_token")
    eq(claims.get("sub"), ctx["user"]["id"], "sub of the ws_access_token")


def test_refresh(ctx):
    """platform.refresh() -> a new access token that works"""
    platform = ctx["platform"]
    before = platform.auth().data()
    response = platform.refresh()
    data = response.json_dict()
    check(data.get("access_token"), "refresh response lacks access_token: %r" % data)
    check(data["access_token"] != before["access_token"], "refresh returned the same access token")
    check(data.get("refresh_token") and data["refresh_token"] != before["refresh_token"],
          "refresh did not rotate the refresh token: %r" % data)
    eq(platform.auth().access_token(), data["access_token"], "SDK's stored access_token after refresh")
    eq(data.get("owner_id"), ctx["user"]["id"], "owner_id after refresh")
    ext = platform.get("/restapi/v1.0/account/~/extension/~").json_dict()
    eq(ext.get("extensionNumber"), EXTENSION, "extensionNumber with the refreshed token")
    sent = platform.get("/restapi/v1.0/account/~/extension/~").request().headers["Authorization"]
    check(sent.endswith(" " + data["access_token"]), "SDK did not send the refreshed token")


def test_logout(ctx):
    """platform.logout() -> old access token inactive, old refresh token refused"""
    platform = ctx["platform"]
    before = platform.auth().data()
    old_access = before["access_token"]
    live = introspect(ctx, old_access)
    eq(live.get("active"), True, "introspection before logout")
    eq(live.get("sub"), ctx["user"]["id"], "introspection sub before logout")

    platform.logout()
    eq(platform.auth().access_token(), "", "SDK's access token after logout")

    after = introspect(ctx, old_access)
    eq(after.get("active"), False, "introspection of the old access token after logout (%r)" % after)

    # Put the pre-logout tokens back into the SDK and let it try to refresh.
    platform.auth().set_data(before)
    text = raises(platform.refresh, "refresh with the logged-out refresh token")
    check("HTTP 400" in text and "invalid_grant" in text and "OAU-211" in text,
          "refresh after logout should be a 400 invalid_grant OAU-211 (session ended); got: %s" % text)
    ctx["refresh_after_logout"] = text


def test_password_login(ctx):
    """password login (desktop app, empty secret) works; a wrong password says OAU-140"""
    app = dict(ctx["desktop_app"], client_secret="")
    platform = sdk_for(ctx, app).platform()
    response = platform.login(username=PHONE, extension=EXTENSION, password=PASSWORD)
    sent = response.request().headers.get("Authorization", "")
    eq(sent, basic(app["client_id"], ""), "SDK's Authorization header (Basic with an empty secret)")
    data = response.json_dict()
    check(data.get("access_token") and data.get("refresh_token"), "password login tokens: %r" % data)
    eq(data.get("owner_id"), ctx["user"]["id"], "owner_id after password login")
    headers = response.response().headers
    check(headers.get("Deprecation"), "password grant answer lacks a Deprecation header: %r" % dict(headers))
    check(headers.get("Sunset"), "password grant answer lacks a Sunset header: %r" % dict(headers))
    ext = platform.get("/restapi/v1.0/account/~/extension/~").json_dict()
    eq(ext.get("extensionNumber"), EXTENSION, "extensionNumber after password login")

    wrong = sdk_for(ctx, app).platform()
    text = raises(lambda: wrong.login(username=PHONE, extension=EXTENSION, password="wrong horse"),
                  "login with a wrong password")
    check("OAU-140" in text, "wrong password error lacks OAU-140: %s" % text)
    ctx["wrong_password"] = text


def test_jwt_on_desktop_app(ctx):
    """login(jwt=...) with an app not enabled for jwt_bearer says OAU-251"""
    app = dict(ctx["desktop_app"], client_secret="")
    platform = sdk_for(ctx, app).platform()
    text = raises(lambda: platform.login(jwt=ctx["jwt"]), "JWT login with the desktop app")
    check("OAU-251" in text, "JWT-on-desktop error lacks OAU-251: %s" % text)
    check("jwt_bearer" in text, "the explanation does not name the grant: %s" % text)
    ctx["jwt_on_desktop"] = text


def test_code_login(ctx):
    """authorization code: SDK login_url, sign-in + consent pages, login(code=...) (server-web app)"""
    app = admin_app(ctx, {
        "name": "SDK Web", "platform_type": "server-web", "redirect_uris": [CALLBACK],
        "grants": ["authorization_code", "refresh_token"], "scopes": ["ReadAccounts"],
    })
    check(app.get("client_secret"), "server-web app without a secret: %r" % app)
    code_login(ctx, app, pkce=False)


def test_code_login_pkce(ctx):
    """authorization code with PKCE S256: login(code=..., verifier=...) (browser app, no secret)"""
    app = admin_app(ctx, {
        "name": "SDK Browser", "platform_type": "browser", "redirect_uris": [CALLBACK],
        "grants": ["authorization_code", "refresh_token"], "scopes": ["ReadAccounts"],
    })
    check(not app.get("client_secret"), "browser app got a secret: %r" % app)
    code_login(ctx, dict(app, client_secret=""), pkce=True)


def admin_app(ctx, body):
    status, parsed, text = http(
        "POST", ctx["base"] + "/admin/v1/apps", body=body,
        headers={"Authorization": "Bearer " + ADMIN_TOKEN},
    )
    check(status in (200, 201) and isinstance(parsed, dict) and parsed.get("client_id"),
          "admin POST /admin/v1/apps -> HTTP %s %s" % (status, text))
    return parsed


TESTS = [
    test_jwt_login,
    test_extension_call,
    test_websocket_token,
    test_refresh,
    test_logout,
    test_password_login,
    test_jwt_on_desktop_app,
    test_code_login,
    test_code_login_pkce,
]

# Tests that cannot run when an earlier one failed (they share its SDK session).
NEEDS = {
    test_extension_call: test_jwt_login,
    test_websocket_token: test_jwt_login,
    test_refresh: test_jwt_login,
    test_logout: test_refresh,
}


def setup(grantd):
    ctx = {"base": grantd.base}
    ctx["jwt_app"] = admin(grantd, "/admin/v1/apps", {
        "name": "SDK JWT", "platform_type": "server-only",
        "grants": ["jwt_bearer", "refresh_token"], "scopes": ["ReadAccounts"],
    })
    check(ctx["jwt_app"].get("client_id") and ctx["jwt_app"].get("client_secret"),
          "server-only app: %r" % ctx["jwt_app"])
    ctx["user"] = admin(grantd, "/admin/v1/users", {
        "email": EMAIL, "name": "Sdk User", "extension_number": EXTENSION,
        "phone": PHONE, "password": PASSWORD,
    })
    check(ctx["user"].get("id") and ctx["user"].get("account_id"), "user: %r" % ctx["user"])
    cred = admin(grantd, "/admin/v1/users/%s/jwt-credentials" % ctx["user"]["id"], {})
    check(cred.get("jwt"), "JWT credential: %r" % cred)
    ctx["jwt"] = cred["jwt"]
    ctx["desktop_app"] = admin(grantd, "/admin/v1/apps", {
        "name": "SDK Desktop", "platform_type": "desktop",
        "grants": ["authorization_code", "refresh_token", "password"],
    })
    check(ctx["desktop_app"].get("client_id"), "desktop app: %r" % ctx["desktop_app"])
    check(not ctx["desktop_app"].get("client_secret"), "desktop app got a secret: %r" % ctx["desktop_app"])
    return ctx


def main():
    if len(sys.argv) != 2:
        print("usage: %s PATH/TO/grantd" % sys.argv[0], file=sys.stderr)
        print("%s: 0 passed, 1 failed" % SUITE)
        return 2
    grantd = Grantd(sys.argv[1])
    passed = failed = 0
    results = {}
    try:
        try:
            grantd.start()
            print("grantd at %s (data in %s)" % (grantd.base, grantd.data_dir))
            ctx = setup(grantd)
        except Exception:
            print("FAIL setup")
            print(quiet(traceback.format_exc()).rstrip())
            failed += 1
            ctx = None
        if ctx is not None:
            for test in TESTS:
                name = test.__name__
                doc = (test.__doc__ or "").strip()
                need = NEEDS.get(test)
                while need is not None and results.get(need):
                    need = NEEDS.get(need)
                if need is not None:
                    results[test] = False
                    failed += 1
                    print("FAIL %s: not run, needs %s" % (name, need.__name__))
                    continue
                try:
                    test(ctx)
                except Exception:
                    results[test] = False
                    failed += 1
                    print("FAIL %s: %s" % (name, doc))
                    print(quiet(traceback.format_exc()).rstrip())
                else:
                    results[test] = True
                    passed += 1
                    print("ok   %s: %s" % (name, doc))
            for note in _SDK_NOTES.values():
                print("note: %s" % quiet(note))
            if os.environ.get("SDK_TEST_VERBOSE"):
                for key in ("refresh_after_logout", "wrong_password", "jwt_on_desktop", "code_replay"):
                    if key in ctx:
                        print("%s -> %s" % (key, quiet(ctx[key])))
    finally:
        grantd.stop()
        if failed:
            grantd.dump_log()
        grantd.cleanup()
    print("%s: %d passed, %d failed" % (SUITE, passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
