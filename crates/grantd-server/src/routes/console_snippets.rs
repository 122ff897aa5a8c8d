//! Ready-to-paste token requests for an app, one per enabled grant: curl,
//! raw HTTP, and the RingCentral Python and JavaScript SDK calls. Secrets
//! appear only as placeholders (`$CLIENT_SECRET`, `$JWT`, …).

use grantd_core::model::App;
use grantd_protocol::Grant;

pub struct Snippet {
    pub grant: &'static str,
    pub about: &'static str,
    pub curl: String,
    pub http: String,
    pub python: String,
    pub js: String,
}

fn token_request(issuer: &str, app: &App, form: &str) -> (String, String) {
    let host = issuer
        .split("://")
        .nth(1)
        .unwrap_or(issuer)
        .split('/')
        .next()
        .unwrap_or("");
    let id = &app.client_id;
    let (curl_auth, http_auth) = if app.is_confidential() {
        (
            format!("-u '{id}:'\"$CLIENT_SECRET\" "),
            "Authorization: Basic base64(CLIENT_ID:CLIENT_SECRET)\n".to_string(),
        )
    } else {
        (
            format!("-u '{id}:' "),
            format!("Authorization: Basic base64({id}:)\n"),
        )
    };
    let curl_form: String = form
        .split('&')
        .map(|kv| format!(" \\\n  --data-urlencode \"{kv}\""))
        .collect();
    (
        format!("curl {curl_auth}{issuer}/restapi/oauth/token{curl_form}"),
        format!(
            "POST /restapi/oauth/token HTTP/1.1\nHost: {host}\n{http_auth}Content-Type: application/x-www-form-urlencoded\n\n{form}"
        ),
    )
}

fn sdk(issuer: &str, app: &App, py_login: &str, js_login: &str) -> (String, String) {
    let id = &app.client_id;
    let (py_secret, js_secret) = if app.is_confidential() {
        ("os.environ[\"CLIENT_SECRET\"]", "process.env.CLIENT_SECRET")
    } else {
        ("\"\"", "''")
    };
    (
        format!(
            "import os\nfrom ringcentral import SDK\n\nsdk = SDK(\"{id}\", {py_secret}, \"{issuer}\")\nplatform = sdk.platform()\n{py_login}\nprint(platform.get(\"/restapi/v1.0/account/~/extension/~\").json())"
        ),
        format!(
            "import {{ SDK }} from '@ringcentral/sdk';\n\nconst sdk = new SDK({{ server: '{issuer}', clientId: '{id}', clientSecret: {js_secret} }});\nconst platform = sdk.platform();\n{js_login}\nconsole.log(await (await platform.get('/restapi/v1.0/account/~/extension/~')).json());"
        ),
    )
}

/// One snippet per grant the app is enabled for (refresh_token last).
pub fn snippets(issuer: &str, app: &App) -> Vec<Snippet> {
    let redirect = app
        .redirect_uris
        .first()
        .map(|u| u.to_string())
        .unwrap_or_else(|| "REDIRECT_URI".into());
    let mut out = Vec::new();
    // The ways to sign in first; refreshing continues one of them.
    let mut grants = app.grants.clone();
    grants.sort_by_key(|g| *g == Grant::RefreshToken);
    for g in &grants {
        let (form, about, py, js) = match g {
            Grant::JwtBearer => (
                "grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=$JWT".to_string(),
                "A server signs in as a user with a JWT credential ($JWT is the credential's JWT, shown once when it was made).",
                "platform.login(jwt=os.environ[\"JWT\"])".to_string(),
                "await platform.login({ jwt: process.env.JWT });".to_string(),
            ),
            Grant::ClientCredentials => (
                "grant_type=client_credentials".to_string(),
                "The app acts as itself, with no user. The RingCentral SDKs have no call for it: send the request yourself.",
                "# The SDK has no client_credentials login; use requests:\n# requests.post(f\"{server}/restapi/oauth/token\", auth=(CLIENT_ID, CLIENT_SECRET), data={\"grant_type\": \"client_credentials\"})".to_string(),
                "// The SDK has no client_credentials login; use fetch with Basic auth and grant_type=client_credentials.".to_string(),
            ),
            Grant::AuthorizationCode => (
                format!("grant_type=authorization_code&code=$CODE&redirect_uri={redirect}&code_verifier=$CODE_VERIFIER"),
                "A user signs in in the browser; your redirect URI receives ?code=…, which the app exchanges (with the PKCE verifier).",
                format!("# send the user to platform.login_url(\"{redirect}\", challenge=challenge, challenge_method=\"S256\")\nplatform.login(code=os.environ[\"CODE\"], redirect_uri=\"{redirect}\", verifier=os.environ[\"CODE_VERIFIER\"])"),
                format!("// send the user to platform.loginUrl({{ redirectUri: '{redirect}', usePKCE: true }})\nawait platform.login({{ code: process.env.CODE, redirect_uri: '{redirect}' }});"),
            ),
            Grant::RefreshToken => (
                "grant_type=refresh_token&refresh_token=$REFRESH_TOKEN".to_string(),
                "Exchange the refresh token for a new pair (the old refresh token then stops working). The SDKs refresh by themselves.",
                "platform.refresh()".to_string(),
                "await platform.refresh();".to_string(),
            ),
            Grant::Password => (
                "grant_type=password&username=$USERNAME&password=$PASSWORD".to_string(),
                "Legacy: the app handles the user's password. Prefer the JWT flow (server apps) or the authorization code flow.",
                "platform.login(username=os.environ[\"USERNAME\"], extension=\"\", password=os.environ[\"PASSWORD\"])".to_string(),
                "await platform.login({ username: process.env.USERNAME, password: process.env.PASSWORD });".to_string(),
            ),
            Grant::DeviceCode => (
                "grant_type=urn:ietf:params:oauth:grant-type:device_code&device_code=$DEVICE_CODE".to_string(),
                "First POST /oauth/device_authorization (client_id, scope) for a device code and a user code; show the user code; then poll this request every `interval` seconds.",
                "# The SDK has no device flow: poll the token endpoint with requests.".to_string(),
                "// The SDK has no device flow: poll the token endpoint with fetch.".to_string(),
            ),
            Grant::TokenExchange => (
                "grant_type=urn:ietf:params:oauth:grant-type:token-exchange&subject_token=$ACCESS_TOKEN&subject_token_type=urn:ietf:params:oauth:token-type:access_token".to_string(),
                "Exchange a user's access token for one to call another service for them (RFC 8693).",
                "# The SDK has no token exchange: send the request with requests.".to_string(),
                "// The SDK has no token exchange: send the request with fetch.".to_string(),
            ),
            Grant::Implicit => continue,
        };
        let (curl, http) = token_request(issuer, app, &form);
        let (python, js) = sdk(issuer, app, &py, &js);
        out.push(Snippet {
            grant: g.as_str(),
            about,
            curl,
            http,
            python,
            js,
        });
    }
    out
}
