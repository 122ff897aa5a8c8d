// A FAPI 2.0 client built with openid-client against grantd.
//
// Usage: node fapi.mjs PATH/TO/grantd
//
// Starts grantd on a free port with a fresh data directory, registers a user
// and an app of profile fapi2 (its public key as the app's jwks) over the
// admin API, then lets openid-client do what a FAPI 2.0 client does:
// discovery, a pushed authorization request with PKCE S256 and a DPoP proof,
// private_key_jwt client authentication, the code exchange with DPoP (the
// library answers grantd's use_dpop_nonce itself), the ID token's checks, a
// DPoP-bound call to grantd's API and to userinfo, refresh, introspection
// and revocation; and a signed request object (JAR) pushed through PAR. Sign-in and consent are grantd's own pages, walked with
// fetch and a cookie jar like a browser would. The refusals a FAPI 2.0 client
// meets (no PAR, a client secret, no DPoP proof, a token without its proof)
// are asserted as the library surfaces them.
//
// Ends with exactly one line "fapi-node: N passed, M failed" (scripts/test
// sums those), exits non-zero when anything failed.

import { spawn } from 'node:child_process';
import { createHash, webcrypto } from 'node:crypto';
import { mkdtempSync, rmSync, createWriteStream, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import * as client from 'openid-client';

const SUITE = 'fapi-node';
const ADMIN_TOKEN = 'fapi-node-admin-token-0123456789abcdef';
const EMAIL = 'alice@example.com';
const PASSWORD = 'correct horse battery';
const CALLBACK = 'https://bank-app.example.com/cb'; // never contacted: the test reads Location
const subtle = webcrypto.subtle;

// Keeps foreign text from adding to scripts/test's "N passed, M failed" sums.
const quiet = (text) => String(text).replace(/(\d+)(\s+)(passed|failed)/g, '$1$2[$3]');

// ---------------------------------------------------------------------------
// grantd

async function startGrantd(bin) {
  const dir = mkdtempSync(join(tmpdir(), 'grantd-fapi-node-'));
  const log = createWriteStream(join(dir, 'grantd.log'));
  const env = { ...process.env, GRANTD_ADMIN_TOKEN: ADMIN_TOKEN };
  delete env.GRANTD_LISTEN;
  delete env.GRANTD_DATA_DIR;
  delete env.GRANTD_DATABASE_URL;
  const proc = spawn(bin, ['--data-dir', join(dir, 'data'), 'serve', '--listen', '127.0.0.1:0'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stderr.pipe(log);
  const base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('grantd did not print "grantd listening on" within 30 s')), 30000);
    proc.on('exit', (code) => reject(new Error(`grantd exited with status ${code} before listening`)));
    createInterface({ input: proc.stdout }).on('line', (line) => {
      const m = line.match(/grantd listening on (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1].replace(/\/$/, ''));
      }
    });
  });
  return {
    base,
    dir,
    log: () => readFileSync(join(dir, 'grantd.log'), 'utf8'),
    stop: async () => {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function admin(g, method, path, body) {
  const res = await fetch(g.base + path, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${quiet(JSON.stringify(json))}`);
  return json;
}

// ---------------------------------------------------------------------------
// Keys

async function es256() {
  return subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
}

// RFC 7638 thumbprint of an EC public key.
async function thumbprint(publicKey) {
  const { crv, kty, x, y } = await subtle.exportKey('jwk', publicKey);
  return createHash('sha256').update(JSON.stringify({ crv, kty, x, y })).digest('base64url');
}

// ---------------------------------------------------------------------------
// A browser on grantd's pages: cookies kept, forms read and posted.

const unescape = (s) =>
  s.replace(/&(amp|lt|gt|quot|#39|#x27|#x2F);/g, (m, e) =>
    ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#x27': "'", '#x2F': '/' })[e]);

function attrs(tag) {
  const out = {};
  for (const m of tag.matchAll(/([a-zA-Z_:-]+)\s*=\s*"([^"]*)"/g)) out[m[1].toLowerCase()] = unescape(m[2]);
  return out;
}

// The hidden fields of the page's form that posts to `action`.
function formFields(html, action) {
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)) {
    const form = attrs(m[1]);
    if (form.action !== action) continue;
    assert((form.method || 'get').toLowerCase() === 'post', `the form to ${action} is not a POST form`);
    const fields = [];
    for (const input of m[2].matchAll(/<input\b([^>]*)>/g)) {
      const a = attrs(input[1]);
      if ((a.type || '').toLowerCase() === 'hidden' && a.name) fields.push([a.name, a.value ?? '']);
    }
    return fields;
  }
  throw new Error(`no form posting to ${action} on the page: ${quiet(html.slice(0, 1500))}`);
}

class Browser {
  constructor(base) {
    this.base = base;
    this.cookies = new Map();
  }

  async request(url, init = {}) {
    const headers = { accept: 'text/html', ...(init.headers || {}) };
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(new URL(url, this.base), { ...init, headers, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      this.cookies.set(pair.slice(0, i).trim(), pair.slice(i + 1).trim());
    }
    return res;
  }

  async post(path, fields) {
    return this.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
  }

  // From the authorization URL to the app's redirect: signs in, allows.
  async authorize(url) {
    const page = await this.request(url);
    const html = await page.text();
    assert(page.status === 200, `GET authorize: HTTP ${page.status} ${quiet(html.slice(0, 1500))}`);
    const login = await this.post('/oauth/authorize/login', [
      ...formFields(html, '/oauth/authorize/login'),
      ['username', EMAIL],
      ['password', PASSWORD],
    ]);
    // The consent page, or (consent given before) a redirect to the app.
    let done = login;
    if (login.status === 303 && !login.headers.get('location').startsWith(CALLBACK)) {
      done = await this.request(login.headers.get('location'));
    }
    if (done.status === 200) {
      const consentPage = await done.text();
      done = await this.post('/oauth/authorize/consent', [
        ...formFields(consentPage, '/oauth/authorize/consent'),
        ['decision', 'allow'],
      ]);
    }
    assert(done.status === 303, `sign-in and consent: HTTP ${done.status} ${quiet((await done.text()).slice(0, 1500))}`);
    const location = done.headers.get('location');
    assert(location.startsWith(CALLBACK + '?'), `redirected to ${location}, not to ${CALLBACK}`);
    return new URL(location);
  }
}

// ---------------------------------------------------------------------------
// Checks

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

function eq(actual, expected, what) {
  assert(actual === expected, `${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

// The library's error for an OAuth error response: its code and grantd's catalog code.
async function refusal(promise, what) {
  try {
    await promise;
  } catch (e) {
    // ResponseBodyError carries the body's fields; a 401 with a
    // WWW-Authenticate challenge (WWWAuthenticateChallengeError) carries
    // the challenge, and the response with grantd's body unread.
    const challenge = Array.isArray(e.cause) ? e.cause[0]?.parameters ?? {} : {};
    let body = e.cause && typeof e.cause === 'object' && !Array.isArray(e.cause) ? e.cause : {};
    if (Array.isArray(e.cause) && e.response && !e.response.bodyUsed) body = await e.response.json().catch(() => ({}));
    const error = e.error ?? body.error ?? challenge.error;
    const description = e.error_description ?? body.error_description ?? challenge.error_description ?? '';
    if (!error) throw new Error(`${what}: not an OAuth error response: ${quiet(e.stack || e)}`);
    return { error, description, status: e.status, e };
  }
  throw new Error(`${what}: succeeded, expected a refusal`);
}

// ---------------------------------------------------------------------------
// Set-up: a user, a fapi2 app whose jwks is the client's public key.

async function setup(g) {
  await admin(g, 'POST', '/admin/v1/users', { email: EMAIL, name: 'Alice Smith', password: PASSWORD });
  const clientKeys = await es256();
  const jwk = { ...(await subtle.exportKey('jwk', clientKeys.publicKey)), kid: 'client-1', alg: 'ES256', use: 'sig' };
  delete jwk.key_ops;
  delete jwk.ext;
  const app = await admin(g, 'POST', '/admin/v1/apps', {
    name: 'Acme Bank',
    platform_type: 'server-web',
    grants: ['authorization_code', 'refresh_token'],
    redirect_uris: [CALLBACK],
    scopes: ['openid', 'ReadAccounts'],
    jwks: { keys: [jwk] },
    profile: 'fapi2',
  });
  const clientId = app.client_id;
  assert(clientId, `no client_id in ${JSON.stringify(Object.keys(app))}`);
  const config = await client.discovery(
    new URL(g.base),
    clientId,
    { id_token_signed_response_alg: 'ES256', authorization_signed_response_alg: 'ES256' },
    client.PrivateKeyJwt({ key: clientKeys.privateKey, kid: 'client-1' }),
    { execute: [client.allowInsecureRequests] }, // grantd on loopback http
  );
  return { app, clientId, secret: app.client_secret, clientKeys, config };
}

// The whole FAPI 2.0 code flow; returns the tokens, the DPoP handle and keys.
async function codeFlow(g, ctx) {
  const dpopKeys = await client.randomDPoPKeyPair('ES256');
  const dpop = client.getDPoPHandle(ctx.config, dpopKeys);
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = await client.buildAuthorizationUrlWithPAR(
    ctx.config,
    {
      redirect_uri: CALLBACK,
      scope: 'openid ReadAccounts',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    },
    { DPoP: dpop },
  );
  eq([...url.searchParams.keys()].sort().join(' '), 'client_id request_uri', 'the authorization URL after PAR');
  const callback = await new Browser(g.base).authorize(url.href);
  const tokens = await client.authorizationCodeGrant(
    ctx.config,
    callback,
    { pkceCodeVerifier: verifier, expectedState: state },
    undefined,
    { DPoP: dpop },
  );
  return { tokens, dpop, dpopKeys, callback };
}

// ---------------------------------------------------------------------------
// Tests

const tests = [];
const test = (name, fn) => tests.push({ name, fn });

test('discovery: openid-client reads PAR, DPoP algorithms, iss in responses and private_key_jwt', async (g, ctx) => {
  const m = ctx.config.serverMetadata();
  eq(m.issuer, g.base, 'issuer');
  eq(m.pushed_authorization_request_endpoint, g.base + '/oauth/par', 'pushed_authorization_request_endpoint');
  assert(m.dpop_signing_alg_values_supported.includes('ES256'), 'ES256 among dpop_signing_alg_values_supported');
  assert(m.token_endpoint_auth_methods_supported.includes('private_key_jwt'), 'private_key_jwt among the auth methods');
  eq(m.authorization_response_iss_parameter_supported, true, 'authorization_response_iss_parameter_supported');
  assert(m.code_challenge_methods_supported.includes('S256'), 'S256 among the PKCE methods');
});

test('PAR + PKCE S256 + DPoP + private_key_jwt: the code flow completes, tokens are DPoP-bound, the ID token checks out', async (g, ctx) => {
  const { tokens, dpopKeys, callback } = await codeFlow(g, ctx);
  eq(callback.searchParams.get('iss'), g.base, 'iss in the authorization response (RFC 9207)');
  eq(tokens.token_type.toLowerCase(), 'dpop', 'token_type');
  assert(tokens.refresh_token, 'a refresh token');
  const claims = tokens.claims(); // verified by the library: iss, aud, exp, the signature's alg
  assert(claims && claims.sub, 'the ID token has a subject');
  eq(claims.aud === ctx.clientId || (Array.isArray(claims.aud) && claims.aud.includes(ctx.clientId)), true, 'the ID token is for the app');
  const payload = JSON.parse(Buffer.from(tokens.access_token.split('.')[1], 'base64url').toString());
  eq(payload.cnf?.jkt, await thumbprint(dpopKeys.publicKey), 'cnf.jkt of the access token = the DPoP key thumbprint');
});

test('JAR inside PAR: a request object signed with the client key, pushed with DPoP, completes the flow', async (g, ctx) => {
  const dpopKeys = await client.randomDPoPKeyPair('ES256');
  const dpop = client.getDPoPHandle(ctx.config, dpopKeys);
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const { searchParams } = await client.buildAuthorizationUrlWithJAR(
    ctx.config,
    {
      redirect_uri: CALLBACK,
      scope: 'openid ReadAccounts',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    },
    { key: ctx.clientKeys.privateKey, kid: 'client-1' },
  );
  eq([...searchParams.keys()].sort().join(' '), 'client_id request', 'what the library pushes');
  const url = await client.buildAuthorizationUrlWithPAR(ctx.config, searchParams, { DPoP: dpop });
  const callback = await new Browser(g.base).authorize(url.href);
  eq(callback.searchParams.get('state'), state, "the object's state");
  const tokens = await client.authorizationCodeGrant(
    ctx.config, callback, { pkceCodeVerifier: verifier, expectedState: state }, undefined, { DPoP: dpop },
  );
  eq(tokens.token_type.toLowerCase(), 'dpop', 'token_type');
  eq(tokens.scope, 'openid ReadAccounts', "the object's scope");
});

test("grantd's API and userinfo accept the bound token with the client's DPoP proof", async (g, ctx) => {
  const { tokens, dpop } = await codeFlow(g, ctx);
  const res = await client.fetchProtectedResource(
    ctx.config, tokens.access_token, new URL(g.base + '/restapi/v1.0/account/~/extension/~'), 'GET', undefined, undefined, { DPoP: dpop },
  );
  const text = await res.text();
  eq(res.status, 200, `the extension call (${quiet(text.slice(0, 500))})`);
  eq(JSON.parse(text).contact?.email, EMAIL, "the extension's email");
  const info = await client.fetchUserInfo(ctx.config, tokens.access_token, tokens.claims().sub, { DPoP: dpop });
  eq(info.sub, tokens.claims().sub, "userinfo's subject (checked by the library too)");
});

test('the bound token without its proof, or with another key, is refused at the API', async (g, ctx) => {
  const { tokens } = await codeFlow(g, ctx);
  const url = g.base + '/restapi/v1.0/account/~/extension/~';
  const bearer = await fetch(url, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  eq(bearer.status, 401, 'as a Bearer token');
  assert(/^DPoP /.test(bearer.headers.get('www-authenticate') || ''), 'WWW-Authenticate: DPoP');
  assert((await bearer.text()).includes('GRD-944'), 'GRD-944 names the binding');
  const otherKeys = await client.randomDPoPKeyPair('ES256');
  const other = client.getDPoPHandle(ctx.config, otherKeys);
  const r = await refusal(
    client.fetchProtectedResource(ctx.config, tokens.access_token, new URL(url), 'GET', undefined, undefined, { DPoP: other }),
    "the API with another key's proof",
  );
  eq(r.e.response?.status, 401, "status with another key's proof");
  eq(r.error, 'invalid_token', "error with another key's proof (RFC 9449 §7.1: the token is not this key's)");
  assert(r.description.includes(await thumbprint(otherKeys.publicKey)), `the description names the proof's key: ${quiet(r.description)}`);
});

test('refresh with the same DPoP key; introspection shows the binding; revocation ends the token', async (g, ctx) => {
  const { tokens, dpop, dpopKeys } = await codeFlow(g, ctx);
  const refreshed = await client.refreshTokenGrant(ctx.config, tokens.refresh_token, undefined, { DPoP: dpop });
  eq(refreshed.token_type.toLowerCase(), 'dpop', 'token_type after refresh');
  const jkt = await thumbprint(dpopKeys.publicKey);
  const info = await client.tokenIntrospection(ctx.config, refreshed.access_token);
  eq(info.active, true, 'the refreshed token is active');
  eq(info.cnf?.jkt, jkt, 'introspection cnf.jkt');
  eq(info.token_type, 'DPoP', 'introspection token_type');
  await client.tokenRevocation(ctx.config, refreshed.access_token);
  eq((await client.tokenIntrospection(ctx.config, refreshed.access_token)).active, false, 'active after revocation');
});

test('refused: an authorization request that skips PAR names the fapi2 rule', async (g, ctx) => {
  const url = client.buildAuthorizationUrl(ctx.config, {
    redirect_uri: CALLBACK,
    scope: 'openid',
    code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
  });
  const res = await fetch(url, { headers: { accept: 'application/json' }, redirect: 'manual' });
  eq(res.status, 400, 'status of the authorization request without PAR');
  const body = await res.text();
  assert(body.includes('GRD-927') && body.includes('fapi2'), `GRD-927 naming fapi2: ${quiet(body.slice(0, 500))}`);
});

test('refused: a client secret on a fapi2 app (GRD-951), and a token request without a DPoP proof (GRD-942)', async (g, ctx) => {
  const bySecret = new client.Configuration(ctx.config.serverMetadata(), ctx.clientId, ctx.secret, client.ClientSecretBasic(ctx.secret));
  client.allowInsecureRequests(bySecret);
  const r = await refusal(
    client.buildAuthorizationUrlWithPAR(bySecret, {
      redirect_uri: CALLBACK,
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    }),
    'PAR with a client secret',
  );
  eq(r.error, 'invalid_client', 'error for a client secret');
  assert(r.description.includes('private_key_jwt'), `the description names private_key_jwt: ${quiet(r.description)}`);

  // A real code, exchanged without DPoP: the library's call without the handle.
  const dpop = client.getDPoPHandle(ctx.config, await client.randomDPoPKeyPair('ES256'));
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = await client.buildAuthorizationUrlWithPAR(
    ctx.config,
    { redirect_uri: CALLBACK, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state },
    { DPoP: dpop },
  );
  const callback = await new Browser(g.base).authorize(url.href);
  const noProof = await refusal(
    client.authorizationCodeGrant(ctx.config, callback, { pkceCodeVerifier: verifier, expectedState: state }),
    'the code exchange without DPoP',
  );
  eq(noProof.error, 'invalid_request', 'error without a proof');
  assert(/DPoP/.test(noProof.description), `the description names DPoP: ${quiet(noProof.description)}`);
});

// ---------------------------------------------------------------------------

async function main() {
  const bin = process.argv[2];
  if (!bin) {
    console.error('usage: node fapi.mjs PATH/TO/grantd');
    process.exit(2);
  }
  let passed = 0;
  let failed = 0;
  const g = await startGrantd(bin);
  try {
    let ctx;
    try {
      ctx = await setup(g);
    } catch (e) {
      console.log(`FAIL setup: ${quiet(e.stack || e)}`);
      failed++;
    }
    if (ctx) {
      for (const t of tests) {
        try {
          await t.fn(g, ctx);
          console.log(`ok   ${t.name}`);
          passed++;
        } catch (e) {
          console.log(`FAIL ${t.name}\n     ${quiet(e.stack || e).replace(/\n/g, '\n     ')}`);
          failed++;
        }
      }
    }
    if (failed) console.log(quiet(g.log().split('\n').slice(-40).join('\n')));
  } finally {
    await g.stop();
  }
  console.log(`${SUITE}: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.log(`FAIL ${quiet(e.stack || e)}`);
  console.log(`${SUITE}: 0 passed, 1 failed`);
  process.exit(1);
});
