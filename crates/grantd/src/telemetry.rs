//! Logs and traces: the log lines (text or JSON, filtered by `GRANTD_LOG`)
//! and, when an OTLP endpoint is configured, OpenTelemetry traces — each
//! request's span with its checks as span events — exported over OTLP/HTTP
//! (protobuf) as service `grantd`, and flushed at shutdown.

use anyhow::Context;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Holds the trace exporter until shutdown.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports the spans still buffered and stops the exporter.
    pub async fn shutdown(self) {
        let Some(provider) = self.provider else {
            return;
        };
        // The exporter's HTTP client blocks: off the runtime.
        let done = tokio::task::spawn_blocking(move || provider.shutdown()).await;
        if let Ok(Err(e)) = done {
            tracing::warn!(error = %e, "OpenTelemetry: spans not all exported at shutdown");
        }
    }
}

/// Installs the log subscriber, with the OpenTelemetry layer when
/// `otlp_traces_url` is set (the full `/v1/traces` URL).
pub fn init(log_format: &str, otlp_traces_url: Option<&str>) -> anyhow::Result<Telemetry> {
    let filter = EnvFilter::try_from_env("GRANTD_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt = if log_format == "json" {
        fmt.json().with_filter(filter).boxed()
    } else {
        fmt.with_filter(filter).boxed()
    };
    let (otel, provider) = match otlp_traces_url {
        None => (None, None),
        Some(url) => {
            let provider = tracer_provider(url)?;
            let layer = tracing_opentelemetry::layer()
                .with_tracer(provider.tracer("grantd"))
                // grantd's spans and events, and every check of the pipeline.
                .with_filter(
                    Targets::new()
                        .with_default(LevelFilter::INFO)
                        .with_target("grantd::check", LevelFilter::DEBUG),
                );
            (Some(layer), Some(provider))
        }
    };
    tracing_subscriber::registry().with(fmt).with(otel).init();
    if let Some(url) = otlp_traces_url {
        tracing::info!(
            endpoint = url,
            "OpenTelemetry traces exported over OTLP/HTTP"
        );
    }
    Ok(Telemetry { provider })
}

fn tracer_provider(url: &str) -> anyhow::Result<SdkTracerProvider> {
    let url = url.to_string();
    // The blocking HTTP client must not be built on the async runtime.
    std::thread::spawn(move || {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(&url)
            .build()
            .with_context(|| format!("cannot set up the OTLP exporter for {url}"))?;
        let resource = opentelemetry_sdk::Resource::builder()
            .with_service_name("grantd")
            .build();
        Ok(SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource)
            .build())
    })
    .join()
    .map_err(|_| anyhow::anyhow!("the OTLP exporter's set-up panicked"))?
}
