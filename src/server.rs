//! `renditiond serve`: logging, the listener, the actix-web server, and the
//! graceful shutdown on SIGTERM or Ctrl-C (unready first, then drain).

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use thiserror::Error;
use tracing_subscriber::EnvFilter;

use crate::config::{Config, LogFormat};
use crate::http::middleware::observe;
use crate::signature::Signer;
use crate::state::AppState;
use crate::store::Location;

/// The test image the example URL names, when the originals hold it.
const EXAMPLE_IMAGE: &str = "photo-baseline.jpg";
/// The spec of the example URL.
const EXAMPLE_SPEC: &str = "fill-300x200|format-webp";
/// How long a connection may idle, or take to send its request head.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the server could not start or stopped with an error.
#[derive(Debug, Error)]
pub enum ServeError {
    /// A store could not be opened.
    #[error("{0}: {1}")]
    Store(&'static str, String),
    /// An address could not be listened on.
    #[error("{0}: cannot listen on {1}: {2}")]
    Listen(&'static str, SocketAddr, std::io::Error),
    /// The listener or the runtime failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Installs the log subscriber (level from `RUST_LOG`, default `info`).
pub fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let _ = match format {
        LogFormat::Text => builder.with_target(false).try_init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(false).try_init(),
    };
}

/// Runs the server until it is told to stop.
pub fn serve(config: Config) -> Result<(), ServeError> {
    actix_web::rt::System::new().block_on(run(config))
}

async fn run(config: Config) -> Result<(), ServeError> {
    let generated = config.signing_keys.is_empty();
    let keys = if generated {
        vec![random_key()?]
    } else {
        config.signing_keys.clone()
    };
    let state = AppState::build(&config, keys).map_err(|(var, e)| ServeError::Store(var, e))?;
    let state = web::Data::new(state);

    let listener = bind("RENDITIOND_LISTEN", config.listen)?;
    let metrics_listener = config
        .metrics_listen
        .map(|address| bind("RENDITIOND_METRICS_LISTEN", address))
        .transpose()?;
    if let Some(metrics_listener) = &metrics_listener {
        let address = metrics_listener.local_addr()?;
        tracing::info!(%address, "metrics listening");
    }
    let address = listener.local_addr()?;
    tracing::info!(%address, action = ?config.action, workers = config.workers, "listening");
    if generated {
        tracing::warn!("RENDITIOND_SIGNING_KEYS is not set: URLs are signed with a random key valid for this run only");
        if let Some(url) = example_url(&config, &state.signer, &address.to_string()) {
            tracing::info!(%url, "example rendition");
            println!("Example rendition: {url}");
        }
    }
    if config.allow_unsigned {
        tracing::warn!("RENDITIOND_ALLOW_UNSIGNED is on: /r/unsigned/… URLs are served without a signature");
    }

    let routes: fn(&mut web::ServiceConfig) = if metrics_listener.is_some() {
        crate::http::configure_without_metrics
    } else {
        crate::http::configure
    };
    let server = http_server(&state, routes, listener, config.shutdown_timeout, None)?;
    // The metrics listener shares the state (so the metrics) and is observed
    // like the main one; one worker is plenty for scrapes.
    let metrics_server = metrics_listener
        .map(|listener| {
            http_server(
                &state,
                crate::http::configure_metrics,
                listener,
                config.shutdown_timeout,
                Some(1),
            )
        })
        .transpose()?;

    let handle = server.handle();
    let metrics_handle = metrics_server.as_ref().map(actix_web::dev::Server::handle);
    let delay = config.shutdown_delay;
    actix_web::rt::spawn(async move {
        wait_for_signal().await;
        state.begin_shutdown();
        tracing::info!(delay_seconds = delay.as_secs_f64(), "shutting down: not ready any more");
        tokio::time::sleep(delay).await;
        // Metrics stay scrapable while the main listener drains.
        handle.stop(true).await;
        if let Some(metrics_handle) = metrics_handle {
            metrics_handle.stop(true).await;
        }
    });
    match metrics_server {
        Some(metrics_server) => {
            futures_util::future::try_join(server, metrics_server).await?;
        }
        None => server.await?,
    }
    tracing::info!("stopped");
    Ok(())
}

/// Binds `address`, the value of the setting `var`.
fn bind(var: &'static str, address: SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(address).map_err(|e| ServeError::Listen(var, address, e))
}

/// An actix-web server of `routes` on `listener`, observed (logs and request
/// metrics), with bounded connection times; `workers` defaults to the cores.
fn http_server(
    state: &web::Data<AppState>,
    routes: fn(&mut web::ServiceConfig),
    listener: TcpListener,
    shutdown_timeout: Duration,
    workers: Option<usize>,
) -> Result<actix_web::dev::Server, ServeError> {
    let data = state.clone();
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .wrap(from_fn(observe))
            .configure(routes)
    })
    .disable_signals()
    // Idle and slow connections never hold a drain for long: a request head
    // must arrive within 5 s, an idle keep-alive connection is closed after
    // 5 s, and a client that does not read its answer after 1 s more.
    .client_request_timeout(CLIENT_TIMEOUT)
    .keep_alive(CLIENT_TIMEOUT)
    .client_disconnect_timeout(Duration::from_secs(1))
    .shutdown_timeout(shutdown_timeout.as_secs().max(1));
    if let Some(workers) = workers {
        server = server.workers(workers);
    }
    Ok(server.listen(listener)?.run())
}

/// A random signing key for this run.
fn random_key() -> Result<Vec<u8>, ServeError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| ServeError::Io(std::io::Error::other(e.to_string())))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes).into_bytes())
}

/// A ready-to-use URL of a bundled test image, when the originals are the
/// bundled test images.
fn example_url(config: &Config, signer: &Signer, address: &str) -> Option<String> {
    let Location::Local(folder) = &config.originals else {
        return None;
    };
    folder
        .join(EXAMPLE_IMAGE)
        .is_file()
        .then(|| format!("http://{address}{}", signer.signed_path(EXAMPLE_SPEC, EXAMPLE_IMAGE)))
}

/// Resolves on SIGTERM or Ctrl-C.
async fn wait_for_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = terminate.recv() => {}
                    _ = interrupt => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
