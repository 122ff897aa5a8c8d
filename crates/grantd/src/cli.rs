//! The command line: `serve`, and commands that mirror the admin API on the
//! local store (`app`, `account`, `keys`), plus `explain`.

use crate::config::{ServeArgs, Settings, StoreArgs};
use crate::serve;
use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use grantd_core::apps::{AppSpec, ExchangePolicySpec};
use grantd_core::credentials::CredentialSpec;
use grantd_core::model::{App, SigningAlg, UserStatus};
use grantd_core::store::SessionsOf;
use grantd_core::users::UserSpec;
use grantd_core::Grantd;
use grantd_protocol::{Code, OAuthError};
use grantd_server::admin::app_json;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "grantd",
    version,
    about = "An OAuth 2.0 / OpenID Connect authorization server that explains every rejection."
)]
pub struct Cli {
    #[command(flatten)]
    store: StoreArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (SQLite in ./grantd-data, 127.0.0.1:8080 by default).
    Serve(ServeArgs),
    /// Register and manage apps.
    #[command(subcommand)]
    App(AppCommand),
    /// Manage accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Manage users (RingCentral's extensions).
    #[command(subcommand)]
    User(UserCommand),
    /// Manage JWT credentials (for the JWT bearer grant).
    #[command(subcommand)]
    Jwt(JwtCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Initial access tokens for dynamic client registration (RFC 7591 §3).
    #[command(subcommand)]
    RegistrationToken(RegistrationTokenCommand),
    /// Bring the database's schema up to date, then exit (serve also does this at start).
    Migrate,
    /// Move the store between databases.
    #[command(subcommand)]
    Store(StoreCommand),
    /// Write a consistent copy of the SQLite database to FILE while grantd runs.
    Backup {
        /// The new file (must not exist).
        file: std::path::PathBuf,
    },
    /// Diagnose a failing OAuth request (raw HTTP, a curl command line or a HAR
    /// file; - reads standard input): every problem with its code, cause and
    /// fix, then the corrected request. Exit 0: no problem, 1: problems, 2: unreadable input.
    Doctor(crate::doctor::DoctorArgs),
    /// The audit log of security events.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Check the configuration `serve` would run with.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Ask a running grantd whether it is ready (GET /readyz): exit 0 if so,
    /// 1 if not (for container health checks).
    Healthcheck {
        /// The server (default: http:// and the address grantd listens on).
        #[arg(long)]
        url: Option<String>,
        /// The address grantd listens on (as for serve).
        #[arg(long, env = "GRANTD_LISTEN")]
        listen: Option<String>,
    },
    /// Explain an error code (e.g. grantd explain OAU-251), or a rejected
    /// request by its request id (X-Request-Id) with its decision trace, from
    /// the data directory's store or, with --server, a running grantd's admin
    /// API; --markdown prints the whole catalog.
    Explain {
        #[arg(required_unless_present = "markdown")]
        code: Option<String>,
        #[arg(long)]
        json: bool,
        /// A running grantd to ask for a request id (e.g. http://127.0.0.1:8080);
        /// the admin token comes from GRANTD_ADMIN_TOKEN.
        #[arg(long)]
        server: Option<String>,
        /// Print every code as Markdown (the source of docs/errors.md).
        #[arg(long)]
        markdown: bool,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the hash chain of the whole log: exit 0 when every entry is
    /// intact, 1 naming the first edited or deleted entry.
    Verify {
        #[arg(long)]
        json: bool,
    },
    /// Print the log, oldest first.
    List {
        /// Only entries after this sequence number.
        #[arg(long, default_value_t = 0)]
        after: i64,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate the configuration (FILE, else --config / GRANTD_CONFIG, with
    /// the environment and the flags given) and print every effective
    /// setting with its source, secrets masked. Exit 0: valid; 1: not.
    Check {
        file: Option<std::path::PathBuf>,
        #[command(flatten)]
        serve: ServeArgs,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum StoreCommand {
    /// Copy every record of a SQLite store into a new PostgreSQL database,
    /// checking that every table's count matches.
    Copy {
        /// The SQLite store (sqlite://PATH or a path), e.g. sqlite://grantd-data/grantd.db.
        #[arg(long)]
        from: String,
        /// The PostgreSQL database (postgres://USER@HOST:PORT/DB); its tables must be empty.
        #[arg(long)]
        to: String,
    },
}

#[derive(Subcommand)]
enum AppCommand {
    /// Register an app; prints its client secret once.
    Create {
        #[command(flatten)]
        spec: SpecArgs,
        #[arg(long)]
        json: bool,
    },
    /// List apps.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one app.
    Show {
        client_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Change an app's settings (only the flags given).
    Update {
        client_id: String,
        #[command(flatten)]
        spec: SpecArgs,
        #[arg(long)]
        json: bool,
    },
    /// Delete an app and its tokens.
    Delete { client_id: String },
    /// Give a confidential app a new client secret (the old one stops working).
    RotateSecret {
        client_id: String,
        #[arg(long)]
        json: bool,
    },
    /// End every session of the app: its users' tokens stop working at once.
    EndSessions { client_id: String },
}

#[derive(Args)]
struct SpecArgs {
    #[arg(long)]
    name: Option<String>,
    /// server-web, browser, desktop, mobile, server-only or device.
    #[arg(long)]
    platform_type: Option<String>,
    /// Comma-separated: authorization_code, refresh_token, jwt_bearer, client_credentials, password, implicit, device_code, token_exchange.
    #[arg(long, value_delimiter = ',')]
    grants: Option<Vec<String>>,
    /// A redirect URI; repeat for several (replaces the list on update).
    #[arg(long = "redirect-uri")]
    redirect_uris: Option<Vec<String>>,
    /// Comma- or space-separated permissions.
    #[arg(long)]
    scopes: Option<String>,
    /// private or public.
    #[arg(long)]
    distribution: Option<String>,
    #[arg(long)]
    issue_refresh_tokens: Option<bool>,
    #[arg(long)]
    access_token_ttl: Option<u64>,
    #[arg(long)]
    refresh_token_ttl: Option<u64>,
    /// jwt or opaque.
    #[arg(long)]
    access_token_format: Option<String>,
    /// Accept PKCE code_challenge_method=plain from this app (S256 is always accepted).
    #[arg(long)]
    allow_plain_pkce: Option<bool>,
    /// The app is one of your APIs: it may introspect tokens of every app.
    #[arg(long)]
    resource_server: Option<bool>,
    /// An origin (https://app.example.com) whose pages may call grantd from a
    /// browser, besides a browser app's redirect URI origins; repeat for
    /// several (replaces the list on update; --allowed-origin none clears it).
    #[arg(long = "allowed-origin")]
    allowed_origins: Option<Vec<String>>,
    /// The app's own quota for a rate-limit group, GROUP=REQUESTS/SECONDS or
    /// GROUP=off (auth, light, medium, heavy); repeat for several (replaces
    /// the app's set on update; --rate-limit none clears it).
    #[arg(long = "rate-limit")]
    rate_limits: Option<Vec<String>>,
    /// A file holding the app's public keys as a JSON Web Key Set
    /// ({"keys": [...]}), for private_key_jwt client authentication.
    #[arg(long)]
    jwks_file: Option<std::path::PathBuf>,
    /// Remove the app's registered keys (it can no longer use private_key_jwt).
    #[arg(long, conflicts_with = "jwks_file")]
    no_jwks: bool,
    /// The https URL where the app publishes its public keys (a JSON Web Key
    /// Set), fetched and cached by grantd, for private_key_jwt; instead of
    /// --jwks-file (http only for 127.0.0.1, ::1 or localhost).
    #[arg(long, value_name = "URL")]
    jwks_uri: Option<String>,
    /// Remove the app's jwks_uri.
    #[arg(long, conflicts_with = "jwks_uri")]
    no_jwks_uri: bool,
    #[arg(long)]
    account_id: Option<String>,
    /// Token exchange: client ids of the apps whose tokens this app may exchange (besides its own); comma-separated.
    #[arg(long, value_delimiter = ',')]
    exchange_subject_apps: Option<Vec<String>>,
    /// Token exchange: resource servers (client ids) its exchanged tokens may be for; comma-separated.
    #[arg(long, value_delimiter = ',')]
    exchange_audiences: Option<Vec<String>>,
    /// Token exchange: the widest scope of an exchanged token, comma- or space-separated ('' for no limit beyond the subject token's).
    #[arg(long)]
    exchange_max_scope: Option<String>,
    /// Authorization requests only through PAR (POST /oauth/par).
    #[arg(long)]
    require_par: Option<bool>,
    /// Tokens only with a DPoP proof (sender-constrained, RFC 9449).
    #[arg(long)]
    require_dpop: Option<bool>,
    /// Authorization requests only as request objects signed by the app's key (RFC 9101).
    #[arg(long)]
    require_signed_request_object: Option<bool>,
    /// A security profile: fapi2 (FAPI 2.0 Security Profile), or none to remove it.
    #[arg(long)]
    profile: Option<String>,
    /// Where /oauth/logout may send the browser afterwards (exact match);
    /// repeat for several (replaces the list on update; none clears it).
    #[arg(long = "post-logout-redirect-uri", value_name = "URI")]
    post_logout_redirect_uris: Option<Vec<String>>,
    /// Where grantd POSTs back-channel logout tokens (https; http only for
    /// 127.0.0.1, ::1 or localhost); none removes it.
    #[arg(long, value_name = "URL")]
    backchannel_logout_uri: Option<String>,
    /// The app needs sid in its logout tokens.
    #[arg(long)]
    backchannel_logout_session_required: Option<bool>,
    /// A resource (absolute URI) the app's access tokens may be restricted
    /// to with resource= (RFC 8707); repeat for several (replaces the list
    /// on update; none clears it).
    #[arg(long = "resource-uri", value_name = "URI")]
    resource_uris: Option<Vec<String>>,
    /// Remove the app's token exchange policy (it may then exchange only its own tokens, for grantd's API).
    #[arg(long, conflicts_with_all = ["exchange_subject_apps", "exchange_audiences", "exchange_max_scope"])]
    no_exchange_policy: bool,
}

/// Comma- or space-separated names.
fn names(s: &str) -> Vec<String> {
    s.split([',', ' '])
        .filter(|x| !x.is_empty())
        .map(String::from)
        .collect()
}

impl SpecArgs {
    /// The spec, with the key set read from --jwks-file and the --jwks-uri.
    fn into_spec(self) -> anyhow::Result<AppSpec> {
        let jwks = if self.no_jwks {
            Some(None)
        } else if let Some(path) = &self.jwks_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("--jwks-file {}: {e}", path.display()))?;
            let set = serde_json::from_str(&text).map_err(|e| {
                anyhow::anyhow!(
                    "--jwks-file {}: not a JSON Web Key Set ({{\"keys\": [...]}}): {e}",
                    path.display()
                )
            })?;
            Some(Some(set))
        } else {
            None
        };
        let jwks_uri = if self.no_jwks_uri {
            Some(None)
        } else {
            self.jwks_uri.clone().map(Some)
        };
        Ok(AppSpec {
            jwks,
            jwks_uri,
            ..self.into()
        })
    }
}

impl From<SpecArgs> for AppSpec {
    fn from(a: SpecArgs) -> Self {
        AppSpec {
            jwks: None,
            jwks_uri: None,
            name: a.name,
            account_id: a.account_id,
            platform_type: a.platform_type,
            grants: a.grants,
            redirect_uris: a.redirect_uris,
            scopes: a.scopes.as_deref().map(names),
            distribution: a.distribution,
            issue_refresh_tokens: a.issue_refresh_tokens,
            access_token_ttl: a.access_token_ttl,
            refresh_token_ttl: a.refresh_token_ttl,
            access_token_format: a.access_token_format,
            allow_plain_pkce: a.allow_plain_pkce,
            require_par: a.require_par,
            require_dpop: a.require_dpop,
            require_signed_request_object: a.require_signed_request_object,
            profile: a.profile.map(|p| (p != "none").then_some(p)),
            resource_server: a.resource_server,
            post_logout_redirect_uris: a
                .post_logout_redirect_uris
                .map(|o| o.into_iter().filter(|o| o != "none").collect()),
            backchannel_logout_uri: a.backchannel_logout_uri.map(|u| (u != "none").then_some(u)),
            backchannel_logout_session_required: a.backchannel_logout_session_required,
            resource_uris: a
                .resource_uris
                .map(|o| o.into_iter().filter(|o| o != "none").collect()),
            allowed_origins: a
                .allowed_origins
                .map(|o| o.into_iter().filter(|o| o != "none").collect()),
            // Malformed entries reach core as they are, so the message is the API's.
            rate_limits: a.rate_limits.map(|entries| {
                entries
                    .iter()
                    .filter(|e| e.as_str() != "none")
                    .map(|e| match e.split_once('=') {
                        Some((group, limit)) => (group.to_string(), limit.to_string()),
                        None => (e.clone(), String::new()),
                    })
                    .collect()
            }),
            token_exchange: if a.no_exchange_policy {
                Some(None)
            } else if a.exchange_subject_apps.is_some()
                || a.exchange_audiences.is_some()
                || a.exchange_max_scope.is_some()
            {
                Some(Some(ExchangePolicySpec {
                    allowed_subject_apps: a.exchange_subject_apps,
                    audiences: a.exchange_audiences,
                    max_scope: a.exchange_max_scope.map(|s| {
                        let max = names(&s);
                        (!max.is_empty()).then_some(max)
                    }),
                }))
            } else {
                None
            },
        }
    }
}

#[derive(Subcommand)]
enum AccountCommand {
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        json: bool,
    },
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user; the password is read from standard input with --password-stdin.
    Create {
        #[arg(long)]
        email: Option<String>,
        /// E.164, e.g. +16505550100.
        #[arg(long)]
        phone: Option<String>,
        #[arg(long)]
        extension: Option<String>,
        #[arg(long)]
        name: String,
        /// admin, developer or user.
        #[arg(long)]
        role: Option<String>,
        #[arg(long)]
        account_id: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[arg(long)]
        json: bool,
    },
    List {
        #[arg(long)]
        account_id: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Disable a user: no new tokens, their sessions stop refreshing.
    Disable {
        id: String,
    },
    Enable {
        id: String,
    },
    /// End every session of the user: their tokens stop working at once.
    EndSessions {
        id: String,
    },
    /// Set the user's password (read from the first line of standard
    /// input); every session of the user ends.
    SetPassword {
        id: String,
    },
}

#[derive(Subcommand)]
enum JwtCommand {
    /// Create a JWT credential for a user; prints the JWT once.
    Create {
        #[arg(long)]
        user: String,
        /// A client id allowed to use it; repeat for several (default: every app of the user's account).
        #[arg(long = "app")]
        apps: Vec<String>,
        /// Lifetime such as 3600, 90m, 12h, 30d (default: no expiry).
        #[arg(long)]
        expires: Option<String>,
        #[arg(long)]
        label: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List a user's credentials (never the JWTs).
    List {
        #[arg(long)]
        user: String,
        #[arg(long)]
        json: bool,
    },
    Revoke {
        id: String,
    },
}

#[derive(Subcommand)]
enum RegistrationTokenCommand {
    /// Issue an initial access token; prints the token once. A client sends
    /// it as Authorization: Bearer to /oauth/register.
    Create {
        #[arg(long)]
        label: Option<String>,
        /// Lifetime such as 3600, 90m, 12h, 30d (default: no expiry).
        #[arg(long)]
        expires: Option<String>,
        /// Registrations it allows (default: no limit).
        #[arg(long)]
        max_uses: Option<i64>,
        #[arg(long)]
        json: bool,
    },
    /// List the initial access tokens (never the tokens themselves).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke one: it registers no more clients (those it registered stay).
    Revoke { id: String },
}

/// `3600`, `90m`, `12h`, `30d` → seconds.
fn parse_duration(s: &str) -> anyhow::Result<u64> {
    let s = s.trim();
    let (num, mult) = match s.chars().last() {
        Some('s') => (&s[..s.len() - 1], 1),
        Some('m') => (&s[..s.len() - 1], 60),
        Some('h') => (&s[..s.len() - 1], 3600),
        Some('d') => (&s[..s.len() - 1], 86_400),
        _ => (s, 1),
    };
    let n: u64 = num
        .parse()
        .with_context(|| format!("'{s}' is not a duration (e.g. 3600, 90m, 12h, 30d)"))?;
    Ok(n * mult)
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Add a signing key: published at once, signing after 5 minutes; older keys stay in JWKS.
    Rotate {
        /// ES256, EdDSA or RS256 (default: the current key's algorithm).
        #[arg(long)]
        alg: Option<String>,
    },
    /// Stop trusting a key at once (it leaked): it leaves the JWKS, and what
    /// it signed stops verifying; if it was signing, a new key takes over now.
    Revoke { kid: String },
    /// List the published keys.
    List,
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => {
            serve::serve(Settings::resolve(&cli.store, &args)?).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let settings = Settings::resolve(&cli.store, &ServeArgs::default())?;
            grantd_store::open::migrate(&settings.database_url)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "schema of {} is up to date",
                crate::config::redact_url(&settings.database_url)
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Store(StoreCommand::Copy { from, to }) => store_copy(&from, &to).await,
        Command::Backup { file } => {
            let settings = Settings::resolve(&cli.store, &ServeArgs::default())?;
            backup(&settings.database_url, &file).await
        }
        Command::Doctor(args) => Ok(crate::doctor::run(args).await),
        Command::Config(ConfigCommand::Check { file, serve, json }) => Ok(
            crate::config_check::check(&cli.store, &serve, file.as_deref(), json),
        ),
        Command::Healthcheck { url, listen } => {
            let serve = ServeArgs {
                listen,
                ..Default::default()
            };
            Ok(crate::config_check::healthcheck(&cli.store, &serve, url).await)
        }
        Command::Explain { markdown: true, .. } => {
            print!("{}", catalog_markdown());
            Ok(ExitCode::SUCCESS)
        }
        Command::Explain {
            code: Some(id),
            json,
            server,
            ..
        } if Code::find(&id).is_none() && looks_like_request_id(&id) => {
            explain_request(&cli.store, &id, json, server.as_deref()).await
        }
        Command::Explain { code, json, .. } => Ok(explain(code.as_deref().unwrap_or(""), json)),
        Command::App(cmd) => {
            let grantd = open(&cli.store).await?;
            app(&grantd, cmd).await
        }
        Command::Account(cmd) => {
            let grantd = open(&cli.store).await?;
            account(&grantd, cmd).await
        }
        Command::Keys(cmd) => {
            let grantd = open(&cli.store).await?;
            keys(&grantd, cmd).await
        }
        Command::Audit(cmd) => {
            let grantd = open(&cli.store).await?;
            audit(&grantd, cmd).await
        }
        Command::RegistrationToken(cmd) => {
            let grantd = open(&cli.store).await?;
            registration_token(&grantd, cmd).await
        }
        Command::User(cmd) => {
            let grantd = open(&cli.store).await?;
            user(&grantd, cmd).await
        }
        Command::Jwt(cmd) => {
            let grantd = open(&cli.store).await?;
            jwt(&grantd, cmd).await
        }
    }
}

async fn store_copy(from: &str, to: &str) -> anyhow::Result<ExitCode> {
    use grantd_store::open::Backend;
    use grantd_store::portable;
    if Backend::of(from) != Backend::Sqlite {
        anyhow::bail!("--from must be a SQLite store (sqlite://PATH); to move a PostgreSQL database use pg_dump and pg_restore");
    }
    if Backend::of(to) != Backend::Postgres {
        anyhow::bail!("--to must be a PostgreSQL database (postgres://USER@HOST:PORT/DB)");
    }
    let shown = crate::config::redact_url(to);
    grantd_store::open::migrate(to)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let source = portable::open_sqlite_source(from)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let report = portable::copy_sqlite_to_postgres(&source, to)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for (table, rows) in &report.tables {
        println!("{table:<18} {rows:>10} rows");
    }
    println!(
        "copied to {shown}; counts verified. Start every node with --database-url {shown} and the same master key (GRANTD_MASTER_KEY, or the master.key file of the data directory)."
    );
    Ok(ExitCode::SUCCESS)
}

async fn backup(database_url: &str, file: &std::path::Path) -> anyhow::Result<ExitCode> {
    use grantd_store::open::Backend;
    if Backend::of(database_url) == Backend::Postgres {
        anyhow::bail!("grantd backup copies a SQLite store; for PostgreSQL use pg_dump (e.g. pg_dump -Fc -f grantd.dump DATABASE_URL)");
    }
    let source = grantd_store::portable::open_sqlite_source(database_url)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    grantd_store::portable::backup_sqlite(&source, file)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // It holds password hashes and sealed keys, as the database does.
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))?;
    }
    println!("backup written to {}", file.display());
    Ok(ExitCode::SUCCESS)
}

async fn open(store: &StoreArgs) -> anyhow::Result<Arc<Grantd>> {
    let settings = Settings::resolve(store, &ServeArgs::default())?;
    let issuer = settings.issuer.clone().or_else(|| {
        std::env::var("GRANTD_ISSUER")
            .ok()
            .filter(|s| !s.is_empty())
    });
    let (grantd, first) = serve::open(&settings, serve::Issuer::Cli(issuer)).await?;
    serve::print_first_start(&first);
    Ok(grantd)
}

/// Prints a rejection the way the API would describe it; exit code 2.
fn fail(e: OAuthError) -> ExitCode {
    eprintln!("{}: {}", e.code, e.description);
    eprintln!("  see: grantd explain {}", e.code);
    ExitCode::from(2)
}

fn print_app(app: &App, secret: Option<&grantd_protocol::Secret>, json: bool) {
    if json {
        println!("{}", app_json(app, secret));
        return;
    }
    println!("{} ({})", app.name, app.client_id);
    println!("  platform type:    {}", app.platform_type);
    println!(
        "  grants:           {}",
        grantd_protocol::grant::join(&app.grants)
    );
    println!(
        "  redirect URIs:    {}",
        grantd_protocol::grant::join(&app.redirect_uris)
    );
    println!(
        "  scopes:           {}",
        grantd_protocol::grant::join(app.scopes.iter())
    );
    println!("  distribution:     {}", app.distribution.as_str());
    println!(
        "  access tokens:    {} for {} s",
        app.access_token_format.as_str(),
        app.access_token_ttl
    );
    if app.issue_refresh_tokens {
        println!("  refresh tokens:   {} s", app.refresh_token_ttl);
    } else {
        println!("  refresh tokens:   not issued");
    }
    let origins = app.cors_origins();
    if !origins.is_empty() {
        println!("  browser origins:  {} (CORS)", origins.join(", "));
    }
    if !app.rate_limits.is_empty() {
        let limits: Vec<String> = app
            .rate_limits
            .iter()
            .map(|(group, limit)| format!("{}={limit}", group.key()))
            .collect();
        println!("  rate limits:      {} (own)", limits.join(", "));
    }
    if !app.links.post_logout_redirect_uris.is_empty() {
        println!(
            "  after logout:     {}",
            app.links.post_logout_redirect_uris.join(", ")
        );
    }
    if let Some(uri) = &app.links.backchannel_logout_uri {
        let sid = if app.links.backchannel_logout_session_required {
            ", sid required"
        } else {
            ""
        };
        println!("  back-channel:     {uri} (logout tokens{sid})");
    }
    if !app.links.resource_uris.is_empty() {
        println!(
            "  resources:        {} (RFC 8707)",
            app.links.resource_uris.join(", ")
        );
    }
    if let Some(jwks) = &app.jwks {
        println!(
            "  client keys:      {} registered (private_key_jwt)",
            jwks.keys.len()
        );
    } else if let Some(uri) = &app.jwks_uri {
        println!(
            "  client keys:      fetched from {} (private_key_jwt)",
            grantd_protocol::jwks_uri::shown(uri)
        );
    }
    if let Some(p) = &app.token_exchange {
        println!(
            "  token exchange:   tokens of itself and {}; audiences {}; max scope {}",
            grantd_protocol::grant::join(&p.allowed_subject_apps),
            grantd_protocol::grant::join(&p.audiences),
            p.max_scope
                .as_ref()
                .map_or("that of the subject token".to_string(), |m| {
                    grantd_protocol::grant::join(m.iter())
                })
        );
    } else if app.has_grant(grantd_protocol::Grant::TokenExchange) {
        println!("  token exchange:   no policy: only its own tokens, for grantd's API");
    }
    if let Some(s) = secret {
        println!("  client secret:    {}", s.expose());
        println!("  (shown once: store it now; grantd keeps only a hash)");
    }
}

async fn app(grantd: &Grantd, cmd: AppCommand) -> anyhow::Result<ExitCode> {
    let result = match cmd {
        AppCommand::Create { spec, json } => grantd.create_app(spec.into_spec()?).await.map(|c| {
            print_app(&c.app, c.client_secret.as_ref(), json);
        }),
        AppCommand::List { json } => grantd.list_apps().await.map(|apps| {
            if json {
                let v: Vec<_> = apps.iter().map(|a| app_json(a, None)).collect();
                println!("{}", serde_json::json!({ "apps": v }));
            } else {
                for a in &apps {
                    println!(
                        "{}  {:<12} {}  [{}]",
                        a.client_id,
                        a.platform_type.as_str(),
                        a.name,
                        grantd_protocol::grant::join(&a.grants)
                    );
                }
            }
        }),
        AppCommand::Show { client_id, json } => grantd
            .get_app(&client_id)
            .await
            .map(|a| print_app(&a, None, json)),
        AppCommand::Update {
            client_id,
            spec,
            json,
        } => grantd
            .update_app(&client_id, spec.into_spec()?)
            .await
            .map(|a| print_app(&a, None, json)),
        AppCommand::Delete { client_id } => grantd
            .delete_app(&client_id)
            .await
            .map(|_| println!("deleted {client_id}")),
        AppCommand::RotateSecret { client_id, json } => grantd
            .rotate_secret(&client_id)
            .await
            .map(|(a, s)| print_app(&a, Some(&s), json)),
        AppCommand::EndSessions { client_id } => match grantd.get_app(&client_id).await {
            Ok(_) => grantd
                .end_sessions(SessionsOf::App(&client_id), "ended by an administrator")
                .await
                .map(|n| println!("ended {n} sessions of app {client_id}")),
            Err(e) => Err(e),
        },
    };
    Ok(result.map(|_| ExitCode::SUCCESS).unwrap_or_else(fail))
}

async fn account(grantd: &Grantd, cmd: AccountCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        AccountCommand::Create { name, json } => match grantd.create_account(&name).await {
            Ok(a) if json => println!("{}", serde_json::to_string(&a)?),
            Ok(a) => println!("{} {}", a.id, a.name),
            Err(e) => return Ok(fail(e)),
        },
        AccountCommand::List { json } => {
            let accounts = grantd.store.list_accounts().await.map_err(OAuthError::from);
            match accounts {
                Ok(a) if json => println!("{}", serde_json::json!({ "accounts": a })),
                Ok(a) => a.iter().for_each(|a| println!("{} {}", a.id, a.name)),
                Err(e) => return Ok(fail(e)),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn user(grantd: &Grantd, cmd: UserCommand) -> anyhow::Result<ExitCode> {
    let result = match cmd {
        UserCommand::Create {
            email,
            phone,
            extension,
            name,
            role,
            account_id,
            password_stdin,
            json,
        } => {
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .context("cannot read the password from standard input")?;
                Some(grantd_protocol::Secret::new(
                    line.trim_end_matches(['\r', '\n']),
                ))
            } else {
                None
            };
            let spec = UserSpec {
                account_id,
                email,
                phone,
                extension_number: extension,
                name: Some(name),
                role,
                password,
            };
            grantd.create_user(spec).await.map(|u| {
                if json {
                    println!("{}", serde_json::to_string(&u).unwrap_or_default());
                } else {
                    println!(
                        "{} {} ({})",
                        u.id,
                        u.name,
                        u.email.as_deref().or(u.phone.as_deref()).unwrap_or("")
                    );
                }
            })
        }
        UserCommand::List { account_id, json } => grantd
            .store
            .list_users(account_id.as_deref())
            .await
            .map_err(OAuthError::from)
            .map(|users| {
                if json {
                    println!("{}", serde_json::json!({ "users": users }));
                } else {
                    for u in users {
                        println!(
                            "{}  {:<9} {:<8} {}  {}",
                            u.id,
                            u.status.as_str(),
                            u.role.as_str(),
                            u.name,
                            u.email.as_deref().or(u.phone.as_deref()).unwrap_or("")
                        );
                    }
                }
            }),
        UserCommand::Disable { id } => grantd
            .set_user_status(&id, UserStatus::Disabled)
            .await
            .map(|u| println!("disabled {}", u.id)),
        UserCommand::Enable { id } => grantd
            .set_user_status(&id, UserStatus::Enabled)
            .await
            .map(|u| println!("enabled {}", u.id)),
        UserCommand::SetPassword { id } => {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .context("cannot read the password from standard input")?;
            let password = grantd_protocol::Secret::new(line.trim_end_matches(['\r', '\n']));
            grantd
                .set_password(&id, password)
                .await
                .map(|n| println!("password of user {id} changed; {n} sessions ended"))
        }
        UserCommand::EndSessions { id } => match grantd.get_user(&id).await {
            Ok(_) => grantd
                .end_sessions(SessionsOf::User(&id), "ended by an administrator")
                .await
                .map(|n| println!("ended {n} sessions of user {id}")),
            Err(e) => Err(e),
        },
    };
    Ok(result.map(|_| ExitCode::SUCCESS).unwrap_or_else(fail))
}

async fn jwt(grantd: &Grantd, cmd: JwtCommand) -> anyhow::Result<ExitCode> {
    let result = match cmd {
        JwtCommand::Create {
            user,
            apps,
            expires,
            label,
            json,
        } => {
            let spec = CredentialSpec {
                label,
                apps: (!apps.is_empty()).then_some(apps),
                expires_in: expires.as_deref().map(parse_duration).transpose()?,
            };
            grantd.create_credential(&user, spec).await.map(|c| {
                if json {
                    println!("{}", serde_json::to_string(&c).unwrap_or_default());
                } else {
                    println!("{}", c.jwt);
                    eprintln!(
                        "JWT credential {} for user {} (shown once; grantd keeps no copy)",
                        c.credential.id, c.credential.user_id
                    );
                }
            })
        }
        JwtCommand::List { user, json } => match grantd.store.list_jwt_credentials(&user).await {
            Ok(list) if json => {
                println!("{}", serde_json::json!({ "jwt_credentials": list }));
                Ok(())
            }
            Ok(list) => {
                for c in list {
                    let state = if c.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    };
                    println!(
                        "{}  {:<7} {}  apps: {}",
                        c.id,
                        state,
                        c.label,
                        c.allowed_apps
                            .map(|a| a.join(","))
                            .unwrap_or_else(|| "all of the account".into())
                    );
                }
                Ok(())
            }
            Err(e) => Err(OAuthError::from(e)),
        },
        JwtCommand::Revoke { id } => grantd
            .revoke_credential(&id)
            .await
            .map(|_| println!("revoked {id}")),
    };
    Ok(result.map(|_| ExitCode::SUCCESS).unwrap_or_else(fail))
}

async fn registration_token(
    grantd: &Grantd,
    cmd: RegistrationTokenCommand,
) -> anyhow::Result<ExitCode> {
    use grantd_core::registration::{registration_token_json, RegistrationTokenSpec};
    let result = match cmd {
        RegistrationTokenCommand::Create {
            label,
            expires,
            max_uses,
            json,
        } => {
            let expires_in = expires
                .as_deref()
                .map(parse_duration)
                .transpose()?
                .map(|e| i64::try_from(e).unwrap_or(i64::MAX));
            let spec = RegistrationTokenSpec {
                label,
                expires_in,
                max_uses,
            };
            grantd
                .create_registration_token(spec)
                .await
                .map(|(token, secret)| {
                    if json {
                        let mut body = registration_token_json(&token);
                        body["token"] = serde_json::json!(secret.expose());
                        println!("{body}");
                    } else {
                        println!("{}", secret.expose());
                        eprintln!(
                            "initial access token {} '{}' (shown once; grantd keeps only its hash)",
                            token.id, token.label
                        );
                    }
                })
        }
        RegistrationTokenCommand::List { json } => {
            grantd.list_registration_tokens().await.map(|list| {
                if json {
                    let list: Vec<_> = list.iter().map(registration_token_json).collect();
                    println!("{}", serde_json::json!({ "registration_tokens": list }));
                    return;
                }
                let now = grantd.now();
                for t in list {
                    let state = if t.revoked_at.is_some() {
                        "revoked"
                    } else if t.expires_at.is_some_and(|e| e <= now) {
                        "expired"
                    } else if t.max_uses.is_some_and(|m| t.uses >= m) {
                        "used up"
                    } else {
                        "live"
                    };
                    let uses = match t.max_uses {
                        Some(m) => format!("{}/{m}", t.uses),
                        None => t.uses.to_string(),
                    };
                    println!("{}  {:<7} uses {:<7} {}", t.id, state, uses, t.label);
                }
            })
        }
        RegistrationTokenCommand::Revoke { id } => grantd
            .revoke_registration_token(&id)
            .await
            .map(|_| println!("revoked {id}")),
    };
    Ok(result.map(|_| ExitCode::SUCCESS).unwrap_or_else(fail))
}

async fn audit(grantd: &Grantd, cmd: AuditCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        AuditCommand::Verify { json } => {
            let checked = grantd
                .verify_audit()
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            match checked {
                Ok(n) => {
                    if json {
                        println!("{}", serde_json::json!({"intact": true, "entries": n}));
                    } else {
                        println!(
                            "audit log intact: {n} entries, each chained to the one before it"
                        );
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(b) => {
                    if json {
                        println!(
                            "{}",
                            serde_json::json!({"intact": false, "seq": b.seq, "why": b.why})
                        );
                    } else {
                        eprintln!("audit log broken at entry {}: {}", b.seq, b.why);
                    }
                    Ok(ExitCode::from(1))
                }
            }
        }
        AuditCommand::List { after, limit, json } => {
            let entries = grantd
                .store
                .list_audit(after, limit)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if json {
                println!("{}", serde_json::json!({"entries": entries}));
            } else {
                for e in entries {
                    println!(
                        "{:>6}  {}  {:<20} actor={} subject={} source={} {}",
                        e.seq,
                        grantd_core::crypto::rfc3339(e.at),
                        e.kind,
                        e.actor,
                        e.subject,
                        if e.source.is_empty() { "-" } else { &e.source },
                        e.detail
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn keys(grantd: &Grantd, cmd: KeysCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        KeysCommand::Rotate { alg } => {
            let alg = match alg {
                Some(a) => SigningAlg::parse(&a)
                    .with_context(|| format!("'{a}' is not ES256, EdDSA or RS256"))?,
                None => grantd.keys.active_alg(),
            };
            let kid = grantd
                .keys
                .rotate(&*grantd.store, alg, grantd.now())
                .await?;
            grantd
                .audit(
                    grantd_core::audit::kind::KEY_ROTATED,
                    "admin",
                    &kid,
                    "cli",
                    serde_json::json!({"alg": alg.as_str()}),
                )
                .await;
            println!(
                "new signing key {kid} ({}): published in JWKS now (running servers within a minute), signing from 5 minutes on; older keys stay published",
                alg.as_str()
            );
        }
        KeysCommand::Revoke { kid } => {
            let replacement = grantd
                .keys
                .revoke(&*grantd.store, &kid, grantd.now())
                .await?;
            grantd
                .audit(
                    grantd_core::audit::kind::KEY_REVOKED,
                    "admin",
                    &kid,
                    "cli",
                    serde_json::json!({"replacement": replacement}),
                )
                .await;
            println!("revoked signing key {kid}: it is out of the JWKS, and tokens, ID tokens and JWT credentials it signed no longer verify (SQLite: running servers within a minute; PostgreSQL: every node at once)");
            if let Some(new) = replacement {
                println!("new signing key {new} signs from now on");
            }
        }
        KeysCommand::List => println!("{}", serde_json::to_string_pretty(&*grantd.keys.jwks())?),
    }
    Ok(ExitCode::SUCCESS)
}

/// Request ids are what `X-Request-Id` carries: catalog codes are told apart
/// first, and what is shaped like one (`ABC-123`) is a mistyped code.
fn looks_like_request_id(s: &str) -> bool {
    let code_shaped = s.split_once('-').is_some_and(|(a, b)| {
        (2..=4).contains(&a.len())
            && a.bytes().all(|c| c.is_ascii_alphabetic())
            && (1..=4).contains(&b.len())
            && b.bytes().all(|c| c.is_ascii_digit())
    });
    !code_shaped
        && !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        && s.contains(|c: char| c.is_ascii_digit())
}

/// A rejected request by its request id: from a running server's admin API
/// (`--server`), else from the store of the data directory.
async fn explain_request(
    store: &StoreArgs,
    id: &str,
    json: bool,
    server: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let (rejection, issuer) = match server {
        Some(base) => {
            let token = std::env::var("GRANTD_ADMIN_TOKEN").unwrap_or_default();
            if token.is_empty() {
                anyhow::bail!("--server needs the admin token in GRANTD_ADMIN_TOKEN");
            }
            let base = base.trim_end_matches('/');
            let url = format!("{base}/admin/v1/rejections/{id}");
            let res = reqwest::Client::new()
                .get(&url)
                .bearer_auth(token)
                .send()
                .await
                .with_context(|| format!("cannot reach {base}"))?;
            let status = res.status();
            let body: serde_json::Value = res
                .json()
                .await
                .with_context(|| format!("{url} did not answer JSON"))?;
            if !status.is_success() {
                eprintln!(
                    "{}: {}",
                    body["errors"][0]["errorCode"].as_str().unwrap_or("error"),
                    body["error_description"].as_str().unwrap_or("")
                );
                return Ok(ExitCode::from(2));
            }
            let r: grantd_core::rejections::Rejection = serde_json::from_value(body)
                .with_context(|| format!("{url} answered an unexpected shape"))?;
            (r, base.to_string())
        }
        None => {
            let grantd = open(store).await?;
            match grantd.rejection(id).await {
                Ok(r) => (r, grantd.config.issuer.clone()),
                Err(e) => return Ok(fail(e)),
            }
        }
    };
    if json {
        println!(
            "{}",
            grantd_server::admin::rejection_json(&issuer, &rejection)
        );
    } else {
        print!("{}", rejection.explain(&issuer));
    }
    Ok(ExitCode::SUCCESS)
}

fn explain(code: &str, json: bool) -> ExitCode {
    let Some(c) = Code::find(code) else {
        eprintln!("'{code}' is not a grantd error code. The codes are listed at /docs/errors, or:");
        for c in Code::ALL {
            eprintln!("  {}  {}", c.entry().code, c.entry().message);
        }
        return ExitCode::from(2);
    };
    let e = c.entry();
    if json {
        println!(
            "{}",
            serde_json::json!({"code": e.code, "error": e.error.as_str(), "status": e.status, "message": e.message, "explanation": e.explanation, "fix": e.fix})
        );
    } else {
        println!("{} — {}", e.code, e.message);
        println!("HTTP {}, error \"{}\"", e.status, e.error);
        println!();
        println!("What it means:\n  {}", e.explanation);
        println!();
        println!("How to fix it:\n  {}", e.fix);
    }
    ExitCode::SUCCESS
}

/// The whole catalog as Markdown (docs/errors.md is this output).
pub fn catalog_markdown() -> String {
    let mut out = String::from(
        "# Error codes\n\nGenerated by `grantd explain --markdown`; do not edit by hand. Each code is also served at `/docs/errors/{code}` and printed by `grantd explain CODE`.\n\n| code | HTTP | error | message |\n|---|---|---|---|\n",
    );
    for c in Code::ALL {
        let e = c.entry();
        out.push_str(&format!(
            "| [{}](#{}) | {} | `{}` | {} |\n",
            e.code,
            e.code.to_ascii_lowercase(),
            e.status,
            e.error,
            e.message
        ));
    }
    for c in Code::ALL {
        let e = c.entry();
        out.push_str(&format!(
            "\n## {}\n\n**{}** — HTTP {}, `error: {}`\n\n{}\n\n**Fix:** {}\n",
            e.code, e.message, e.status, e.error, e.explanation, e.fix
        ));
    }
    out
}
