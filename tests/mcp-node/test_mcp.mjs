// An MCP-style client against grantd: the official @modelcontextprotocol/sdk
// auth helpers discover grantd from a resource's 401 (RFC 9728), read the
// authorization server metadata (RFC 8414), register themselves (RFC 7591,
// open registration), and finish the code flow with PKCE, while this script
// plays the browser on grantd's sign-in and consent pages (fetch, a cookie
// jar, the forms' hidden fields with their CSRF token).
//
// Usage: node test_mcp.mjs PATH/TO/grantd
//
// Ends with exactly one summary line, "mcp-node: N passed, M failed", and
// exits non-zero when anything failed. scripts/test sums every such phrase,
// so nothing else printed may contain one (foreign text goes through quiet()).

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  discoverOAuthProtectedResourceMetadata,
  discoverAuthorizationServerMetadata,
  extractResourceMetadataUrl,
  registerClient,
  startAuthorization,
  exchangeAuthorization,
  refreshAuthorization,
} from "@modelcontextprotocol/sdk/client/auth.js";

const SUITE = "mcp-node";
const ADMIN_TOKEN = "mcp-node-admin-token-0123456789abcdef";
const EMAIL = "mcp@example.com";
const PASSWORD = "correct horse battery";
const REDIRECT = "http://127.0.0.1:33418/callback"; // never contacted: the test reads Location
const verbose = process.env.MCP_TEST_VERBOSE === "1";

const quiet = (text) => String(text).replace(/(\d+)(\s+)(passed|failed)/g, "$1$2[$3]");

// ---------------------------------------------------------------------------
// grantd

async function startGrantd(binary) {
  const dir = mkdtempSync(join(tmpdir(), "grantd-mcp-node-"));
  const env = { ...process.env, GRANTD_ADMIN_TOKEN: ADMIN_TOKEN, GRANTD_REGISTRATION_OPEN: "true" };
  delete env.GRANTD_LISTEN;
  delete env.GRANTD_DATA_DIR;
  delete env.GRANTD_DATABASE_URL;
  const proc = spawn(binary, ["--data-dir", join(dir, "data"), "serve", "--listen", "127.0.0.1:0"], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  proc.stderr.on("data", (d) => (stderr += d));
  const base = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error("grantd did not start listening within 30 s")), 30_000);
    proc.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/grantd listening on (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1].replace(/\/$/, ""));
      }
    });
    proc.on("exit", (code) => reject(new Error(`grantd exited with status ${code} before listening`)));
  });
  return {
    base,
    log: () => stderr,
    stop: () => {
      proc.kill("SIGTERM");
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {}
    },
  };
}

async function admin(base, method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, json: await res.json().catch(() => null) };
}

// ---------------------------------------------------------------------------
// The browser: fetch with a cookie jar, no automatic redirects.

class Browser {
  constructor(base) {
    this.base = base;
    this.cookies = new Map();
  }
  keep(res) {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const i = pair.indexOf("=");
      this.cookies.set(pair.slice(0, i).trim(), pair.slice(i + 1).trim());
    }
  }
  header() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
  async get(url) {
    const res = await fetch(url, { redirect: "manual", headers: { cookie: this.header(), accept: "text/html" } });
    this.keep(res);
    return { status: res.status, location: res.headers.get("location"), text: await res.text() };
  }
  async post(path, fields) {
    const res = await fetch(this.base + path, {
      method: "POST",
      redirect: "manual",
      headers: { cookie: this.header(), accept: "text/html", "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(fields),
    });
    this.keep(res);
    return { status: res.status, location: res.headers.get("location"), text: await res.text() };
  }
}

const unescape = (s) =>
  s.replaceAll("&quot;", '"').replaceAll("&#x27;", "'").replaceAll("&#39;", "'")
    .replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&amp;", "&");

/** The hidden fields of the first form posting to `action`. */
function formFields(html, action) {
  const start = html.indexOf(`action="${action}"`);
  if (start < 0) throw new Error(`no form posting to ${action} in the page: ${quiet(html.slice(0, 300))}`);
  const form = html.slice(start, html.indexOf("</form>", start));
  const fields = [];
  for (const m of form.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)"/g)) {
    fields.push([m[1], unescape(m[2])]);
  }
  return fields;
}

// ---------------------------------------------------------------------------
// The checks

let passed = 0;
let failed = 0;
async function check(name, fn) {
  try {
    await fn();
    passed += 1;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed += 1;
    console.log(`FAIL ${name}: ${quiet(verbose ? e.stack : e.message)}`);
  }
}
function eq(got, want, what) {
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    throw new Error(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  }
}
function ok(cond, what) {
  if (!cond) throw new Error(what);
}

async function main() {
  const binary = process.argv[2];
  if (!binary) throw new Error("usage: node test_mcp.mjs PATH/TO/grantd");
  const grantd = await startGrantd(binary);
  const base = grantd.base;
  const resourceUrl = `${base}/restapi`;
  const state = {};
  try {
    const user = await admin(base, "POST", "/admin/v1/users", {
      email: EMAIL,
      name: "Model Context",
      password: PASSWORD,
      extension_number: "101",
    });
    eq(user.status, 201, "create the user");

    await check("a resource's 401 names its protected resource metadata (RFC 9728 §5.1)", async () => {
      const res = await fetch(`${base}/restapi/v1.0/account/~/extension/~`);
      eq(res.status, 401, "status");
      const url = extractResourceMetadataUrl(res);
      eq(url && url.href, `${base}/.well-known/oauth-protected-resource/restapi`, "resource_metadata");
      state.resourceMetadataUrl = url;
    });

    await check("discoverOAuthProtectedResourceMetadata names grantd as the authorization server", async () => {
      const prm = await discoverOAuthProtectedResourceMetadata(resourceUrl, {
        resourceMetadataUrl: state.resourceMetadataUrl,
      });
      eq(prm.resource, resourceUrl, "resource");
      eq(prm.authorization_servers, [base], "authorization_servers");
      ok(prm.bearer_methods_supported.includes("header"), "bearer_methods_supported");
      // The path-aware lookup from the resource URL alone finds the same document.
      const again = await discoverOAuthProtectedResourceMetadata(resourceUrl);
      eq(again.resource, resourceUrl, "resource by path-aware discovery");
      state.authorizationServer = prm.authorization_servers[0];
    });

    await check("discoverAuthorizationServerMetadata lists registration_endpoint and S256", async () => {
      const md = await discoverAuthorizationServerMetadata(state.authorizationServer);
      ok(md, "no metadata");
      eq(md.issuer, base, "issuer");
      eq(md.registration_endpoint, `${base}/oauth/register`, "registration_endpoint");
      ok(md.code_challenge_methods_supported.includes("S256"), "S256");
      state.metadata = md;
    });

    await check("registerClient registers a public native client (open registration)", async () => {
      // The SDK keeps the RFC 7591 fields; the RFC 7592 ones are read from the raw answer.
      let raw;
      const recording = async (url, init) => {
        const res = await fetch(url, init);
        raw = await res.clone().json();
        return res;
      };
      const info = await registerClient(state.authorizationServer, {
        metadata: state.metadata,
        fetchFn: recording,
        clientMetadata: {
          client_name: "MCP Inspector (test)",
          redirect_uris: [REDIRECT],
          grant_types: ["authorization_code", "refresh_token"],
          response_types: ["code"],
          token_endpoint_auth_method: "none",
          software_id: "mcp-node-test",
          software_version: "1.0.0",
        },
        scope: "openid profile",
      });
      ok(info.client_id, "client_id");
      eq(info.client_secret, undefined, "a public client has no secret");
      eq(info.token_endpoint_auth_method, "none", "token_endpoint_auth_method");
      eq(info.redirect_uris, [REDIRECT], "redirect_uris");
      ok(raw.registration_access_token && raw.registration_client_uri, "RFC 7592 credentials");
      eq(raw.registration_client_uri, `${base}/oauth/register/${info.client_id}`, "registration_client_uri");
      state.client = info;
      state.registration = raw;
    });

    await check("registerClient's refusal carries grantd's error (invalid_redirect_uri)", async () => {
      try {
        await registerClient(state.authorizationServer, {
          metadata: state.metadata,
          clientMetadata: { redirect_uris: ["https://app.example.com/cb#fragment"], token_endpoint_auth_method: "none" },
        });
      } catch (e) {
        ok(/fragment/.test(e.message), `the message names the cause: ${e.message}`);
        return;
      }
      throw new Error("a redirect URI with a fragment was registered");
    });

    await check("startAuthorization, then sign-in and consent pages, then a code at the redirect URI", async () => {
      const { authorizationUrl, codeVerifier } = await startAuthorization(state.authorizationServer, {
        metadata: state.metadata,
        clientInformation: state.client,
        redirectUrl: REDIRECT,
        scope: "openid profile",
        state: "mcp-state-1",
      });
      const browser = new Browser(base);
      let page = await browser.get(authorizationUrl.href);
      eq(page.status, 200, `the sign-in page (${quiet(page.text.slice(0, 200))})`);
      const login = formFields(page.text, "/oauth/authorize/login");
      ok(login.some(([k]) => k === "csrf"), "the sign-in form carries a CSRF token");
      page = await browser.post("/oauth/authorize/login", [...login, ["username", EMAIL], ["password", PASSWORD]]);
      if (page.status === 200) {
        const consent = formFields(page.text, "/oauth/authorize/consent");
        page = await browser.post("/oauth/authorize/consent", [...consent, ["decision", "allow"]]);
      }
      eq(page.status, 303, `the redirect back (${quiet(page.text.slice(0, 200))})`);
      const back = new URL(page.location);
      eq(`${back.origin}${back.pathname}`, REDIRECT, "redirect URI");
      eq(back.searchParams.get("state"), "mcp-state-1", "state");
      eq(back.searchParams.get("iss"), base, "iss (RFC 9207)");
      state.code = back.searchParams.get("code");
      state.codeVerifier = codeVerifier;
      ok(state.code, "a code");
    });

    await check("exchangeAuthorization trades the code and verifier for tokens that work at the API", async () => {
      const tokens = await exchangeAuthorization(state.authorizationServer, {
        metadata: state.metadata,
        clientInformation: state.client,
        authorizationCode: state.code,
        codeVerifier: state.codeVerifier,
        redirectUri: REDIRECT,
      });
      ok(tokens.access_token && tokens.refresh_token, "access and refresh tokens");
      eq(tokens.token_type.toLowerCase(), "bearer", "token_type");
      const res = await fetch(`${base}/restapi/v1.0/account/~/extension/~`, {
        headers: { authorization: `Bearer ${tokens.access_token}` },
      });
      eq(res.status, 200, "the API with the token");
      state.tokens = tokens;
    });

    await check("refreshAuthorization rotates the refresh token", async () => {
      const next = await refreshAuthorization(state.authorizationServer, {
        metadata: state.metadata,
        clientInformation: state.client,
        refreshToken: state.tokens.refresh_token,
      });
      ok(next.access_token && next.refresh_token !== state.tokens.refresh_token, "a new pair");
    });

    await check("the registration is read and deleted with its registration access token (RFC 7592)", async () => {
      const auth = { authorization: `Bearer ${state.registration.registration_access_token}` };
      let res = await fetch(state.registration.registration_client_uri, { headers: auth });
      eq(res.status, 200, "GET");
      eq((await res.json()).client_name, "MCP Inspector (test)", "client_name");
      res = await fetch(state.registration.registration_client_uri, { method: "DELETE", headers: auth });
      eq(res.status, 204, "DELETE");
      res = await fetch(`${base}/restapi/v1.0/account/~/extension/~`, {
        headers: { authorization: `Bearer ${state.tokens.access_token}` },
      });
      eq(res.status, 401, "the deleted client's token stops working");
    });
  } catch (e) {
    failed += 1;
    console.log(`FAIL setup: ${quiet(e.message)}`);
  } finally {
    if (failed > 0 && verbose) console.log(quiet(grantd.log()));
    grantd.stop();
  }
  console.log(`${SUITE}: ${passed} passed, ${failed} failed`);
  process.exit(failed > 0 ? 1 : 0);
}

main().catch((e) => {
  console.log(`FAIL ${quiet(e.message)}`);
  console.log(`${SUITE}: ${passed} passed, ${failed + 1} failed`);
  process.exit(1);
});
