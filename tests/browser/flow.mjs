// grantd's pages in a real browser (the authorization-code flow, the device
// flow's verification page): headless Debian Chromium
// (/usr/bin/chromium) driven by Playwright (playwright-core, pinned in
// package.json / package-lock.json; it never downloads a browser).
//
// Usage: node flow.mjs PATH/TO/grantd      (tests/browser/run does the setup)
//
// Starts grantd on a free port with a fresh data directory, a tiny HTTP server
// standing in for the app's redirect URI, and Chromium; registers a user and a
// server-web app over the admin API; then runs the tests below, each in a new
// browser context (no cookies shared), saving a full-page screenshot of every
// page it sees to artifacts/<test>/<step>.png.
//
// Ends with exactly one summary line, "browser: N passed, M failed", and exits
// non-zero when anything failed. scripts/test sums every "N passed" / "N
// failed" it sees, so nothing else printed here may contain such a phrase:
// text that comes from elsewhere (error messages, grantd's log) goes through
// quiet() first.

import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const SUITE = 'browser';
const HERE = path.dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = path.join(HERE, 'artifacts');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const ADMIN_TOKEN = `browser-admin-${randomBytes(24).toString('hex')}`;
const USER = { email: 'alice@example.com', name: 'Alice Smith', password: 'correct horse battery' };
const APP_NAME = 'Acme Web';
const DEVICE_APP_NAME = 'Acme TV';
const SPA_NAME = 'Acme SPA';
const SCOPE = 'ReadAccounts';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const START_TIMEOUT_MS = 30_000; // for "grantd listening on ..."
const TEST_TIMEOUT_MS = 60_000; // per test
const SUITE_TIMEOUT_MS = 5 * 60_000; // the whole run, setup included
const ACTION_TIMEOUT_MS = 15_000; // Playwright actions and navigations

/** Keeps foreign text from adding to scripts/test's "N passed, M failed" sums. */
function quiet(text) {
  return String(text).replace(/(\d+)(\s+)(passed|failed)/gi, '$1$2[$3]');
}

function say(line = '') {
  process.stdout.write(`${quiet(line)}\n`);
}

// ---------------------------------------------------------------------------
// grantd

class Grantd {
  constructor(binary) {
    this.binary = binary;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'grantd-browser-'));
    this.logPath = path.join(this.dir, 'grantd.log');
    this.stdoutLines = [];
    this.proc = null;
    this.base = null;
    this.exited = null; // a promise of the exit code, once started
  }

  async start() {
    const env = { ...process.env, GRANTD_ADMIN_TOKEN: ADMIN_TOKEN };
    for (const k of ['GRANTD_LISTEN', 'GRANTD_DATA_DIR', 'GRANTD_DATABASE_URL']) delete env[k];
    const log = fs.openSync(this.logPath, 'w');
    this.proc = spawn(
      this.binary,
      ['--data-dir', path.join(this.dir, 'data'), 'serve', '--listen', '127.0.0.1:0'],
      { env, stdio: ['ignore', 'pipe', log] }, // stderr to a file: never blocks
    );
    fs.closeSync(log);
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', (code, signal) => resolve(signal ?? code));
      this.proc.once('error', (e) => resolve(`not started: ${e.message}`));
    });

    // Keeps reading stdout until grantd exits, so it never blocks on a full pipe.
    const lines = readline.createInterface({ input: this.proc.stdout });
    const listening = new Promise((resolve) => {
      lines.on('line', (line) => {
        this.stdoutLines.push(line);
        const m = /grantd listening on (http:\/\/\S+)/.exec(line);
        if (m && !this.base) {
          this.base = m[1].replace(/\/+$/, '');
          resolve(this.base);
        }
      });
    });
    let timer;
    const outcome = await Promise.race([
      listening,
      this.exited.then((code) => {
        throw new Error(`grantd exited (${code}) before it printed 'grantd listening on'`);
      }),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`grantd did not print 'grantd listening on' within ${START_TIMEOUT_MS / 1000} s`)),
          START_TIMEOUT_MS,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    return outcome;
  }

  async stop() {
    if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill('SIGTERM');
    let timer;
    const code = await Promise.race([
      this.exited,
      new Promise((resolve) => {
        timer = setTimeout(() => resolve('timeout'), 10_000);
      }),
    ]).finally(() => clearTimeout(timer));
    if (code === 'timeout') {
      say('note: grantd did not stop within 10 s of SIGTERM; killing it');
      this.proc.kill('SIGKILL');
      await this.exited;
    } else if (code !== 0 && code !== 'SIGTERM') {
      say(`note: grantd exited with status ${code} on SIGTERM`);
    }
  }

  dumpLog() {
    say('---- grantd stdout ----');
    for (const l of this.stdoutLines) say(l);
    say('---- grantd stderr ----');
    let text = '';
    try {
      text = fs.readFileSync(this.logPath, 'utf8');
    } catch (e) {
      text = `(cannot read: ${e.message})`;
    }
    // The log is colored when stderr is a terminal; it is a file here, but be safe.
    for (const l of text.replace(/\x1b\[[0-9;]*m/g, '').split('\n')) say(l);
    say('---- end of grantd log ----');
  }

  cleanup() {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------
// The app's side: a tiny server that answers the redirect URI.

class AppServer {
  constructor() {
    this.requests = []; // every request it gets: { method, url }
    this.server = http.createServer((req, res) => {
      this.requests.push({ method: req.method, url: req.url });
      const url = new URL(req.url, 'http://app.invalid');
      if (url.pathname === '/callback') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
        res.end(
          '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Acme Web</title></head>' +
            '<body style="font-family:sans-serif;margin:2rem"><h1>Signed in</h1>' +
            '<p>Acme Web received the authorization response.</p>' +
            // Shows whether the browser ran scripts: the tests check it.
            '<p id="js">JavaScript: off</p>' +
            "<script>document.getElementById('js').textContent = 'JavaScript: on';</script></body></html>",
        );
      } else {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('Not found\n');
      }
    });
  }

  async start() {
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', resolve);
    });
    this.origin = `http://127.0.0.1:${this.server.address().port}`;
    this.callback = `${this.origin}/callback`;
    return this.origin;
  }

  stop() {
    this.server.closeAllConnections?.();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

// ---------------------------------------------------------------------------
// A browser app (single-page app) on an origin of its own: its page loads the
// RingCentral JS SDK's browser build (@ringcentral/sdk, dist/ringcentral.js)
// and calls grantd cross-origin, as a RingCentral browser app does.

const SDK_BUNDLE = path.join(HERE, 'node_modules', '@ringcentral', 'sdk', 'dist', 'ringcentral.js');

class SpaServer {
  /** `config()` gives { server, clientId } when a page is served. */
  constructor(config) {
    this.config = config;
    this.server = http.createServer((req, res) => {
      const url = new URL(req.url, 'http://spa.invalid');
      if (url.pathname === '/ringcentral.js') {
        res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
        res.end(fs.readFileSync(SDK_BUNDLE));
      } else if (url.pathname === '/' || url.pathname === '/callback') {
        const { server, clientId } = this.config();
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
        res.end(
          '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Acme SPA</title>' +
            '<script src="/ringcentral.js"></script></head>' +
            '<body style="font-family:sans-serif;margin:2rem"><h1>Acme SPA</h1><p id="status">ready</p>' +
            '<script>' +
            `window.grantd = ${JSON.stringify(server)}; window.makeSdk = () => new RingCentral.SDK({ server: ${JSON.stringify(server)}, ` +
            `clientId: ${JSON.stringify(clientId)}, redirectUri: location.origin + '/callback' });` +
            '</script></body></html>',
        );
      } else {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('Not found\n');
      }
    });
  }

  async start() {
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', resolve);
    });
    this.origin = `http://127.0.0.1:${this.server.address().port}`;
    this.callback = `${this.origin}/callback`;
    return this.origin;
  }

  stop() {
    this.server.closeAllConnections?.();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

// ---------------------------------------------------------------------------
// Shared state, filled by setup().

const S = {
  grantd: null,
  app: null, // AppServer
  browser: null,
  base: null, // grantd's issuer URL
  client: null, // { client_id, client_secret }
  deviceClientId: null, // a device app (public: no secret)
  userId: null,
  spa: null, // SpaServer: the browser app's own origin
  stranger: null, // SpaServer on an origin no app allows
  spaClientId: null, // the browser app (public: no secret)
};

async function adminPost(urlPath, body) {
  const res = await fetch(`${S.base}${urlPath}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 200 && res.status !== 201) {
    throw new Error(`POST ${urlPath} answered ${res.status}: ${text}`);
  }
  return JSON.parse(text);
}

/**
 * Withdraws Alice's consent to the app, if she gave it, so that the next
 * sign-in shows the consent page whatever ran before (grantd remembers consent).
 */
async function forgetConsent() {
  const res = await fetch(`${S.base}/admin/v1/users/${S.userId}/consents/${S.client.client_id}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  // 204: withdrawn; 404: there was none.
  if (res.status !== 204 && res.status !== 404) {
    throw new Error(`withdrawing consent answered ${res.status}: ${await res.text()}`);
  }
}

async function setup(binary) {
  fs.rmSync(ARTIFACTS, { recursive: true, force: true });
  fs.mkdirSync(ARTIFACTS, { recursive: true });

  S.grantd = new Grantd(binary);
  S.base = await S.grantd.start();
  say(`grantd: ${S.base}`);

  S.app = new AppServer();
  await S.app.start();
  say(`app (redirect URI): ${S.app.callback}`);

  const user = await adminPost('/admin/v1/users', USER);
  assert.ok(user.id, 'the admin API returned no user id');
  S.userId = user.id;
  const app = await adminPost('/admin/v1/apps', {
    name: APP_NAME,
    platform_type: 'server-web',
    redirect_uris: [S.app.callback],
    scopes: [SCOPE],
  });
  assert.ok(app.client_id && app.client_secret, 'the admin API returned no client_id / client_secret');
  S.client = { client_id: app.client_id, client_secret: app.client_secret };
  const device = await adminPost('/admin/v1/apps', {
    name: DEVICE_APP_NAME,
    platform_type: 'device',
    scopes: [SCOPE],
  });
  assert.ok(device.client_id && !device.client_secret, 'the device app is not a public app');
  S.deviceClientId = device.client_id;

  if (!fs.existsSync(SDK_BUNDLE)) throw new Error(`no RingCentral JS SDK at ${SDK_BUNDLE} (npm ci)`);
  S.spa = new SpaServer(() => ({ server: S.base, clientId: S.spaClientId }));
  await S.spa.start();
  S.stranger = new SpaServer(() => ({ server: S.base, clientId: S.spaClientId }));
  await S.stranger.start();
  say(`browser app: ${S.spa.origin}; an origin no app allows: ${S.stranger.origin}`);
  const spa = await adminPost('/admin/v1/apps', {
    name: SPA_NAME,
    platform_type: 'browser',
    grants: ['authorization_code', 'refresh_token'],
    issue_refresh_tokens: true,
    redirect_uris: [S.spa.callback],
    scopes: [SCOPE],
  });
  assert.ok(spa.client_id && !spa.client_secret, 'the browser app is not a public app');
  S.spaClientId = spa.client_id;

  if (!fs.existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM} (apt-get install chromium)`);
  // launch() starts Chromium with a new, empty --user-data-dir of Playwright's
  // own (a temporary directory, removed at close); each test then opens its own
  // context, so no cookie or storage is shared between tests.
  S.browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 30_000,
  });
  say(`chromium: ${CHROMIUM} ${S.browser.version()}`);
}

async function teardown() {
  const steps = [
    () => S.browser?.close(),
    () => S.app?.stop(),
    () => S.spa?.stop(),
    () => S.stranger?.stop(),
    () => S.grantd?.stop(),
  ];
  for (const step of steps) {
    try {
      await step();
    } catch (e) {
      say(`note: teardown: ${e.message}`);
    }
  }
}

// ---------------------------------------------------------------------------
// Helpers for the tests

function authorizeUrl({ redirectUri = S.app.callback, state = 'abc', scope = SCOPE } = {}) {
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: S.client.client_id,
    redirect_uri: redirectUri,
    state,
    scope,
  });
  return `${S.base}/oauth/authorize?${q}`;
}

/** A new browser context and page; `options` are Playwright context options. */
async function openPage(t, options = {}) {
  const context = await S.browser.newContext({ viewport: { width: 1000, height: 700 }, ...options });
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(ACTION_TIMEOUT_MS);
  t.contexts.push(context);
  const page = await context.newPage();
  t.page = page;
  return page;
}

async function shot(t, page, step) {
  const dir = path.join(ARTIFACTS, t.slug);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${step}.png`);
  await page.screenshot({ path: file, fullPage: true });
  t.shots.push(path.relative(HERE, file));
}

function onGrantd(page) {
  return new URL(page.url()).origin === new URL(S.base).origin;
}

/** Fills the sign-in form and presses "Sign in"; returns the response to the POST. */
async function signIn(page, username, password) {
  await page.locator('input[name="username"]').fill(username);
  await page.locator('input[name="password"]').fill(password);
  const [response] = await Promise.all([
    page.waitForResponse(
      (r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/oauth/authorize/login',
    ),
    page.getByRole('button', { name: 'Sign in', exact: true }).click(),
  ]);
  await page.waitForLoadState('load');
  return response;
}

/** On the consent page: checks what it shows, then presses "Allow"; returns the callback URL. */
async function allow(t, page, step) {
  await page.getByRole('button', { name: 'Allow', exact: true }).waitFor();
  assert.ok(onGrantd(page), `the consent page is not on grantd: ${page.url()}`);
  const text = await page.locator('main').innerText();
  assert.match(text, new RegExp(APP_NAME), 'the consent page does not name the app');
  assert.match(text, new RegExp(SCOPE), 'the consent page does not list the scope');
  assert.match(text, /Alice Smith/, 'the consent page does not name the signed-in user');
  await shot(t, page, step);
  await Promise.all([
    page.waitForURL((u) => u.href.startsWith(`${S.app.callback}?`)),
    page.getByRole('button', { name: 'Allow', exact: true }).click(),
  ]);
  await page.waitForLoadState('load');
  return new URL(page.url());
}

/** Checks the redirect to the app and its page; returns the code. */
async function checkCallback(t, page, url, step, { javaScript }) {
  assert.ok(page.url().startsWith(S.app.callback), `not on the callback: ${page.url()}`);
  await page.getByRole('heading', { name: 'Signed in' }).waitFor();
  const js = javaScript ? 'on' : 'off';
  await page.getByText(`JavaScript: ${js}`, { exact: true }).waitFor();
  await shot(t, page, step);
  const code = url.searchParams.get('code');
  assert.ok(code, `no code= in the callback URL (query: ${[...url.searchParams.keys()].join(', ')})`);
  assert.equal(url.searchParams.get('state'), 'abc', 'state was not returned unchanged');
  assert.equal(url.searchParams.get('iss'), S.base, 'iss= is not grantd\'s issuer');
  assert.equal(url.searchParams.get('error'), null, `the callback carries error=${url.searchParams.get('error')}`);
  const seen = S.app.requests.filter((r) => r.url.startsWith('/callback?') && r.url.includes(`code=${encodeURIComponent(code)}`));
  assert.equal(seen.length, 1, 'the app server did not receive the callback exactly once');
  return code;
}

/** Exchanges the code at the token endpoint, as the app's back end would. */
async function exchange(code) {
  const basic = Buffer.from(`${S.client.client_id}:${S.client.client_secret}`).toString('base64');
  const res = await fetch(`${S.base}/oauth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: S.app.callback }),
  });
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  assert.equal(res.status, 200, `the token endpoint answered ${res.status}: ${text}`);
  assert.ok(body && typeof body.access_token === 'string' && body.access_token.length > 0, 'no access_token in the token response');
  assert.equal(String(body.token_type).toLowerCase(), 'bearer');
  assert.equal(body.scope, SCOPE, 'the token\'s scope is not the one consented to');
  return body;
}

/** POSTs a form to grantd as a device would (no browser); returns { status, body }. */
async function postForm(urlPath, params) {
  const res = await fetch(`${S.base}${urlPath}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params),
  });
  const text = await res.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: the assertions below show the text
  }
  return { status: res.status, body, text };
}

// ---------------------------------------------------------------------------
// The tests

const tests = [
  {
    name: 'sign in and consent: the browser lands on the redirect URI with code, state and iss; the code exchanges for a token',
    slug: '1-signin-consent',
    async fn(t) {
      await forgetConsent();
      const page = await openPage(t);
      const res = await page.goto(authorizeUrl());
      assert.equal(res.status(), 200, `the authorization endpoint answered ${res.status()}`);
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      assert.match(await page.locator('main').innerText(), new RegExp(APP_NAME), 'the sign-in page does not name the app');
      await shot(t, page, '01-signin');

      const login = await signIn(page, USER.email, USER.password);
      assert.equal(login.status(), 200, `signing in answered ${login.status()} (not the consent page)`);
      const callback = await allow(t, page, '02-consent');
      const code = await checkCallback(t, page, callback, '03-callback', { javaScript: true });
      await exchange(code);
    },
  },
  {
    name: 'without JavaScript: a wrong password shows OAU-140 on the sign-in page; no inline scripts; sign-in and consent still work',
    slug: '2-no-javascript',
    async fn(t) {
      await forgetConsent();
      const page = await openPage(t, { javaScriptEnabled: false });
      const res = await page.goto(authorizeUrl());
      assert.equal(res.status(), 200, `the authorization endpoint answered ${res.status()}`);
      await shot(t, page, '01-signin');

      // No script at all: not inline, not external, no event-handler attributes, no javascript: URLs.
      const html = await res.text();
      assert.doesNotMatch(html, /<script\b/i, 'the sign-in page has a <script> element');
      assert.doesNotMatch(html, /\son[a-z]+\s*=/i, 'the sign-in page has an inline event handler attribute');
      assert.doesNotMatch(html, /javascript:/i, 'the sign-in page has a javascript: URL');
      assert.equal(await page.locator('script').count(), 0, 'the sign-in page\'s DOM has a <script> element');
      const csp = res.headers()['content-security-policy'] ?? '';
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, `the CSP allows inline code: ${csp}`);

      const wrong = await signIn(page, USER.email, 'not the password');
      assert.equal(wrong.status(), 401, `a wrong password answered ${wrong.status()}`);
      assert.ok(onGrantd(page), `a wrong password left grantd: ${page.url()}`);
      const alert = page.getByRole('alert');
      await alert.waitFor();
      assert.match(await alert.innerText(), /OAU-140/, 'the error on the sign-in page does not show OAU-140');
      await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
      await shot(t, page, '02-wrong-password');
      const errorHtml = await wrong.text();
      assert.doesNotMatch(errorHtml, /<script\b|\son[a-z]+\s*=/i, 'the sign-in error page has inline script');

      const login = await signIn(page, USER.email, USER.password);
      assert.equal(login.status(), 200, `signing in answered ${login.status()} (not the consent page)`);
      const consentHtml = await login.text();
      assert.doesNotMatch(consentHtml, /<script\b|\son[a-z]+\s*=/i, 'the consent page has inline script');
      const callback = await allow(t, page, '03-consent');
      const code = await checkCallback(t, page, callback, '04-callback', { javaScript: false });
      await exchange(code);
    },
  },
  {
    name: 'an unregistered redirect_uri shows grantd\'s error page GRD-351 and the browser stays on grantd',
    slug: '3-unregistered-redirect-uri',
    async fn(t) {
      const unregistered = `${S.app.origin}/not-registered`;
      const before = S.app.requests.length;
      const page = await openPage(t);
      const res = await page.goto(authorizeUrl({ redirectUri: unregistered }));
      assert.equal(res.request().redirectedFrom(), null, 'the authorization request was redirected');
      assert.equal(res.status(), 400, `the authorization endpoint answered ${res.status()}`);
      assert.equal(res.headers()['x-error-code'], 'GRD-351');
      await page.getByRole('heading', { name: 'This sign-in link does not work' }).waitFor();
      assert.match(await page.locator('main').innerText(), /GRD-351/, 'the error page does not show GRD-351');
      // Give a (wrong) client-side or meta refresh redirect the chance to happen.
      await page.waitForTimeout(500);
      assert.ok(onGrantd(page), `the browser left grantd: ${page.url()}`);
      assert.equal(new URL(page.url()).pathname, '/oauth/authorize');
      const leaked = S.app.requests.slice(before).filter((r) => r.url.startsWith('/not-registered'));
      assert.equal(leaked.length, 0, 'the browser requested the unregistered redirect URI');
      await shot(t, page, '01-error');
    },
  },
  {
    name: 'the sign-in page sends X-Frame-Options DENY and a Content-Security-Policy',
    slug: '4-signin-headers',
    async fn(t) {
      const page = await openPage(t);
      const res = await page.goto(authorizeUrl());
      assert.equal(res.status(), 200, `the authorization endpoint answered ${res.status()}`);
      const headers = await res.allHeaders();
      assert.equal(headers['x-frame-options'], 'DENY', `x-frame-options: ${headers['x-frame-options']}`);
      const csp = headers['content-security-policy'];
      assert.ok(csp, 'no content-security-policy header');
      assert.match(csp, /frame-ancestors 'none'/, `the CSP does not forbid framing: ${csp}`);
      assert.match(csp, /default-src 'none'/, `the CSP does not default to 'none': ${csp}`);
      assert.ok(/no-store/.test(headers['cache-control'] ?? ''), `cache-control: ${headers['cache-control']}`);
      await shot(t, page, '01-signin');
      // The same page as a person with a dark theme, and on a phone, sees it.
      await page.emulateMedia({ colorScheme: 'dark' });
      await shot(t, page, '02-signin-dark');
      await page.emulateMedia({ colorScheme: 'light' });
      await page.setViewportSize({ width: 375, height: 667 });
      await shot(t, page, '03-signin-narrow');
    },
  },
  {
    name: 'device flow: the device starts it, the person opens verification_uri_complete, signs in and allows; the device\'s poll gets tokens',
    slug: '5-device-flow',
    async fn(t) {
      // The device (here: node) asks for a device code, as a TV or CLI would.
      const started = await postForm('/oauth/device_authorization', { client_id: S.deviceClientId, scope: SCOPE });
      assert.equal(started.status, 200, `the device authorization endpoint answered ${started.status}: ${quiet(started.text)}`);
      const { device_code: deviceCode, user_code: userCode, verification_uri_complete: complete } = started.body;
      assert.match(userCode, /^[BCDFGHJKLMNPQRSTVWXZ]{5}-[BCDFGHJKLMNPQRSTVWXZ]{5}$/, `user_code ${userCode}`);
      assert.equal(started.body.verification_uri, `${S.base}/device`);
      assert.ok(complete.startsWith(`${S.base}/device?user_code=`), `verification_uri_complete ${complete}`);
      const pending = await postForm('/oauth/token', { grant_type: DEVICE_GRANT, client_id: S.deviceClientId, device_code: deviceCode });
      assert.equal(pending.status, 400);
      assert.equal(pending.body?.error, 'authorization_pending', `before approval: ${quiet(pending.text)}`);

      // The person, on another screen, without JavaScript.
      const page = await openPage(t, { javaScriptEnabled: false });
      const res = await page.goto(complete);
      assert.equal(res.status(), 200, `the verification page answered ${res.status()}`);
      await page.getByRole('heading', { name: 'Sign in to connect a device' }).waitFor();
      assert.match(await page.locator('main').innerText(), new RegExp(userCode), 'the sign-in page does not show the code');
      const html = await res.text();
      assert.doesNotMatch(html, /<script\b|\son[a-z]+\s*=|javascript:/i, 'the verification page has script');
      assert.equal(res.headers()['x-frame-options'], 'DENY');
      assert.match(res.headers()['content-security-policy'] ?? '', /default-src 'none'/);
      await shot(t, page, '01-signin');

      await page.locator('input[name="username"]').fill(USER.email);
      await page.locator('input[name="password"]').fill(USER.password);
      await Promise.all([
        page.waitForURL((u) => u.pathname === '/device' && u.searchParams.get('user_code') === userCode),
        page.getByRole('button', { name: 'Sign in', exact: true }).click(),
      ]);
      await page.getByRole('button', { name: 'Allow', exact: true }).waitFor();
      const confirm = await page.locator('main').innerText();
      for (const shown of [DEVICE_APP_NAME, SCOPE, 'Alice Smith', userCode]) {
        assert.ok(confirm.includes(shown), `the confirmation page does not show ${shown}`);
      }
      await shot(t, page, '02-confirm');
      await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/device/decision'),
        page.getByRole('button', { name: 'Allow', exact: true }).click(),
      ]);
      await page.getByRole('heading', { name: 'Device connected' }).waitFor();
      assert.ok(onGrantd(page), `the decision left grantd: ${page.url()}`);
      await shot(t, page, '03-connected');

      // The device's next poll gets the tokens.
      const polled = await postForm('/oauth/token', { grant_type: DEVICE_GRANT, client_id: S.deviceClientId, device_code: deviceCode });
      assert.equal(polled.status, 200, `the poll after approval answered ${polled.status}: ${quiet(polled.text)}`);
      assert.ok(typeof polled.body.access_token === 'string' && polled.body.access_token.length > 0, 'no access_token');
      assert.ok(typeof polled.body.refresh_token === 'string', 'no refresh_token');
      assert.equal(polled.body.scope, SCOPE, 'the token\'s scope is not the one approved');
    },
  },
  {
    name: 'a browser app on its own origin uses the RingCentral JS SDK: loginUrl with PKCE, sign in, login({code}), an API call, refresh(), logout(); endpoint_id stays the same',
    slug: '6-js-sdk-browser-app',
    async fn(t) {
      const page = await openPage(t);
      const consoleErrors = [];
      page.on('console', (m) => {
        if (m.type() === 'error') consoleErrors.push(m.text());
      });
      await page.goto(`${S.spa.origin}/`);
      await page.getByText('ready', { exact: true }).waitFor();
      // The app builds the sign-in link; it keeps the PKCE verifier across the redirect.
      const loginUrl = await page.evaluate(() => {
        const platform = window.makeSdk().platform();
        const url = platform.loginUrl({ usePKCE: true });
        sessionStorage.setItem('verifier', platform.codeVerifier);
        return url;
      });
      const sent = new URL(loginUrl);
      assert.equal(sent.origin + sent.pathname, `${S.base}/restapi/oauth/authorize`, `loginUrl: ${sent.origin}${sent.pathname}`);
      assert.equal(sent.searchParams.get('code_challenge_method'), 'S256');
      assert.ok(sent.searchParams.get('code_challenge'), 'no code_challenge in the login URL');
      await shot(t, page, '01-app');

      // Sign in on grantd's page (consent the first time), back to the app's callback.
      const res = await page.goto(loginUrl);
      assert.equal(res.status(), 200, `the authorization endpoint answered ${res.status()} to the SDK's login URL`);
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      await shot(t, page, '02-signin');
      const login = await signIn(page, USER.email, USER.password);
      assert.ok([200, 303].includes(login.status()) || page.url().startsWith(S.spa.callback), `signing in answered ${login.status()}`);
      if (!page.url().startsWith(S.spa.callback)) {
        await page.getByRole('button', { name: 'Allow', exact: true }).waitFor();
        await shot(t, page, '03-consent');
        await Promise.all([
          page.waitForURL((u) => u.href.startsWith(`${S.spa.callback}?`)),
          page.getByRole('button', { name: 'Allow', exact: true }).click(),
        ]);
      }
      await page.getByText('ready', { exact: true }).waitFor();
      assert.ok(new URL(page.url()).searchParams.get('code'), 'no code on the callback');

      // Everything from here runs in the page, cross-origin, through the SDK.
      const run = await page.evaluate(async () => {
        const out = {};
        const platform = window.makeSdk().platform();
        const step = async (name, f) => {
          try {
            out[name] = await f();
          } catch (e) {
            out[name] = { failed: String(e && e.message ? e.message : e) };
          }
        };
        const code = new URL(location.href).searchParams.get('code');
        await step('login', async () => {
          const r = await platform.login({ code, code_verifier: sessionStorage.getItem('verifier') });
          return r.json();
        });
        await step('api', async () => {
          const r = await platform.get('/restapi/v1.0/account/~/extension/~');
          return { status: r.status, body: await r.json(), requestId: r.headers.get('RCRequestId') };
        });
        await step('refresh', async () => (await platform.refresh()).json());
        await step('afterRefresh', async () => (await platform.get('/restapi/v1.0/account/~/extension/~')).status);
        await step('stored', async () => platform.auth().data());
        await step('logout', async () => (await platform.logout()).status);
        await step('loggedIn', async () => platform.loggedIn());
        return out;
      });
      await shot(t, page, '04-done');
      const failed = Object.entries(run).filter(([, v]) => v && v.failed);
      assert.deepEqual(failed, [], `SDK steps failed: ${JSON.stringify(failed)}; console: ${consoleErrors.join(' | ')}`);
      assert.ok(run.login.access_token, 'login({code}) returned no access_token');
      assert.ok(run.login.refresh_token, 'login({code}) returned no refresh_token');
      assert.ok(run.login.endpoint_id, 'login({code}) returned no endpoint_id');
      assert.equal(run.login.scope, SCOPE);
      assert.equal(run.api.status, 200, `the API call answered ${run.api.status}`);
      assert.equal(run.api.body.contact?.email ?? run.api.body.email ?? USER.email, USER.email);
      assert.ok(run.api.requestId, 'RCRequestId is not readable by the page');
      assert.ok(run.refresh.access_token && run.refresh.access_token !== run.login.access_token, 'refresh() returned no new access token');
      assert.equal(run.refresh.endpoint_id, run.login.endpoint_id, 'endpoint_id changed on refresh');
      assert.equal(run.refresh.session_id, run.login.session_id, 'refresh() opened another session');
      assert.equal(run.afterRefresh, 200, 'the refreshed token does not work');
      assert.equal(run.logout, 200, `logout() answered ${run.logout}`);
      assert.equal(run.loggedIn, false, 'the SDK still thinks it is signed in after logout()');
      // The session ended: the last access token no longer works.
      const after = await fetch(`${S.base}/restapi/v1.0/account/~/extension/~`, {
        headers: { authorization: `bearer ${run.refresh.access_token}` },
      });
      assert.equal(after.status, 401, `the access token still works after logout(): ${after.status}`);
    },
  },
  {
    name: 'a page on an origin no app allows is refused, and is told which origin and which app setting',
    slug: '7-origin-not-allowed',
    async fn(t) {
      const page = await openPage(t);
      await page.goto(`${S.stranger.origin}/`);
      await page.getByText('ready', { exact: true }).waitFor();
      const seen = await page.evaluate(async () => {
        const out = {};
        // The SDK's own request (preflighted: it sends X-User-Agent): the browser stops at the preflight.
        try {
          await window.makeSdk().platform().login({ code: 'x', code_verifier: 'y' });
          out.sdk = 'no error';
        } catch (e) {
          out.sdk = String(e && e.message ? e.message : e);
        }
        // A request the browser sends without a preflight: grantd refuses it and the page reads why.
        const r = await fetch(`${window.grantd}/restapi/oauth/token`, {
          method: 'POST',
          credentials: 'include',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'grant_type=authorization_code&code=x',
        });
        out.status = r.status;
        out.body = await r.json();
        return out;
      });
      await shot(t, page, '01-refused');
      assert.notEqual(seen.sdk, 'no error', 'the SDK call from a foreign origin succeeded');
      assert.equal(seen.status, 403);
      assert.equal(seen.body.errors?.[0]?.errorCode, 'GRD-140', JSON.stringify(seen.body));
      assert.ok(seen.body.error_description.includes(S.stranger.origin), `the error does not name the origin: ${seen.body.error_description}`);
      assert.ok(seen.body.error_description.includes('allowed_origins'), 'the error does not name the app setting');
      // The preflight itself carries the same explanation (a developer sees it in the network panel).
      const pre = await fetch(`${S.base}/restapi/oauth/token`, {
        method: 'OPTIONS',
        headers: { origin: S.stranger.origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-user-agent' },
      });
      assert.equal(pre.status, 403);
      assert.equal(pre.headers.get('access-control-allow-origin'), null);
      assert.equal((await pre.json()).errors?.[0]?.errorCode, 'GRD-140');
    },
  },
  {
    name: 'developer console: a developer signs in, registers a server-only app with JWT, creates a JWT credential (shown once), gets tokens with the app page\'s JWT request, sees a password-grant rejection with its cause in the troubleshooter, opens its trace, and is not offered password for a browser app',
    slug: '8-console',
    async fn(t) {
      const dev = { email: 'dana@example.com', name: 'Dana Developer', role: 'developer', password: 'developer horse battery' };
      await adminPost('/admin/v1/users', dev);
      const app = {};
      const token = async (params) => {
        const basic = `Basic ${Buffer.from(`${app.client_id}:${app.client_secret}`).toString('base64')}`;
        const res = await fetch(`${S.base}/restapi/oauth/token`, {
          method: 'POST',
          headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'console-browser-test' },
          body: new URLSearchParams(params),
        });
        return { status: res.status, requestId: res.headers.get('x-request-id'), body: await res.json() };
      };

      const page = await openPage(t);
      await page.goto(`${S.base}/console`);
      await page.getByRole('heading', { name: 'Developer console' }).waitFor();
      await shot(t, page, '01-signin');
      await page.locator('input[name="username"]').fill(dev.email);
      await page.locator('input[name="password"]').fill(dev.password);
      await Promise.all([page.waitForURL((u) => u.pathname === '/console'), page.getByRole('button', { name: 'Sign in', exact: true }).click()]);
      await page.getByRole('heading', { name: 'Apps' }).waitFor();
      await page.getByText('Signed in.').waitFor();
      await shot(t, page, '02-apps');

      // A server-only app with JWT, registered from its platform type; the secret is shown once.
      await page.getByRole('link', { name: 'Register an app' }).click();
      await page.getByRole('heading', { name: 'Register an app' }).waitFor();
      await shot(t, page, '02a-platform-types');
      await page.getByRole('link', { name: 'server-only' }).click();
      await page.locator('input[name="name"]').fill('Nightly Sync');
      await page.locator('input[name="grant.jwt_bearer"]').check();
      await page.locator('input[name="grant.client_credentials"]').uncheck();
      await page.locator('input[name="scopes"]').fill(SCOPE);
      await shot(t, page, '02b-new-server-only-app');
      await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Register app' }).click()]);
      await page.getByText('shown this once').waitFor();
      app.client_id = (await page.locator('dl.facts code').first().innerText()).trim();
      app.client_secret = (await page.locator('#client-secret').innerText()).trim();
      assert.ok(app.client_id && app.client_secret, 'no client id or secret shown');
      await shot(t, page, '02c-app-registered');

      // A JWT credential for the app, shown once.
      await page.getByRole('link', { name: 'JWT credentials' }).click();
      await page.getByRole('heading', { name: 'Your JWT credentials' }).waitFor();
      await page.locator('input[name="label"]').fill('nightly server');
      await page.locator(`input[name="app.${app.client_id}"]`).check();
      await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Create credential' }).click()]);
      await page.getByText('shown this once').waitFor();
      const jwt = (await page.locator('#new-jwt').innerText()).trim();
      await shot(t, page, '03-credential-created');

      // The app page's JWT request, sent as shown: tokens.
      await page.getByRole('link', { name: 'Apps' }).first().click();
      await page.getByRole('link', { name: 'Nightly Sync' }).click();
      await page.getByRole('heading', { name: 'Token requests' }).waitFor();
      const shown = await page.locator('details.snippet').first().innerText();
      assert.match(shown, /grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer/, 'no JWT request shown');
      assert.match(shown, /platform\.login\(jwt=/, 'no Python SDK call shown');
      await shot(t, page, '04-app');
      const ok = await token({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: jwt });
      assert.equal(ok.status, 200, `the JWT grant answered ${ok.status}: ${quiet(JSON.stringify(ok.body))}`);
      assert.ok(ok.body.access_token, 'no access_token');

      // The password grant is refused (retired by the default policy, or not enabled), and says why.
      const bad = await token({ grant_type: 'password', username: dev.email, password: dev.password });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.errors[0].requestId, bad.requestId, 'errors[0].requestId is the X-Request-Id');

      // The troubleshooter: the rejection with its cause (the writer is asynchronous: reload until it shows).
      for (let i = 0; i < 20 && !(await page.getByText(bad.requestId).count()); i += 1) {
        await new Promise((r) => setTimeout(r, 200));
        await page.reload();
      }
      await page.locator('#troubleshooter').scrollIntoViewIfNeeded();
      const text = await page.locator('main').innerText();
      const code = bad.body.errors[0].errorCode;
      assert.ok(text.includes(code), 'the troubleshooter does not show the code');
      assert.ok(text.includes(bad.body.error_description.slice(0, 80)), 'the troubleshooter does not show the cause');
      assert.ok(!text.includes(dev.password), 'the password is shown');
      await shot(t, page, '05-troubleshooter');

      // Its trace.
      await page.getByRole('link', { name: bad.requestId }).click();
      await page.getByRole('heading', { name: 'Decision trace' }).waitFor();
      const trace = await page.locator('main').innerText();
      assert.ok(trace.includes(`failed with ${code}`), 'the trace does not show the failed check');
      assert.match(trace, /authenticate_client — passed/, 'the trace does not show the checks that passed');
      assert.ok(trace.includes(bad.body.error_description.slice(0, 80)), 'the trace page does not show the cause');
      await shot(t, page, '06-trace');

      // A browser app: password is not offered.
      await page.goto(`${S.base}/console/apps/new?platform=browser`);
      await page.getByRole('heading', { name: 'Register an app' }).waitFor();
      assert.equal(await page.locator('input[name="grant.password"]').count(), 0, 'password is offered to a browser app');
      assert.equal(await page.locator('input[name="grant.authorization_code"]').count(), 1, 'authorization_code is not offered');
      assert.match(await page.locator('main').innerText(), /password grant is not offered/, 'the page does not say why');
      await shot(t, page, '07-new-browser-app');

      // The same pages on a phone.
      const phone = await openPage(t, { viewport: { width: 390, height: 844 } });
      await phone.context().addCookies(await page.context().cookies());
      await phone.goto(`${S.base}/console/apps/${app.client_id}`);
      await phone.getByRole('heading', { name: 'Rejected requests' }).waitFor();
      await shot(t, phone, '08-app-phone');
      await phone.goto(`${S.base}/console/credentials`);
      await phone.getByRole('heading', { name: 'Your JWT credentials' }).waitFor();
      await shot(t, phone, '09-credentials-phone');
    },
  },
  {
    name: 'developer console, administrator: creates a user (the password shown once, copied with the copy button), revokes a developer\'s JWT credential after confirming, and the copy buttons copy (hidden without JavaScript)',
    slug: '9-console-admin',
    async fn(t) {
      const admin = { email: 'ada@example.com', name: 'Ada Admin', role: 'admin', password: 'admin horse battery staple' };
      await adminPost('/admin/v1/users', admin);
      const devon = await adminPost('/admin/v1/users', { email: 'devon@example.com', name: 'Devon Dev', role: 'developer', password: 'devon horse battery' });
      const credential = await adminPost(`/admin/v1/users/${devon.id}/jwt-credentials`, { label: 'devon laptop' });
      assert.ok(credential.id, 'the admin API returned no credential id');

      // Clipboard access, so the copy buttons can be checked for what they copy.
      const page = await openPage(t, { permissions: ['clipboard-read', 'clipboard-write'] });
      await page.goto(`${S.base}/console`);
      await page.locator('input[name="username"]').fill(admin.email);
      await page.locator('input[name="password"]').fill(admin.password);
      await Promise.all([page.waitForURL((u) => u.pathname === '/console'), page.getByRole('button', { name: 'Sign in', exact: true }).click()]);
      await page.getByRole('link', { name: 'Users' }).click();
      await page.getByRole('heading', { name: 'Users of your account' }).waitFor();
      await shot(t, page, '01-users');

      // A user created with a role; grantd makes the password, shown once.
      await page.locator('input[name="name"]').fill('Nico New');
      await page.locator('input[name="email"]').fill('nico@example.com');
      await page.locator('select[name="role"]').selectOption('developer');
      await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Create user' }).click()]);
      await page.getByText('User Nico New created as developer.').waitFor();
      await page.getByText('shown this once').waitFor();
      const password = (await page.locator('#new-password').innerText()).trim();
      assert.ok(password.length >= 20, 'no password shown');
      const copy = page.locator('button[data-copy="new-password"]');
      assert.ok(await copy.isVisible(), 'the copy button is not shown with JavaScript on');
      await copy.click();
      await page.getByRole('button', { name: 'Copied' }).waitFor();
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), password, 'the copy button did not copy the password');
      await shot(t, page, '02-user-created');
      assert.match(await page.locator('table.users').innerText(), /nico@example\.com/, 'the new user is not listed');

      // Devon's credential, revoked after the confirmation box.
      await page.getByRole('link', { name: 'Devon Dev' }).click();
      await page.getByRole('heading', { name: 'Devon Dev', exact: true }).waitFor();
      assert.match(await page.locator('table.credentials').innerText(), /devon laptop/, 'the credential is not listed');
      await shot(t, page, '03-user');
      const row = page.locator('table.credentials tr', { hasText: 'devon laptop' });
      await row.locator('input[name="confirm"]').check();
      await Promise.all([page.waitForURL((u) => u.searchParams.get('done') === 'revoked'), row.getByRole('button', { name: 'Revoke' }).click()]);
      await page.getByText('Credential revoked').waitFor();
      await shot(t, page, '04-credential-revoked');
      const listed = await fetch(`${S.base}/admin/v1/users/${devon.id}/jwt-credentials`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      const revoked = (await listed.json()).jwt_credentials.find((c) => c.id === credential.id);
      assert.ok(revoked && revoked.revoked_at, 'the credential is not revoked');

      // A snippet's copy button copies the snippet.
      await page.goto(`${S.base}/console/apps/${S.client.client_id}`);
      await page.getByRole('heading', { name: 'Token requests' }).waitFor();
      const curl = (await page.locator('#snippet-1-curl').innerText()).trim();
      await page.locator('button[data-copy="snippet-1-curl"]').click();
      await page.getByRole('button', { name: 'Copied' }).first().waitFor();
      assert.equal((await page.evaluate(() => navigator.clipboard.readText())).trim(), curl, 'the snippet was not copied');
      await shot(t, page, '05-app-copy');

      // Without JavaScript the buttons stay hidden; the text is still there to select.
      const plain = await openPage(t, { javaScriptEnabled: false });
      await plain.context().addCookies(await page.context().cookies());
      await plain.goto(`${S.base}/console/apps/${S.client.client_id}`);
      await plain.getByRole('heading', { name: 'Token requests' }).waitFor();
      assert.equal(await plain.locator('button[data-copy="snippet-1-curl"]').isVisible(), false, 'a copy button shows without JavaScript');
      assert.ok((await plain.locator('#snippet-1-curl').innerText()).includes('curl'), 'the snippet is missing without JavaScript');
      await shot(t, plain, '06-app-no-javascript');
    },
  },
];

// ---------------------------------------------------------------------------
// The runner

async function runTest(test, index) {
  const t = { slug: test.slug, contexts: [], shots: [], page: null };
  let timer;
  try {
    await Promise.race([
      test.fn(t),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${TEST_TIMEOUT_MS / 1000} s`)), TEST_TIMEOUT_MS);
      }),
    ]);
    say(`ok ${index} - ${test.name}`);
    return true;
  } catch (e) {
    say(`not ok ${index} - ${test.name}`);
    for (const line of String(e?.stack ?? e).split('\n').slice(0, 12)) say(`    ${line}`);
    if (t.page && !t.page.isClosed()) {
      say(`    page: ${t.page.url()}`);
      try {
        await shot(t, t.page, 'failure');
      } catch {
        // the page may be gone; nothing more to save
      }
    }
    return false;
  } finally {
    clearTimeout(timer);
    if (t.shots.length) say(`    screenshots: ${t.shots.join(' ')}`);
    for (const c of t.contexts) await c.close().catch(() => {});
  }
}

async function main() {
  const binary = process.argv[2];
  let passed = 0;
  let failed = 0;
  let showLog = false;

  const watchdog = setTimeout(async () => {
    say(`suite timed out after ${SUITE_TIMEOUT_MS / 1000} s`);
    if (S.grantd) S.grantd.dumpLog();
    S.grantd?.proc?.kill('SIGKILL');
    say(`${SUITE}: ${passed} passed, ${failed + 1} failed`);
    process.exit(1);
  }, SUITE_TIMEOUT_MS);
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.once(sig, () => {
      S.grantd?.proc?.kill('SIGTERM');
      say(`${SUITE}: ${passed} passed, ${failed + 1} failed`);
      process.exit(1);
    });
  }

  try {
    if (!binary) throw new Error('usage: node flow.mjs PATH/TO/grantd');
    await setup(binary);
    say(`1..${tests.length}`);
    for (const [i, test] of tests.entries()) {
      if (await runTest(test, i + 1)) passed += 1;
      else failed += 1;
    }
    showLog = failed > 0;
  } catch (e) {
    say(`setup failed: ${e?.stack ?? e}`);
    failed += 1;
    showLog = true;
  } finally {
    await teardown();
    if (showLog && S.grantd) S.grantd.dumpLog();
    S.grantd?.cleanup();
    clearTimeout(watchdog);
  }
  say(`screenshots in ${path.relative(process.cwd(), ARTIFACTS) || ARTIFACTS}/`);
  process.stdout.write(`${SUITE}: ${passed} passed, ${failed} failed\n`);
  process.exitCode = failed === 0 ? 0 : 1;
}

await main();
