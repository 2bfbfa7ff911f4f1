//! A real `renditiond serve` on a free loopback port, and an HTTP client for it.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The signing key test servers use unless told otherwise.
pub const KEY: &str = "test-signing-key-0123456789";

/// A running server, killed when dropped.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    logs: Arc<Mutex<Vec<Value>>>,
    agent: ureq::Agent,
}

/// A response, fully read.
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Headers, names in lower case.
    pub headers: HashMap<String, String>,
    /// Body.
    pub body: Vec<u8>,
}

impl Reply {
    /// A header's value, or "".
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Server {
    /// Starts `renditiond serve` with only these settings of renditiond and
    /// the object stores (`RENDITIOND_*`, `AWS_*`, `GOOGLE_*`, `AZURE_*`, …) (plus a free port, JSON logs and [`KEY`] unless given) and
    /// waits until it listens.
    pub fn start(settings: &[(&str, &str)]) -> Self {
        Self::try_start(settings).unwrap_or_else(|e| panic!("server did not start: {e}"))
    }

    /// As [`Server::start`], returning the error output when it fails to start.
    pub fn try_start(settings: &[(&str, &str)]) -> Result<Self, String> {
        let mut command = Command::new(env!("CARGO_BIN_EXE_renditiond"));
        command.arg("serve").current_dir(crate::support::root());
        for (name, _) in std::env::vars() {
            if ["RENDITIOND_", "AWS_", "GOOGLE_", "AZURE_", "AZURITE_"]
                .iter()
                .any(|prefix| name.starts_with(prefix))
            {
                command.env_remove(name);
            }
        }
        command
            .env("RENDITIOND_LISTEN", "127.0.0.1:0")
            .env("RENDITIOND_LOG_FORMAT", "json")
            .env("RENDITIOND_SIGNING_KEYS", KEY)
            .env("RUST_LOG", "info");
        for (name, value) in settings {
            command.env(name, value);
        }
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (address_tx, address_rx) = mpsc::channel();
        let (sink, raw) = (logs.clone(), Arc::new(Mutex::new(String::new())));
        let raw_lines = raw.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                raw_lines.lock().expect("log lock").push_str(&format!("{line}\n"));
                let Ok(value) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                if value["message"] == "listening" {
                    let _ = address_tx.send(value["address"].as_str().unwrap_or_default().to_owned());
                }
                sink.lock().expect("log lock").push(value);
            }
        });
        let address = match address_rx.recv_timeout(Duration::from_secs(20)) {
            Ok(address) => address,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                std::thread::sleep(Duration::from_millis(100));
                return Err(raw.lock().expect("log lock").clone());
            }
        };
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        Ok(Self {
            child,
            base: format!("http://{address}"),
            logs,
            agent,
        })
    }

    /// `GET path` with extra headers.
    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = self.agent.get(format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        reply(request.call())
    }

    /// `http://ADDRESS` of the listener that serves only `/metrics`, when
    /// there is one (it is logged before the main listener's address).
    pub fn metrics_base(&self) -> Option<String> {
        self.logs()
            .iter()
            .find(|l| l["message"] == "metrics listening")
            .and_then(|l| Some(format!("http://{}", l["address"].as_str()?)))
    }

    /// `GET url`, a whole URL (another listener's).
    pub fn get_url(&self, url: &str) -> Reply {
        reply(self.agent.get(url).call())
    }

    /// `GET path`, waiting up to `limit` for the answer.
    pub fn get_within(&self, path: &str, limit: Duration) -> Reply {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(limit))
            .build()
            .into();
        reply(agent.get(format!("{}{path}", self.base)).call())
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Reply {
        self.get_with(path, &[])
    }

    /// `POST path` with a body and extra headers.
    pub fn post(&self, path: &str, body: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = self.agent.post(format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        reply(request.send(body))
    }

    /// `HEAD path`.
    pub fn head(&self, path: &str) -> Reply {
        self.head_with(path, &[])
    }

    /// `HEAD path` with extra headers.
    pub fn head_with(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = self.agent.head(format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        reply(request.call())
    }

    /// The sum of a metric's samples whose line starts with `prefix`
    /// (a name, optionally with the start of its labels).
    pub fn metric(&self, prefix: &str) -> f64 {
        let text = self.get("/metrics").text();
        text.lines()
            .filter(|l| l.starts_with(prefix) && !l.starts_with('#'))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// How many renders the server ran.
    pub fn renders(&self) -> f64 {
        self.metric("renditiond_render_duration_seconds_count")
    }

    /// The first JSON log line `matches` takes, waiting up to five seconds
    /// for it: log lines arrive through a pipe, after the answer.
    pub fn log_line(&self, matches: impl Fn(&Value) -> bool) -> Option<Value> {
        for _ in 0..100 {
            if let Some(line) = self.logs().into_iter().find(|l| matches(l)) {
                return Some(line);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// The JSON log lines so far.
    pub fn logs(&self) -> Vec<Value> {
        self.logs.lock().expect("log lock").clone()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process to exit, at most `limit`.
    pub fn wait(&mut self, limit: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn reply(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
    let mut response = result.unwrap_or_else(|e| panic!("request failed: {e}"));
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    let body = response
        .body_mut()
        .with_config()
        .limit(256 << 20)
        .read_to_vec()
        .unwrap_or_default();
    Reply {
        status: response.status().as_u16(),
        headers,
        body,
    }
}

/// The signed path of `spec` and `key` with `secret`, as `renditiond sign` prints it.
pub fn signed(secret: &str, spec: &str, key: &str) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_renditiond"))
        .args(["sign", key, spec])
        .env("RENDITIOND_SIGNING_KEYS", secret)
        .output()
        .expect("renditiond sign runs");
    assert!(
        output.status.success(),
        "sign failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// The signed path of `spec` and `key` with [`KEY`], from the library (which
/// signs keys `sign` would refuse, for the confinement tests).
pub fn path(spec: &str, key: &str) -> String {
    renditiond::signature::Signer::new(vec![KEY.as_bytes().to_vec()], false).signed_path(spec, key)
}
