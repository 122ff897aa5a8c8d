//! Opening the store and keys, and `grantd serve`.

use crate::config::{redact_url, Settings};
use anyhow::{bail, Context};
use grantd_core::clock::SystemClock;
use grantd_core::crypto::Kek;
use grantd_core::model::SigningAlg;
use grantd_core::{CoreConfig, FirstStart, Grantd};
use sqlx::sqlite::SqliteConnectOptions;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// Opens grantd's state: data directory, master key, store, keys.
/// Whose issuer to use: the server's own (and remember it), or, for the
/// CLI, the configured one or else the one the server last ran with, so
/// that credentials the CLI issues name the server's issuer.
pub enum Issuer {
    Serve(String),
    Cli(Option<String>),
}

const SETTING_ISSUER: &str = "issuer";

pub async fn open(
    settings: &Settings,
    issuer: Issuer,
) -> anyhow::Result<(Arc<Grantd>, FirstStart)> {
    create_private_dir(&settings.data_dir)?;
    let kek = match &settings.master_key {
        Some(k) => Kek::parse(k).context("GRANTD_MASTER_KEY is not usable")?,
        None => master_key_file(&settings.data_dir.join("master.key"))?,
    };
    private_database_files(&settings.database_url)?;
    let store = grantd_store::open::open(&settings.database_url)
        .await
        .with_context(|| {
            format!(
                "cannot open the database {}",
                redact_url(&settings.database_url)
            )
        })?;
    let store = grantd_core::timed_store::TimedStore::wrap(store);
    // Opening creates -wal and -shm; they take the database file's mode.
    private_database_files(&settings.database_url)?;
    let issuer = match issuer {
        Issuer::Serve(i) => {
            store.put_setting(SETTING_ISSUER, &i).await?;
            i
        }
        Issuer::Cli(Some(i)) => i,
        Issuer::Cli(None) => match store.get_setting(SETTING_ISSUER).await? {
            Some(i) => i,
            None => format!(
                "{}://{}",
                if settings.tls.is_some() {
                    "https"
                } else {
                    "http"
                },
                settings.listen
            ),
        },
    };
    let signing_alg = SigningAlg::parse(&settings.signing_alg).with_context(|| {
        format!(
            "signing algorithm '{}' is not ES256, EdDSA or RS256",
            settings.signing_alg
        )
    })?;
    let config = CoreConfig {
        audience: settings.audience.clone().unwrap_or_else(|| issuer.clone()),
        issuer,
        signing_alg,
        admin_token: settings.admin_token.clone(),
        jwt_leeway: 5,
        policy: settings.policy.clone(),
    };
    let (mut grantd, first) = Grantd::open(store, clock(), kek, config)
        .await
        .context("cannot start")?;
    grantd.set_key_set_fetcher(Arc::new(
        crate::key_fetch::HttpKeySetFetcher::new().context("cannot make the key set client")?,
    ));
    Ok((Arc::new(grantd), first))
}

/// The system clock; in debug builds, tests may move it (see
/// [`grantd_core::clock::FileOffsetClock`]).
fn clock() -> Arc<dyn grantd_core::clock::Clock> {
    #[cfg(debug_assertions)]
    if let Some(path) = std::env::var_os("GRANTD_TEST_CLOCK_FILE") {
        tracing::warn!("test clock: time is moved by the seconds in {path:?}");
        return Arc::new(grantd_core::clock::FileOffsetClock::new(path));
    }
    Arc::new(SystemClock)
}

/// Creates the data directory with mode 0700, or makes an existing one
/// private (with a warning: its files may have been read).
fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    if !dir.exists() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder
            .create(dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
    }
    make_private(dir, 0o700)
}

/// Makes the SQLite database's files private (0600). A missing database file
/// is created empty with that mode before SQLite opens it, because SQLite
/// gives the -wal and -shm files the mode of the database file.
fn private_database_files(database_url: &str) -> anyhow::Result<()> {
    if database_url.contains(":memory:")
        || database_url.contains("mode=memory")
        || grantd_store::open::Backend::of(database_url) == grantd_store::open::Backend::Postgres
    {
        return Ok(());
    }
    let options = SqliteConnectOptions::from_str(database_url)
        .with_context(|| format!("invalid database URL {}", redact_url(database_url)))?;
    let db = options.get_filename().to_path_buf();
    let parent_exists = db
        .parent()
        .is_none_or(|p| p.as_os_str().is_empty() || p.is_dir());
    if !db.exists() && parent_exists {
        let mut create = std::fs::OpenOptions::new();
        create.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            create.mode(0o600);
        }
        match create.open(&db) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).with_context(|| format!("cannot create {}", db.display())),
        }
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut name = db.clone().into_os_string();
        name.push(suffix);
        let path = std::path::PathBuf::from(name);
        if path.exists() {
            make_private(&path, 0o600)?;
        }
    }
    Ok(())
}

/// Removes group and other permissions from `path` (setting `mode`), warning
/// when there were any.
fn make_private(path: &Path, mode: u32) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let current = std::fs::metadata(path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .permissions()
            .mode()
            & 0o777;
        if current & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                .with_context(|| format!("cannot restrict {}", path.display()))?;
            let message = format!(
                "{} was accessible to other users (mode {current:o}); changed it to {mode:o}. Check who could read it",
                path.display()
            );
            // The CLI commands have no log; they say it on stderr.
            if tracing::dispatcher::has_been_set() {
                tracing::warn!("{message}");
            } else {
                eprintln!("warning: {message}");
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

/// Reads the key-encryption key file, creating it (mode 0600) on first start.
fn master_key_file(path: &Path) -> anyhow::Result<Kek> {
    if path.exists() {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                bail!(
                    "{} is readable by other users (mode {mode:o}); run chmod 600 on it",
                    path.display()
                );
            }
        }
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        return Kek::parse(&text)
            .with_context(|| format!("{} is not a master key", path.display()));
    }
    let encoded = Kek::generate_encoded();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    use std::io::Write;
    let mut f = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(encoded.as_bytes())?;
    f.sync_all()?;
    Ok(Kek::parse(&encoded)?)
}

pub fn print_first_start(first: &FirstStart) {
    if let Some(token) = &first.admin_token {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "Admin token (shown once; store it now): {token}\n  Use it as: Authorization: Bearer <token> on /admin/v1, or set GRANTD_ADMIN_TOKEN to choose your own (at least 32 bytes: openssl rand -base64 32)."
        );
    }
}

pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let telemetry =
        crate::telemetry::init(&settings.log_format, settings.otlp_endpoint.as_deref())?;
    // A certificate that cannot serve stops the start, naming the file.
    let tls = match settings.tls.clone() {
        Some(files) => Some(Arc::new(grantd_server::tls::Tls::load(files)?)),
        None => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let listener = tokio::net::TcpListener::bind(&settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let addr = listener.local_addr()?;
    let issuer = settings
        .issuer
        .clone()
        .unwrap_or_else(|| format!("{scheme}://{addr}"));
    let (grantd, first) = open(&settings, Issuer::Serve(issuer.clone())).await?;
    print_first_start(&first);
    spawn_housekeeping(grantd.clone());
    tokio::spawn(grantd.clone().follow_changes());
    // Back-channel logouts: pending deliveries (a restart's too) are sent
    // and retried in the background, never on a user's request.
    grantd_core::logout::spawn_delivery(
        grantd.clone(),
        Arc::new(
            crate::logout_send::HttpLogoutSender::new()
                .context("cannot make the back-channel logout client")?,
        ),
    );
    let state = grantd_server::AppState::new(
        grantd.clone(),
        grantd_server::EdgeSettings {
            auth_failure_limit: settings.auth_failure_limit,
            rate_limits: settings.rate_limits,
            trusted_proxies: settings.trusted_proxies.clone(),
            body_read_timeout: settings.body_read_timeout,
            cors_allowed_origins: settings.cors_allowed_origins.clone(),
            ws_uri: settings.ws_uri.clone(),
            hsts: tls.is_some(),
        },
    );
    state.record_rejections();
    state.record_usage();
    if state.share_counters() {
        tracing::info!("request counters are shared with the other nodes through the database");
    }
    if !settings.rate_limits.is_off() {
        tracing::info!(quotas = %settings.rate_limits, "rate-limit group quotas on");
    }
    let usage = (state.usage.clone(), state.grantd.store.clone());
    let app = grantd_server::router(state);
    if let Some(admin) = &settings.admin_listen {
        serve_metrics(admin, settings.connections.clone()).await?;
        spawn_active_sessions(grantd);
    }
    if !settings.trusted_proxies.is_empty() {
        tracing::info!(proxies = ?settings.trusted_proxies, "trusting forwarding headers from these peers");
    }
    // A closed stdout must not stop the server, so write errors are ignored.
    let banner = format!(
        "grantd listening on {scheme}://{addr}\n  issuer:    {issuer}\n  discovery: {issuer}/.well-known/oauth-authorization-server\n  errors:    {issuer}/docs/errors\n  console:   {issuer}/console\n  data:      {}\n",
        redact_url(&settings.database_url)
    );
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(banner.as_bytes());
        let _ = out.flush();
    }
    match tls {
        Some(tls) => {
            tracing::info!(
                cert = %tls.files.cert.display(),
                not_after = %tls.not_after,
                "serving TLS (HTTP/2 and HTTP/1.1); the certificate and key are reloaded when their files change"
            );
            tokio::spawn(tls.clone().watch(grantd_server::tls::RELOAD_EVERY));
            grantd_server::listen::serve_tls(
                listener,
                app,
                settings.connections.clone(),
                tls.config.clone(),
                shutdown_signal(),
            )
            .await
        }
        None => {
            grantd_server::listen::serve(
                listener,
                app,
                settings.connections.clone(),
                shutdown_signal(),
            )
            .await
        }
    };
    // The token counts since the last flush, so a clean stop loses none.
    usage.0.flush(&*usage.1).await;
    tracing::info!("stopped");
    telemetry.shutdown().await;
    Ok(())
}

/// The `grantd_active_sessions` gauge: sessions not ended, counted by the
/// store every 15 seconds.
fn spawn_active_sessions(grantd: Arc<Grantd>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(15));
        loop {
            tick.tick().await;
            match grantd.store.count_active_sessions().await {
                Ok(n) => grantd_server::metrics::active_sessions(n),
                Err(e) => tracing::warn!(error = %e, "counting active sessions failed"),
            }
        }
    });
}

/// The admin listener: Prometheus `/metrics`, apart from the public port.
/// The recorder is installed only here, so without it nothing is counted.
async fn serve_metrics(
    addr: &str,
    limits: grantd_server::listen::ConnectionLimits,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (admin listener)"))?;
    let bound = listener.local_addr()?;
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets(&[
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
        ])
        .context("metrics buckets")?
        .install_recorder()
        .context("cannot install the metrics recorder")?;
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            upkeep.run_upkeep();
        }
    });
    let app = grantd_server::metrics::admin_router(std::sync::Arc::new(move || handle.render()));
    tokio::spawn(grantd_server::listen::serve(
        listener,
        app,
        limits,
        shutdown_signal(),
    ));
    {
        use std::io::Write;
        let _ = writeln!(
            std::io::stdout(),
            "grantd metrics on http://{bound}/metrics"
        );
    }
    Ok(())
}

/// Periodic work: purge expired tokens, pick up keys rotated elsewhere (at
/// once through the store's change feed where it has one; this is the
/// fallback).
fn spawn_housekeeping(grantd: Arc<Grantd>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        let mut n: u64 = 0;
        loop {
            tick.tick().await;
            n += 1;
            if let Err(e) = grantd.keys.reload(&*grantd.store).await {
                tracing::warn!(error = %e, "key reload failed");
            }
            // The CLI's app changes on SQLite reach the CORS index here.
            grantd.refresh_origins().await;
            if n.is_multiple_of(10) {
                match grantd.purge_expired().await {
                    Ok(count) if count > 0 => tracing::info!(count, "purged expired tokens"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "purge failed"),
                }
            }
        }
    });
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
