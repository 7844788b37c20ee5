//! Redis in the multi-process deployment (DESIGN.md, "cache, pub/sub"): the projector
//! keeps the price cache (`price:{symbol}`, the latest tick as JSON) and publishes every
//! tick on the channel `price_updates`; WebSocket servers subscribe to that channel and
//! push `prices:{SYM}` to their clients, instead of each reading `market_data` from the log.
//!
//! `--redis-url redis://HOST:PORT[/DB][?prefix=NAME.]`: the prefix goes before every key
//! and channel name, so several deployments (or tests) share one server.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use tradecraft_log::EventLog;
use tradecraft_types::{Price, Symbol};

/// How long a WebSocket server waits for a message before it looks at its stop flag.
const READ_TIMEOUT: Duration = Duration::from_millis(200);
/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Where Redis is and the prefix of this deployment's names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedisConfig {
    /// The URL without the prefix.
    pub url: String,
    pub prefix: String,
}

impl RedisConfig {
    /// `redis://HOST:PORT[/DB][?prefix=NAME.]`.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let (url, query) = text.split_once('?').unwrap_or((text, ""));
        anyhow::ensure!(url.starts_with("redis://"), "a Redis URL starts with redis:// (not {text:?})");
        let mut prefix = String::new();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            match pair.split_once('=') {
                Some(("prefix", value)) if value.chars().all(|character| character.is_ascii_alphanumeric() || "._-:".contains(character)) => {
                    prefix = value.to_owned();
                }
                _ => anyhow::bail!("unknown or bad Redis URL parameter {pair:?} (only prefix=NAME, letters, digits and . _ - :)"),
            }
        }
        redis::Client::open(url).with_context(|| format!("the Redis URL {url}"))?;
        Ok(Self { url: url.to_owned(), prefix })
    }

    /// The cache key of a symbol's latest price.
    pub fn price_key(&self, symbol: &str) -> String {
        format!("{}price:{symbol}", self.prefix)
    }

    /// The channel every tick is published on.
    pub fn price_channel(&self) -> String {
        format!("{}price_updates", self.prefix)
    }

    fn connect(&self) -> redis::RedisResult<redis::Connection> {
        redis::Client::open(self.url.as_str())?.get_connection_with_timeout(CONNECT_TIMEOUT)
    }
}

/// A tick as cached and published: what `prices:{SYM}` pushes.
fn tick_json(symbol: Symbol, price: Price) -> String {
    serde_json::json!({"symbol": symbol.as_str(), "price": price.to_string()}).to_string()
}

/// The projector's side: follows `market_data` from its end and, per round of ticks, sets
/// each symbol's cache key and publishes the ticks in one pipeline. A round Redis refuses
/// is dropped (the next tick supersedes it) and the connection made again.
pub fn publish_prices(log: Arc<dyn EventLog>, config: RedisConfig, stop: Arc<AtomicBool>) -> anyhow::Result<std::thread::JoinHandle<()>> {
    let mut connection = Some(config.connect().with_context(|| format!("connecting to Redis at {}", config.url))?);
    let mut from = crate::server::market_data_end(log.as_ref());
    let thread = std::thread::Builder::new().name("price-cache".to_owned()).spawn(move || {
        let channel = config.price_channel();
        crate::server::follow_prices(log.as_ref(), &mut from, &stop, |ticks| {
            let mut pipe = redis::pipe();
            for &(symbol, price) in ticks {
                let value = tick_json(symbol, price);
                pipe.set(config.price_key(symbol.as_str()), &value).ignore().publish(&channel, &value).ignore();
            }
            if connection.is_none() {
                connection = config.connect().map_err(|error| tracing::warn!(error = %error, "price cache: Redis unreachable")).ok();
            }
            if let Some(open) = connection.as_mut()
                && let Err(error) = pipe.query::<()>(open)
            {
                tracing::warn!(error = %error, ticks = ticks.len(), "price cache: Redis refused a round of ticks");
                connection = None;
            }
        });
    })?;
    Ok(thread)
}

/// A WebSocket server's side: subscribes to `price_updates` (before returning, so no
/// tick published after the start is missed) and pushes each tick to this process's
/// clients; subscribes again with backoff when the connection drops. Stops when `stop` is set.
pub fn subscribe_prices(config: RedisConfig, pushes: tradecraft_api::ws::Pushes, stop: Arc<AtomicBool>) -> anyhow::Result<std::thread::JoinHandle<()>> {
    let (ready, subscribed) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new().name("price-subscriber".to_owned()).spawn(move || {
        let mut ready = Some(ready);
        let mut backoff = tradecraft_log::Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
        while !stop.load(Ordering::Relaxed) {
            let result = listen(&config, &pushes, &stop, &mut || {
                backoff.reset();
                if let Some(ready) = ready.take() {
                    let _ = ready.send(Ok(()));
                }
            });
            if let Err(error) = result {
                match ready.take() {
                    // The first subscription failed: the start fails with it.
                    Some(ready) => return drop(ready.send(Err(error))),
                    None => tracing::warn!(error = %error, "price subscriber: the connection dropped; subscribing again"),
                }
                std::thread::sleep(backoff.next_wait());
            }
        }
    })?;
    match subscribed.recv_timeout(CONNECT_TIMEOUT * 3) {
        Ok(Ok(())) => Ok(thread),
        Ok(Err(error)) => Err(error).context("subscribing to the price channel in Redis"),
        Err(_) => anyhow::bail!("subscribing to the price channel in Redis took too long"),
    }
}

/// One subscription: pushes what arrives until `stop` is set (Ok) or the connection fails.
fn listen(config: &RedisConfig, pushes: &tradecraft_api::ws::Pushes, stop: &AtomicBool, subscribed: &mut dyn FnMut()) -> redis::RedisResult<()> {
    let mut connection = config.connect()?;
    // Named, so an operator (or a test) finds it in CLIENT LIST.
    redis::cmd("CLIENT").arg("SETNAME").arg(format!("{}price-subscriber", config.prefix)).exec(&mut connection)?;
    let mut pubsub = connection.as_pubsub();
    // A read that times out loses nothing here (a plain connection's would skip the next reply).
    pubsub.set_read_timeout(Some(READ_TIMEOUT))?;
    pubsub.subscribe(config.price_channel())?;
    subscribed();
    while !stop.load(Ordering::Relaxed) {
        match pubsub.get_message() {
            Ok(message) => {
                if let Some((symbol, price)) = message.get_payload::<String>().ok().and_then(|payload| tick_of(&payload)) {
                    tradecraft_api::ws::push_price(pushes, symbol, price);
                }
            }
            Err(error) if error.is_timeout() => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// The tick a published payload carries.
fn tick_of(payload: &str) -> Option<(Symbol, Price)> {
    let tick: serde_json::Value = serde_json::from_str(payload).ok()?;
    Some((Symbol::new(tick["symbol"].as_str()?).ok()?, Price::parse(tick["price"].as_str()?).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_carry_a_prefix() {
        let config = RedisConfig::parse("redis://127.0.0.1:6379?prefix=class3b.").unwrap();
        assert_eq!(
            (config.url.as_str(), config.price_key("MOCK").as_str(), config.price_channel().as_str()),
            ("redis://127.0.0.1:6379", "class3b.price:MOCK", "class3b.price_updates")
        );
        assert_eq!(RedisConfig::parse("redis://localhost/2").unwrap().price_key("X"), "price:X");
        for bad in ["http://localhost", "redis://localhost?prefix=a b", "redis://localhost?db=1"] {
            assert!(RedisConfig::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn payloads_carry_ticks() {
        let tick = tick_json(Symbol::new("MOCK").unwrap(), Price::parse("101.25").unwrap());
        assert_eq!(tick_of(&tick), Some((Symbol::new("MOCK").unwrap(), Price::parse("101.25").unwrap())));
        assert_eq!(tick_of("not json"), None);
        assert_eq!(tick_of(r#"{"symbol": "MOCK", "price": "abc"}"#), None);
    }

    /// A stand-in for the Redis server's side of one subscription, over a real socket: it
    /// answers every command with `+OK` until SUBSCRIBE, confirms that, then writes
    /// `messages` on the channel, each split in two with `pause` between the halves.
    fn serve_once(listener: std::net::TcpListener, messages: Vec<String>, pause: Duration) -> std::thread::JoinHandle<()> {
        use std::io::{BufRead, Write};
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
            let mut writer = stream;
            let mut line = String::new();
            let mut read_line = |reader: &mut std::io::BufReader<std::net::TcpStream>| {
                line.clear();
                reader.read_line(&mut line).unwrap();
                line.trim_end().to_owned()
            };
            loop {
                // `*N` then N bulk strings (`$len`, the text).
                let count: usize = read_line(&mut reader)[1..].parse().unwrap();
                let words: Vec<String> = (0..count).map(|_| (read_line(&mut reader), read_line(&mut reader)).1).collect();
                if words[0].eq_ignore_ascii_case("SUBSCRIBE") {
                    let channel = &words[1];
                    write!(writer, "*3\r\n$9\r\nsubscribe\r\n${}\r\n{channel}\r\n:1\r\n", channel.len()).unwrap();
                    for payload in &messages {
                        let frame = format!("*3\r\n$7\r\nmessage\r\n${}\r\n{channel}\r\n${}\r\n{payload}\r\n", channel.len(), payload.len());
                        let (first, second) = frame.split_at(frame.len() / 2);
                        writer.write_all(first.as_bytes()).unwrap();
                        std::thread::sleep(pause);
                        writer.write_all(second.as_bytes()).unwrap();
                    }
                    // Open until the subscriber goes.
                    let _ = reader.read_line(&mut String::new());
                    return;
                }
                writer.write_all(b"+OK\r\n").unwrap();
            }
        })
    }

    /// The subscriber reads with a timeout (to look at its stop flag): a message whose
    /// second half comes after that timeout must still arrive whole, not be dropped with
    /// the connection (a loaded machine can pause Redis mid-write).
    #[test]
    fn a_message_split_across_the_read_timeout_arrives() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let config = RedisConfig::parse(&format!("redis://{}", listener.local_addr().unwrap())).unwrap();
        let ticks: Vec<String> = ["101.5", "102.25"].iter().map(|price| tick_json(Symbol::new("MOCK").unwrap(), Price::parse(price).unwrap())).collect();
        let server = serve_once(listener, ticks, READ_TIMEOUT * 3);
        let pushes = tradecraft_api::ws::Pushes::default();
        let mut inbox = pushes.inbox();
        inbox.join("prices:MOCK");
        let stop = Arc::new(AtomicBool::new(false));
        let subscriber = subscribe_prices(config, pushes, Arc::clone(&stop)).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let mut prices = Vec::new();
        while prices.len() < 2 && std::time::Instant::now() < deadline {
            match inbox.try_recv() {
                Some(push) => prices.push(push.payload["price"].as_str().unwrap().to_owned()),
                None => std::thread::sleep(Duration::from_millis(10)),
            }
        }
        stop.store(true, Ordering::Relaxed);
        subscriber.join().unwrap();
        drop(server);
        assert_eq!(prices, ["101.5", "102.25"]);
    }
}
