//! `tradecraft serve`: the whole exchange in one process on the embedded default: the file
//! event log and snapshots in the data directory, the engine thread, the market simulator
//! with house liquidity, and the HTTP API.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::json;
use tradecraft::server::{Roles, ServerConfig, database_url, log_url, start};
use tradecraft_market::SimulatorConfig;

/// Partitions per output topic a Kafka deployment creates unless told otherwise.
const KAFKA_PARTITIONS: u32 = 4;

#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// Where the event log and snapshots live.
    #[arg(long, env = "TRADECRAFT_DATA_DIR", default_value = "data")]
    data_dir: PathBuf,
    /// Address to listen on.
    #[arg(long, env = "TRADECRAFT_ADDRESS", default_value = "127.0.0.1:8080")]
    address: SocketAddr,
    /// Market universe as JSON (see `SimulatorConfig`); the built-in 20 symbols otherwise.
    #[arg(long, env = "TRADECRAFT_MARKET_CONFIG")]
    market_config: Option<PathBuf>,
    /// When the market trades: `24/7` (the market file's, by default around the clock),
    /// e.g. `mon-fri 14:30-21:00` (UTC), or `nyse` (the New York Stock Exchange's hours,
    /// holidays and early closes); symbols may have their own in the market file.
    /// DAY orders expire at each session's close; OPG and CLS orders trade at its edges.
    #[arg(long, env = "TRADECRAFT_SESSION")]
    session: Option<String>,
    /// Do not run the price simulator and house quotes.
    #[arg(long, env = "TRADECRAFT_NO_SIMULATOR")]
    no_simulator: bool,
    /// Read store: `postgres://user@host/db` for PostgreSQL; SQLite in the data dir
    /// (`read.db`) when absent.
    #[arg(long, env = "TRADECRAFT_DATABASE_URL")]
    database_url: Option<String>,
    /// Event log: `file:PATH` (the segmented file journal, in the data dir's `log` when
    /// absent), `memory:`, or `kafka://HOST:PORT[,HOST:PORT][?prefix=NAME.]` (Apache Kafka).
    #[arg(long, env = "TRADECRAFT_LOG")]
    log: Option<String>,
    /// The secret that signs access tokens (32 bytes or more; every gateway of a deployment
    /// needs the same); `auth.key` in the data dir when absent.
    #[arg(long, env = "TRADECRAFT_JWT_SECRET", hide_env_values = true)]
    jwt_secret: Option<String>,
    /// A file of `TRADECRAFT_NAME=value` lines (`#` comments): settings below the
    /// environment and the flags, above the defaults.
    #[arg(long, env = "TRADECRAFT_CONFIG")]
    config: Option<PathBuf>,
    /// The operator's admin key (send it as `X-API-Key`); no operator key when absent.
    #[arg(long, env = "TRADECRAFT_ADMIN_KEY", hide_env_values = true)]
    admin_key: Option<String>,
    /// Requests per second per user or API key (bursts of twice that); 0 for no limit.
    #[arg(long, env = "TRADECRAFT_RATE_LIMIT_PER_USER", default_value_t = 50)]
    rate_limit_per_user: u32,
    /// Requests per second per client IP (bursts of twice that); 0 for no limit.
    #[arg(long, env = "TRADECRAFT_RATE_LIMIT_PER_IP", default_value_t = 200)]
    rate_limit_per_ip: u32,
    /// Burst per user or API key (twice the rate when absent).
    #[arg(long, env = "TRADECRAFT_RATE_LIMIT_BURST_PER_USER")]
    rate_limit_burst_per_user: Option<u32>,
    /// Burst per client IP (twice the rate when absent).
    #[arg(long, env = "TRADECRAFT_RATE_LIMIT_BURST_PER_IP")]
    rate_limit_burst_per_ip: Option<u32>,
    /// Wait before a failed webhook delivery's second attempt, doubled for each one after.
    #[arg(long, env = "TRADECRAFT_WEBHOOK_FIRST_BACKOFF_MS", default_value_t = 1_000)]
    webhook_first_backoff_ms: u32,
    /// Longest wait between two webhook attempts.
    #[arg(long, env = "TRADECRAFT_WEBHOOK_MAX_BACKOFF_MS", default_value_t = 3_600_000)]
    webhook_max_backoff_ms: u32,
    /// Attempts before a webhook delivery is given up.
    #[arg(long, env = "TRADECRAFT_WEBHOOK_MAX_ATTEMPTS", default_value_t = 10)]
    webhook_max_attempts: u32,
    /// How often due webhook deliveries are looked for.
    #[arg(long, env = "TRADECRAFT_WEBHOOK_POLL_MS", default_value_t = 250)]
    webhook_poll_ms: u32,
    /// If the SQLite read store cannot be opened (damaged), move it aside and start a new
    /// one: the trading data is projected again from the event log; users, API keys,
    /// webhooks and the audit trail, which only it held, stay in the file moved aside.
    #[arg(long, env = "TRADECRAFT_RECREATE_READ_STORE")]
    recreate_read_store: bool,
    /// Which hosts users' webhooks may target: `public` (no loopback, private or
    /// link-local addresses, no `localhost` names) or `any` (for receivers on this machine
    /// or network).
    #[arg(long, env = "TRADECRAFT_WEBHOOK_TARGETS", default_value = "public", value_parser = ["public", "any"])]
    webhook_targets: String,
    /// What this process does: any of gateway, engine, projector, ws, market, comma
    /// separated; `all` (the default) is the whole exchange in one process. Separate
    /// processes share a `kafka://` log and a `postgres://` database.
    #[arg(long, env = "TRADECRAFT_ROLES", default_value = "all")]
    roles: String,
    /// Partitions of each output topic when this process creates them (Kafka deployments;
    /// the file journal keeps one).
    #[arg(long, env = "TRADECRAFT_PARTITIONS")]
    partitions: Option<u32>,
    /// The built web app to serve at `/` (`npm run build` in `web/` makes it); `none` to
    /// serve no app.
    #[arg(long, env = "TRADECRAFT_WEB_DIR", default_value = "web/dist")]
    web_dir: String,
    /// The SMTP server notifications are emailed through: `smtp://[user:password@]host[:port]`
    /// (plain SMTP, e.g. a local relay). No email is sent without it.
    #[arg(long, env = "TRADECRAFT_SMTP_URL")]
    smtp_url: Option<String>,
    /// The sender of notification emails.
    #[arg(long, env = "TRADECRAFT_SMTP_FROM", default_value = "TradeCraft <noreply@localhost>")]
    smtp_from: String,
    /// Where users open the web app (`https://trade.example.com`), for the links in emails
    /// (a password reset's). Never taken from a request's Host header, which its sender
    /// chooses.
    #[arg(long, env = "TRADECRAFT_PUBLIC_URL")]
    public_url: Option<String>,
    /// Redis for the multi-process deployment: `redis://HOST:PORT[/DB][?prefix=NAME.]`. The
    /// projector keeps the price cache (`price:{symbol}`) and publishes ticks on
    /// `price_updates`; WebSocket servers push what it publishes.
    #[arg(long, env = "TRADECRAFT_REDIS_URL")]
    redis_url: Option<String>,
    /// Finished order histories each process serving the API keeps in memory (about 300
    /// bytes each, more with fills); older ones are read from the read store when asked for.
    /// Open orders are always kept.
    #[arg(long, env = "TRADECRAFT_ORDERS_KEPT", default_value_t = tradecraft_api::ORDERS_KEPT)]
    orders_kept: usize,
}

impl ServeArgs {
    /// The server's configuration: built-in defaults, the `TRADECRAFT_*` environment and
    /// these flags (clap reads both), and the market file.
    fn config(&self) -> anyhow::Result<ServerConfig> {
        let mut config = ServerConfig::embedded(&self.data_dir);
        config.log_url = log_url(&self.data_dir, self.log.as_deref());
        config.database_url = database_url(&self.data_dir, self.database_url.as_deref());
        config.address = self.address;
        config.market = market_config(self.market_config.as_deref())?;
        if let Some(session) = &self.session {
            config.market.session.clone_from(session);
        }
        config.market.calendar().context("--session or the market file's sessions")?;
        config.simulate_market = !self.no_simulator;
        config.admin_key.clone_from(&self.admin_key);
        if let Some(secret) = &self.jwt_secret {
            anyhow::ensure!(secret.len() >= 32, "the token secret (--jwt-secret, TRADECRAFT_JWT_SECRET) must be at least 32 bytes");
            config.token_secret = Some(secret.clone().into_bytes());
        }
        config.rate_limits = self.rate_limits();
        config.webhooks = tradecraft_api::alerts::WebhookPolicy {
            first_backoff_ms: self.webhook_first_backoff_ms.max(1).into(),
            max_backoff_ms: self.webhook_max_backoff_ms.max(self.webhook_first_backoff_ms).into(),
            max_attempts: self.webhook_max_attempts.max(1),
            poll: std::time::Duration::from_millis(self.webhook_poll_ms.max(1).into()),
            targets: self.webhook_targets(),
            ..tradecraft_api::alerts::WebhookPolicy::default()
        };
        if let Some(url) = &self.public_url {
            let parsed = reqwest::Url::parse(url).map_err(|error| anyhow::anyhow!("--public-url {url}: {error}"))?;
            anyhow::ensure!(matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some(), "--public-url must be an http(s) URL with a host");
        }
        config.email = self.smtp_url.as_ref().map(|url| tradecraft_api::channels::EmailConfig {
            url: url.clone(),
            from: self.smtp_from.clone(),
            public_url: self.public_url.as_ref().map(|url| url.trim_end_matches('/').to_owned()),
        });
        if let Some(email) = &config.email {
            email.transport(config.webhooks.timeout).map_err(|error| anyhow::anyhow!("--smtp-url / --smtp-from: {error}"))?;
        }
        if let Some(url) = &self.redis_url {
            tradecraft::cache::RedisConfig::parse(url).context("--redis-url")?;
            config.redis_url = Some(url.clone());
        }
        anyhow::ensure!(self.orders_kept >= 1, "--orders-kept must be at least 1");
        config.orders_kept = self.orders_kept;
        config.recreate_read_store = self.recreate_read_store;
        config.roles = Roles::parse(&self.roles)?;
        config.web_dir = (self.web_dir != "none").then(|| PathBuf::from(&self.web_dir));
        if let Some(partitions) = self.partitions {
            anyhow::ensure!((1..=256).contains(&partitions), "--partitions must be between 1 and 256");
            config.partitions = partitions;
        } else if config.log_url.starts_with("kafka://") {
            config.partitions = KAFKA_PARTITIONS;
        }
        if !config.roles.eq(&Roles::ALL) && !config.clustered() {
            anyhow::bail!("--roles {} needs a shared log and database: --log kafka://HOST:PORT and --database-url postgres://...", config.roles);
        }
        Ok(config)
    }

    fn webhook_targets(&self) -> tradecraft_api::alerts::WebhookTargets {
        if self.webhook_targets == "any" { tradecraft_api::alerts::WebhookTargets::Any } else { tradecraft_api::alerts::WebhookTargets::Public }
    }

    fn rate_limits(&self) -> Option<tradecraft_api::rate::RateLimits> {
        let unlimited = u32::MAX / 4;
        let rate = |value: u32| if value == 0 { unlimited } else { value };
        (self.rate_limit_per_user > 0 || self.rate_limit_per_ip > 0).then(|| tradecraft_api::rate::RateLimits {
            per_caller_per_s: rate(self.rate_limit_per_user),
            per_caller_burst: self
                .rate_limit_burst_per_user
                .filter(|_| self.rate_limit_per_user > 0)
                .unwrap_or(rate(self.rate_limit_per_user).saturating_mul(2)),
            per_ip_per_s: rate(self.rate_limit_per_ip),
            per_ip_burst: self.rate_limit_burst_per_ip.filter(|_| self.rate_limit_per_ip > 0).unwrap_or(rate(self.rate_limit_per_ip).saturating_mul(2)),
        })
    }
}

pub(crate) fn run(args: ServeArgs) -> anyhow::Result<()> {
    // One JSON object per line on stderr; stdout carries only the "listening" line.
    // Held to the end: dropping it writes out the last lines.
    let _logs = crate::logging::install(std::io::stderr()).context("starting the log writer")?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")?;
    runtime.block_on(serve(args))
}

fn market_config(path: Option<&Path>) -> anyhow::Result<SimulatorConfig> {
    match path {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            SimulatorConfig::from_json(&text).with_context(|| format!("parsing {}", path.display()))
        }
        None => Ok(SimulatorConfig::default_universe()),
    }
}

fn config_roles(args: &ServeArgs) -> String {
    Roles::parse(&args.roles).map(|roles| roles.to_string()).unwrap_or_default()
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let exchange = start(args.config()?).await?;
    #[allow(clippy::print_stdout)] // the binary reports where it listens
    {
        let address = exchange.address().map(|address| address.to_string());
        println!("{}", json!({"event": "listening", "address": address, "roles": config_roles(&args), "dataDir": args.data_dir.display().to_string()}));
    }
    exchange.run(shutdown_signal()).await
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => return interrupt.await.unwrap_or_default(),
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    interrupt.await.unwrap_or_default();
}

/// The command line with a settings file's entries put in: `serve --config FILE` (or
/// `TRADECRAFT_CONFIG`) names a file of `TRADECRAFT_NAME=value` lines; each becomes the flag
/// `--name=value` unless the environment sets `TRADECRAFT_NAME` or the command line gives
/// `--name` (so flags beat the environment, which beats the file, which beats the defaults).
/// `true`/`false` turn a switch on or leave it off.
pub(crate) fn with_config_file(args: Vec<std::ffi::OsString>, environment: impl Fn(&str) -> Option<String>) -> anyhow::Result<Vec<std::ffi::OsString>> {
    let text: Vec<String> = args.iter().map(|arg| arg.to_string_lossy().into_owned()).collect();
    let Some(serve_at) = text.iter().position(|arg| arg == "serve") else { return Ok(args) };
    let named = text.iter().position(|arg| arg == "--config").and_then(|at| text.get(at + 1).cloned());
    let named = named.or_else(|| text.iter().find_map(|arg| arg.strip_prefix("--config=").map(str::to_owned)));
    let Some(path) = named.or_else(|| environment("TRADECRAFT_CONFIG")) else { return Ok(args) };
    let file = std::fs::read_to_string(&path).with_context(|| format!("reading the settings file {path}"))?;
    let mut injected = Vec::new();
    for (number, line) in file.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, value) = line.split_once('=').with_context(|| format!("{path}:{}: not NAME=value", number + 1))?;
        let (name, value) = (name.trim(), value.trim().trim_matches('"'));
        let flag = name
            .strip_prefix("TRADECRAFT_")
            .filter(|rest| !rest.is_empty() && *rest != "CONFIG")
            .with_context(|| format!("{path}:{}: {name} is not a TRADECRAFT_ setting", number + 1))?
            .to_lowercase()
            .replace('_', "-");
        let given = text.iter().any(|arg| *arg == format!("--{flag}") || arg.starts_with(&format!("--{flag}=")));
        if given || environment(name).is_some() {
            continue;
        }
        match value {
            "true" => injected.push(format!("--{flag}")),
            "false" => {}
            value => injected.push(format!("--{flag}={value}")),
        }
    }
    let mut args = args;
    let tail = args.split_off(serve_at + 1);
    args.extend(injected.into_iter().map(std::ffi::OsString::from));
    args.extend(tail);
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_settings_file_sits_below_the_environment_and_the_flags() {
        let path = std::env::temp_dir().join(format!("tradecraft-settings-{}.env", std::process::id()));
        std::fs::write(
            &path,
            "# a deployment's gateway\nTRADECRAFT_ROLES=gateway\nTRADECRAFT_LOG=\"kafka://k:9092?prefix=a.\"\n\nTRADECRAFT_ADDRESS=0.0.0.0:9\nTRADECRAFT_NO_SIMULATOR=true\nTRADECRAFT_RECREATE_READ_STORE=false\nTRADECRAFT_ADMIN_KEY=from-file\n",
        )
        .unwrap();
        let args = |list: &[&str]| list.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        let environment = |name: &str| (name == "TRADECRAFT_ADMIN_KEY").then(|| "from-env".to_owned());
        let given = args(&["tradecraft", "serve", "--config", path.to_str().unwrap(), "--address", "127.0.0.1:1"]);
        let merged: Vec<String> = with_config_file(given, environment).unwrap().iter().map(|arg| arg.to_string_lossy().into_owned()).collect();
        assert_eq!(
            merged,
            [
                "tradecraft",
                "serve",
                "--roles=gateway",
                "--log=kafka://k:9092?prefix=a.",
                "--no-simulator",
                "--config",
                path.to_str().unwrap(),
                "--address",
                "127.0.0.1:1"
            ],
            "the file's settings, but not the address (a flag) nor the admin key (the environment)"
        );
        // The binary takes the result.
        let parsed = <crate::Cli as clap::Parser>::try_parse_from(&merged);
        assert!(parsed.is_ok(), "{parsed:?}");
        std::fs::write(&path, "LOG=file:x\n").unwrap();
        let refused = with_config_file(args(&["tradecraft", "serve", "--config", path.to_str().unwrap()]), |_| None);
        assert!(refused.unwrap_err().to_string().contains("not a TRADECRAFT_ setting"));
        assert_eq!(with_config_file(args(&["tradecraft", "verify", "d"]), |_| None).unwrap(), args(&["tradecraft", "verify", "d"]));
        let _ = std::fs::remove_file(&path);
    }
}
