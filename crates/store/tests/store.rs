//! One suite, two databases: every projection and query runs against SQLite and against
//! a real PostgreSQL server (`TRADECRAFT_TEST_POSTGRES`, default the local server with
//! trust auth; `scripts/test.sh` makes sure it runs). Each test gets its own database.
//!
//! Events come from the real engine: commands go through the sequencer into a memory
//! log, and the projector reads its output topics.

#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failed test
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use tradecraft_log::{EventLog, MemoryLog};
use tradecraft_sequencer::wire::{PlaceOrder, WireCommand, WireExitLeg, WireOrderClass, WireSide};
use tradecraft_sequencer::{Publish, Sequencer, SequencerConfig, SnapshotStore, create_topics, submit};
use tradecraft_store::{
    ApiKeyRecord, AuditRecord, Backend, DeliveryOutcome, Dialect, GroupRecord, InvitationRecord, OrganisationRecord, Param, Projector, ProjectorConfig, Row,
    Statement, Store, StoreError, TradeQuery, UserRecord, Value, WatchlistRecord, WebhookRecord, create_database, decimal, drop_database, with_database,
};
use tradecraft_types::{Money, Price, Quantity, Timestamp};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 86_400_000;
/// 2026-01-01T10:00:00Z
const T0: i64 = 1_767_261_600_000;
const HOUSE: &str = "9000000000000000000";
const ALICE: u64 = 1001;
const BOB: u64 = 1002;

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique(label: &str) -> String {
    format!("tc_{label}_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// A store and whatever must be removed after the test.
struct TestDb {
    store: Store,
    cleanup: Cleanup,
}

enum Cleanup {
    Directory(PathBuf),
    Database(String),
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Directory(path) => {
                let _ = std::fs::remove_dir_all(path);
            }
            Cleanup::Database(name) => {
                let _ = drop_database(&admin_url(), name);
            }
        }
    }
}

fn admin_url() -> String {
    std::env::var("TRADECRAFT_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn sqlite() -> TestDb {
    let directory = std::env::temp_dir().join(unique("store"));
    std::fs::create_dir_all(&directory).unwrap();
    let store = Store::open(&format!("sqlite:{}", directory.join("read.db").display())).unwrap();
    TestDb { store, cleanup: Cleanup::Directory(directory) }
}

fn postgres() -> TestDb {
    let name = unique("store");
    create_database(&admin_url(), &name).expect("PostgreSQL must be running: scripts/test.sh starts it");
    let store = Store::open(&with_database(&admin_url(), &name)).unwrap();
    TestDb { store, cleanup: Cleanup::Database(name) }
}

/// An engine fed through a memory log, with the commands' times set by the test.
struct Exchange {
    log: Arc<dyn EventLog>,
    sequencer: Sequencer,
    sequence: u64,
    _snapshots: TempPath,
}

struct TempPath(PathBuf);

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Exchange {
    fn new() -> Self {
        let log: Arc<dyn EventLog> = Arc::new(MemoryLog::new());
        create_topics(log.as_ref(), 2).unwrap();
        let path = std::env::temp_dir().join(unique("snapshots"));
        let mut config = SequencerConfig { output_partitions: 2, ..SequencerConfig::default() };
        config.engine.taker_fee_bps = 10;
        let sequencer = Sequencer::open(config, Arc::clone(&log), SnapshotStore::open(&path).unwrap()).unwrap();
        Self { log, sequencer, sequence: 0, _snapshots: TempPath(path) }
    }

    fn run(&mut self, at: i64, command: WireCommand) {
        submit(self.log.as_ref(), &command, "test", self.sequence, Timestamp::from_millis(at)).unwrap();
        self.sequence += 1;
        self.sequencer.catch_up().unwrap();
    }

    fn watermark(&self) -> u64 {
        self.sequencer.next_command()
    }
}

fn order(user: &str, side: WireSide, quantity: &str, price: &str) -> WireCommand {
    WireCommand::PlaceOrder(PlaceOrder::limit(user, "MOCK", side, quantity, price, "2026-01-01T00:00:00.000Z"))
}

fn deposit(user: &str, transaction: &str, amount: &str, symbol: Option<&str>) -> WireCommand {
    WireCommand::Deposit { user_id: user.to_owned(), transaction_id: transaction.to_owned(), amount: amount.to_owned(), symbol: symbol.map(str::to_owned) }
}

fn account(user: &str, house: bool) -> WireCommand {
    WireCommand::CreateAccount { user_id: Some(user.to_owned()), house, cash: None }
}

/// Alice buys 10 then 5 at 100 (10 bp taker fee), sells 8 at 102 a day later, fails to
/// buy 1,000 for lack of cash, and withdraws 100 on day three; Bob arrives on day three.
fn scenario_commands() -> Vec<(i64, WireCommand)> {
    let alice = ALICE.to_string();
    vec![
        (
            T0,
            WireCommand::ListInstrument {
                symbol: "MOCK".to_owned(),
                tick_size: "0.01".to_owned(),
                lot_size: "1".to_owned(),
                min_quantity: "1".to_owned(),
                price_band_bps: 5_000,
            },
        ),
        (T0, account(HOUSE, true)),
        (T0, deposit(HOUSE, "1", "1000000", None)),
        (T0, deposit(HOUSE, "2", "10000", Some("MOCK"))),
        (T0, order(HOUSE, WireSide::Sell, "15", "100")),
        (T0, account(&alice, false)),
        (T0, deposit(&alice, "3", "10000", None)),
        (T0 + HOUR, order(&alice, WireSide::Buy, "10", "100")),
        (T0 + 2 * HOUR, order(&alice, WireSide::Buy, "5", "100")),
        (T0 + DAY, order(HOUSE, WireSide::Buy, "100", "102")),
        (T0 + DAY + HOUR, order(&alice, WireSide::Sell, "8", "102")),
        (T0 + DAY + 2 * HOUR, order(&alice, WireSide::Buy, "1000", "100")),
        (T0 + 2 * DAY, account(&BOB.to_string(), false)),
        (T0 + 2 * DAY, deposit(&BOB.to_string(), "4", "5000", None)),
        (T0 + 2 * DAY + HOUR, WireCommand::Withdraw { user_id: alice, transaction_id: "5".to_owned(), amount: "100".to_owned(), symbol: None }),
    ]
}

fn scenario() -> Exchange {
    let mut exchange = Exchange::new();
    for (at, command) in scenario_commands() {
        exchange.run(at, command);
    }
    exchange
}

fn output_records(log: &dyn EventLog) -> u64 {
    tradecraft_sequencer::outputs::OUTPUT_TOPICS
        .iter()
        .map(|topic| (0..log.partitions(topic).unwrap()).map(|partition| log.end_offset(topic, partition).unwrap()).sum::<u64>())
        .sum()
}

/// An engine that led until halfway, was deposed without noticing and then writes again
/// what its successor already published: the read store is as if it never had (its records
/// repeat sequence numbers already applied). One that notices writes nothing at all.
fn a_deposed_engines_late_writes_change_nothing(db: TestDb) {
    let reference = sqlite();
    project(&reference.store, &scenario());
    let expected = dump(&reference.store);

    let mut exchange = Exchange::new();
    let commands = scenario_commands();
    let (first, second) = commands.split_at(8);
    for (at, command) in first {
        exchange.run(*at, command.clone());
    }
    let leading = Arc::new(AtomicBool::new(true));
    let snapshots = TempPath(std::env::temp_dir().join(unique("deposed")));
    let mut config = SequencerConfig { output_partitions: 2, publish: Publish::WhileLeader(Arc::clone(&leading)), ..SequencerConfig::default() };
    config.engine.taker_fee_bps = 10;
    let mut deposed = Sequencer::open(config, Arc::clone(&exchange.log), SnapshotStore::open(&snapshots.0).unwrap()).unwrap();
    for (at, command) in second {
        exchange.run(*at, command.clone());
    }
    let published = output_records(exchange.log.as_ref());
    let late = deposed.catch_up().unwrap();
    assert!(late.published > 0 && output_records(exchange.log.as_ref()) == published + late.published as u64, "the late writes are in the log: {late:?}");
    project(&db.store, &exchange);
    assert_eq!(dump(&db.store), expected, "late duplicates changed the read store on {:?}", db.store.dialect());

    // Fenced: once it knows it no longer leads, it appends nothing.
    leading.store(false, Ordering::SeqCst);
    submit(exchange.log.as_ref(), &deposit(&BOB.to_string(), "6", "1", None), "test", 99, Timestamp::from_millis(T0 + 3 * DAY)).unwrap();
    let before = output_records(exchange.log.as_ref());
    assert!(matches!(deposed.poll(), Err(tradecraft_sequencer::SequencerError::NotLeader)));
    assert_eq!(output_records(exchange.log.as_ref()), before);
}

fn project(store: &Store, exchange: &Exchange) {
    let mut projector = Projector::open(store.clone(), Arc::clone(&exchange.log), ProjectorConfig::default()).unwrap();
    let applied = projector.catch_up(exchange.watermark()).unwrap();
    assert!(applied > 0);
    assert_eq!(projector.catch_up(exchange.watermark()).unwrap(), 0, "a second pass finds nothing new");
}

fn money(text: &str) -> Money {
    Money::parse(text).unwrap()
}

fn search(user: u64) -> TradeQuery {
    TradeQuery { user_id: user, limit: 100, ..TradeQuery::default() }
}

fn projects_trade_history_with_filters_paging_and_text_search(db: TestDb) {
    let exchange = scenario();
    project(&db.store, &exchange);
    let store = &db.store;

    let all = store.search_trades(&search(ALICE)).unwrap();
    assert_eq!(all.total_count, 4);
    assert_eq!(all.next_page_token, None);
    let statuses: Vec<_> = all.trades.iter().map(|trade| (trade.side.as_str(), trade.status.as_str())).collect();
    assert_eq!(statuses, [("BUY", "FAILED_INSUFFICIENT_FUNDS"), ("SELL", "EXECUTED"), ("BUY", "EXECUTED"), ("BUY", "EXECUTED")], "newest first");
    let sell = &all.trades[1];
    assert_eq!((sell.quantity, sell.execution_price), (Quantity::from_units(8), Some(Price::from_units(102))));
    assert_eq!(sell.fee, money("0.816"));
    assert_eq!(sell.executed_at_ms, T0 + DAY + HOUR);
    assert_eq!(sell.liquidity.as_deref(), Some("TAKER"));
    assert_eq!(all.trades[0].failure_reason.as_deref(), Some("insufficient_funds"));
    assert_eq!(all.trades[0].execution_price, None);
    assert_eq!(all.trades[0].quantity, Quantity::from_units(1000));

    // Pages of 3 then 1, no row twice, the same total on both.
    let first = store.search_trades(&TradeQuery { limit: 3, ..search(ALICE) }).unwrap();
    assert_eq!((first.trades.len(), first.total_count), (3, 4));
    let token = first.next_page_token.clone().expect("a second page");
    let second = store.search_trades(&TradeQuery { limit: 3, page_token: Some(token), ..search(ALICE) }).unwrap();
    assert_eq!((second.trades.len(), second.total_count, second.next_page_token.as_deref()), (1, 4, None));
    let paged: Vec<_> = first.trades.iter().chain(&second.trades).map(|trade| trade.event_id.clone()).collect();
    assert_eq!(paged, all.trades.iter().map(|trade| trade.event_id.clone()).collect::<Vec<_>>());

    let count = |query: TradeQuery| store.search_trades(&query).unwrap().total_count;
    assert_eq!(count(TradeQuery { side: Some("BUY".into()), ..search(ALICE) }), 3);
    assert_eq!(count(TradeQuery { status: Some("EXECUTED".into()), ..search(ALICE) }), 3);
    assert_eq!(count(TradeQuery { symbol: Some("OTHER".into()), ..search(ALICE) }), 0);
    assert_eq!(count(TradeQuery { start_ms: Some(T0 + DAY), ..search(ALICE) }), 2);
    assert_eq!(count(TradeQuery { end_ms: Some(T0 + HOUR), ..search(ALICE) }), 1, "end is inclusive");
    assert_eq!(count(TradeQuery { start_ms: Some(T0 + 2 * HOUR), end_ms: Some(T0 + DAY + HOUR), ..search(ALICE) }), 2);
    assert_eq!(count(TradeQuery { text: Some("funds".into()), ..search(ALICE) }), 1);
    assert_eq!(count(TradeQuery { text: Some("insufficient funds".into()), ..search(ALICE) }), 1);
    assert_eq!(count(TradeQuery { text: Some("shares".into()), ..search(ALICE) }), 0);
    assert_eq!(count(search(BOB)), 0);
    assert_eq!(count(search(HOUSE.parse().unwrap())), 3, "the house's maker sides");

    let invalid = |query: TradeQuery| match store.search_trades(&query) {
        Err(StoreError::InvalidParameter(parameter, _)) => Some(parameter),
        _ => None,
    };
    assert_eq!(invalid(TradeQuery { page_token: Some("not-a-token".into()), ..search(ALICE) }), Some("pageToken"));
    assert_eq!(invalid(TradeQuery { limit: 0, ..search(ALICE) }), Some("limit"));
    assert_eq!(invalid(TradeQuery { limit: 1001, ..search(ALICE) }), Some("limit"));
}

fn projects_fifo_positions_orders_and_the_cash_statement(db: TestDb) {
    let exchange = scenario();
    project(&db.store, &exchange);
    let store = &db.store;

    let positions = store.positions(ALICE).unwrap();
    assert_eq!(positions.len(), 1);
    let mock = &positions[0];
    assert_eq!(mock.quantity, Quantity::from_units(7));
    // FIFO: the sale of 8 came out of the first lot (10 at 100), realising 8 x 2.
    assert_eq!(mock.cost, money("700"));
    assert_eq!(mock.average_cost, Some(Price::from_units(100)));
    assert_eq!(mock.realized_pnl, money("16"));
    assert_eq!(mock.last_price, Some(Price::from_units(102)));
    assert_eq!(mock.market_value, Some(money("714")));
    assert_eq!(mock.unrealized_pnl, Some(money("14")));
    assert_eq!(mock.fees, money("2.316"));
    let lots = store.backend().query("SELECT lot, quantity, price FROM position_lots WHERE user_id = $1 ORDER BY lot", &[Param::Int(ALICE as i64)]).unwrap();
    assert_eq!(
        lots,
        [Row(vec![Value::Int(0), Value::Int(20_000), Value::Int(1_000_000)]), Row(vec![Value::Int(1), Value::Int(50_000), Value::Int(1_000_000)])]
    );

    let account = store.account(ALICE).unwrap().unwrap();
    assert_eq!((account.cash, account.deposits, account.withdrawals, account.fees), (money("9213.684"), money("10000"), money("100"), money("2.316")));
    assert_eq!(store.account(4242).unwrap(), None);

    let statement = store.wallet_transactions(ALICE, 100, None).unwrap();
    assert_eq!(statement.total_count, 8);
    let lines: Vec<_> = statement.transactions.iter().rev().map(|line| (line.kind.as_str(), line.amount.to_string(), line.balance_after.to_string())).collect();
    let expected = [
        ("DEPOSIT", "10000", "10000"),
        ("BUY", "-1000", "9000"),
        ("FEE", "-1", "8999"),
        ("BUY", "-500", "8499"),
        ("FEE", "-0.5", "8498.5"),
        ("SELL", "816", "9314.5"),
        ("FEE", "-0.816", "9313.684"),
        ("WITHDRAWAL", "-100", "9213.684"),
    ];
    let expected: Vec<_> = expected.iter().map(|(kind, amount, balance)| (*kind, money(amount).to_string(), money(balance).to_string())).collect();
    assert_eq!(lines, expected);
    let page = store.wallet_transactions(ALICE, 5, None).unwrap();
    let rest = store.wallet_transactions(ALICE, 5, page.next_page_token.as_deref()).unwrap();
    assert_eq!((page.transactions.len(), rest.transactions.len(), rest.next_page_token), (5, 3, None));

    let orders = store
        .backend()
        .query(
            "SELECT side, order_type, quantity, filled_quantity, filled_notional, status FROM orders WHERE user_id = $1 ORDER BY order_id",
            &[Param::Int(ALICE as i64)],
        )
        .unwrap();
    let orders: Vec<_> =
        orders.iter().map(|row| (row.text(0).unwrap().to_owned(), row.int(3).unwrap(), row.int(4).unwrap(), row.text(5).unwrap().to_owned())).collect();
    assert_eq!(
        orders,
        [
            ("BUY".to_owned(), 100_000, money("1000").raw(), "FILLED".to_owned()),
            ("BUY".to_owned(), 50_000, money("500").raw(), "FILLED".to_owned()),
            ("SELL".to_owned(), 80_000, money("816").raw(), "FILLED".to_owned()),
        ],
        "the rejected order is in the trade history, not among orders"
    );
}

fn computes_volume_performance_and_the_leaderboard(db: TestDb) {
    let exchange = scenario();
    project(&db.store, &exchange);
    let store = &db.store;

    let activity = store.activity(None, T0).unwrap();
    assert_eq!(activity.len(), 1);
    assert_eq!((activity[0].symbol.as_str(), activity[0].trade_count), ("MOCK", 3));
    assert_eq!(decimal(activity[0].volume, 4), "23");
    assert_eq!(decimal(activity[0].notional, 8), "2316");
    assert_eq!(activity[0].vwap(), Some(Price::parse("100.6957").unwrap()));
    assert_eq!(store.activity(Some("MOCK"), T0 + DAY).unwrap()[0].trade_count, 1);
    assert!(store.activity(Some("OTHER"), T0).unwrap().is_empty());
    assert!(store.activity(None, T0 + 3 * DAY).unwrap().is_empty());

    let now = T0 + 3 * DAY;
    let alice = store.performance(ALICE, T0, now).unwrap().unwrap();
    // Peak value 10,027.684 on 10,000 deposited; the withdrawal is not a loss. The account
    // opened within the period: it starts from nothing, and its deposit is a flow.
    assert!((alice.total_return - 0.002_768_4).abs() < 1e-9, "{alice:?}");
    assert_eq!((alice.start_value, alice.end_value, alice.net_flows), (money("0"), money("9927.684"), money("9900")));
    assert!(alice.max_drawdown > 0.0 && alice.max_drawdown < 0.000_2, "{alice:?}");
    let days: Vec<_> = alice.daily_returns.iter().map(|day| day.date.as_str()).collect();
    assert_eq!(days, ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"]);
    assert!(alice.sharpe.is_some() && alice.volatility.is_some());
    assert_eq!(alice.history.first(), Some(&(T0, money("0"))));
    assert_eq!(alice.history[1], (T0 + HOUR, money("10000")), "a snapshot is labelled with when its value holds");
    assert_eq!(alice.history.last(), Some(&(now, money("9927.684"))));
    assert!(alice.history.windows(2).all(|pair| pair[0].0 < pair[1].0));
    assert_eq!(store.performance(4242, T0, now).unwrap(), None);
    // A window that ended before now ends with the value then, not the value now.
    let first_day = store.performance(ALICE, T0, T0 + DAY).unwrap().unwrap();
    let then = alice.history.iter().rev().find(|(at, _)| *at <= T0 + DAY).unwrap().1;
    assert_ne!(then, alice.end_value, "the test needs a value that changed after the first day");
    assert_eq!(first_day.end_value, then, "{first_day:?}");
    assert!(first_day.history.iter().all(|(at, _)| *at <= T0 + DAY), "{first_day:?}");
    assert_eq!(first_day.history, alice.history.iter().copied().filter(|(at, _)| *at <= T0 + DAY).collect::<Vec<_>>());

    let board = store.leaderboard(T0, now, 1, None).unwrap();
    assert_eq!((board.total_count, board.entries.len()), (2, 1), "the house is not ranked");
    assert_eq!((board.entries[0].rank, board.entries[0].user_id), (1, ALICE));
    // Ranked on day closes from the 10,000 deposited to 10,027.684 (the withdrawal of 100
    // on day four is a flow, not a loss): the same return as the account's own.
    let ranked = board.entries[0].performance.total_return;
    assert!((ranked - (10_027.684 / 10_000.0 - 1.0)).abs() < 1e-9, "{ranked}");
    let next = store.leaderboard(T0, now, 1, board.next_page_token.as_deref()).unwrap();
    assert_eq!((next.entries[0].rank, next.entries[0].user_id, next.next_page_token), (2, BOB, None));
    assert_eq!(next.entries[0].performance.total_return, 0.0);
}

/// Returns count from an account's funding, are right minutes after its first trade
/// (before any hourly snapshot), stay right across a bucket edge, and rank accounts by
/// them (not by user id). The clock is the commands' own.
fn returns_run_from_funding_and_rank_from_the_first_trade(db: TestDb) {
    // 10:00 UTC, on an hour boundary.
    const START: i64 = 1_767_607_200_000;
    const MINUTE: i64 = 60_000;
    let (carol, dave) = ("42", "41");
    let mut exchange = Exchange::new();
    exchange.run(
        START,
        WireCommand::ListInstrument {
            symbol: "MOCK".to_owned(),
            tick_size: "0.01".to_owned(),
            lot_size: "1".to_owned(),
            min_quantity: "1".to_owned(),
            price_band_bps: 5_000,
        },
    );
    exchange.run(START, account(HOUSE, true));
    exchange.run(START, deposit(HOUSE, "1", "1000000", None));
    exchange.run(START, deposit(HOUSE, "2", "10000", Some("MOCK")));
    for (user, transaction) in [(carol, "3"), (dave, "4")] {
        exchange.run(START, account(user, false));
        exchange.run(START, deposit(user, transaction, "10000", None));
    }
    exchange.run(START + 5_000, order(HOUSE, WireSide::Sell, "10", "100"));
    exchange.run(START + 10_000, order(carol, WireSide::Buy, "10", "100"));
    exchange.run(START + 15_000, order(HOUSE, WireSide::Sell, "5", "110"));
    exchange.run(START + 20_000, order(dave, WireSide::Buy, "5", "110"));
    project(&db.store, &exchange);
    let store = &db.store;
    let since = START - DAY;
    let now = START + MINUTE;
    // Carol: 10 at 100 plus a 1.00 fee, marked at 110: 8,999 + 1,100 on 10,000.
    let carol_then = store.performance(42, since, now).unwrap().unwrap();
    assert!((carol_then.total_return - (10_099.0 / 10_000.0 - 1.0)).abs() < 1e-12, "{carol_then:?}");
    assert_eq!((carol_then.start_value, carol_then.net_flows), (money("0"), money("10000")));
    // Dave: 5 at 110 plus 0.55, marked at 110.
    let dave_then = store.performance(41, since, now).unwrap().unwrap();
    assert!((dave_then.total_return - (9_999.45 / 10_000.0 - 1.0)).abs() < 1e-12, "{dave_then:?}");
    let board = store.leaderboard(since, now, 10, None).unwrap();
    let order_of = |board: &tradecraft_store::LeaderboardPage| board.entries.iter().map(|entry| entry.user_id).collect::<Vec<_>>();
    assert_eq!(order_of(&board), [42, 41], "ranked by return, not by id");
    assert!((board.entries[0].performance.total_return - carol_then.total_return).abs() < 1e-12);

    // Across the hour's edge: a trade at 120 before it and one after it (which closes the
    // 10:00 bucket's snapshot).
    exchange.run(START + 59 * MINUTE, order(HOUSE, WireSide::Sell, "2", "120"));
    exchange.run(START + 59 * MINUTE + 30_000, order(dave, WireSide::Buy, "1", "120"));
    exchange.run(START + 61 * MINUTE, order(dave, WireSide::Buy, "1", "120"));
    project(&db.store, &exchange);
    let now = START + 62 * MINUTE;
    let carol_now = store.performance(42, since, now).unwrap().unwrap();
    assert!((carol_now.total_return - (10_199.0 / 10_000.0 - 1.0)).abs() < 1e-12, "{carol_now:?}");
    assert_eq!(carol_now.history.iter().filter(|(at, _)| *at == START + HOUR).count(), 1, "the 10:00 bucket's value, labelled 11:00");
    let dave_now = store.performance(41, since, now).unwrap().unwrap();
    assert!((dave_now.total_return - (10_049.21 / 10_000.0 - 1.0)).abs() < 1e-12, "{dave_now:?}");
    // A period that starts after funding takes the value then as its base.
    let last_hour = store.performance(42, START + HOUR, now).unwrap().unwrap();
    assert!(last_hour.total_return.abs() < 1e-12, "10,199 at 11:00 and now: {last_hour:?}");
    assert_eq!(last_hour.start_value, money("10199"));
    assert_eq!(order_of(&store.leaderboard(since, now, 10, None).unwrap()), [42, 41]);
}

/// Fails every third transaction after running its statements, so the database really
/// rolls back work it had done.
#[derive(Debug)]
struct Flaky {
    inner: Arc<dyn Backend>,
    calls: AtomicUsize,
}

impl Backend for Flaky {
    fn dialect(&self) -> Dialect {
        self.inner.dialect()
    }

    fn query(&self, sql: &str, params: &[Param]) -> Result<Vec<Row>, StoreError> {
        self.inner.query(sql, params)
    }

    fn transaction(&self, statements: &[Statement]) -> Result<(), StoreError> {
        if self.calls.fetch_add(1, Ordering::Relaxed) % 3 == 2 {
            let mut doomed = statements.to_vec();
            doomed.push(Statement::new("INSERT INTO no_such_table VALUES (1)", Vec::new()));
            let result = self.inner.transaction(&doomed);
            assert!(result.is_err());
            return result;
        }
        self.inner.transaction(statements)
    }

    fn batch(&self, sql: &str) -> Result<(), StoreError> {
        self.inner.batch(sql)
    }
}

const TABLES: [&str; 11] = [
    "projection_offsets ORDER BY topic, part",
    "projection_meta ORDER BY name",
    "accounts ORDER BY user_id",
    "orders ORDER BY order_id",
    "trades ORDER BY id",
    "positions ORDER BY user_id, symbol",
    "position_lots ORDER BY user_id, symbol, lot",
    "last_prices ORDER BY symbol",
    "daily_closes ORDER BY symbol, day",
    "wallet_transactions ORDER BY id",
    "portfolio_snapshots ORDER BY user_id, bucket",
];

fn dump(store: &Store) -> Vec<Vec<Row>> {
    TABLES.iter().map(|table| store.backend().query(&format!("SELECT * FROM {table}"), &[]).unwrap()).collect()
}

fn applies_each_event_exactly_once_across_failures_restarts_and_rebuilds(db: TestDb) {
    let exchange = scenario();
    let reference = sqlite();
    project(&reference.store, &exchange);
    let expected = dump(&reference.store);

    // Small batches, a failed transaction every third poll, a fresh projector each time.
    let flaky = Store::with_backend(Arc::new(Flaky { inner: db.store.shared_backend(), calls: AtomicUsize::new(0) })).unwrap();
    let config = ProjectorConfig { batch_records: 2, ..ProjectorConfig::default() };
    let (mut failures, mut polls) = (0, 0);
    loop {
        let mut projector = Projector::open(flaky.clone(), Arc::clone(&exchange.log), config).unwrap();
        match projector.poll(exchange.watermark()) {
            Ok(status) if status.records == 0 => break,
            Ok(_) => polls += 1,
            Err(StoreError::Database(_)) => failures += 1,
            Err(other) => panic!("{other}"),
        }
    }
    assert!(failures > 3 && polls > 10, "{failures} failures, {polls} polls");
    assert_eq!(dump(&db.store), expected, "same rows as one clean pass, on {:?}", db.store.dialect());

    // Events past the engine's watermark wait.
    let mut projector = Projector::open(db.store.clone(), Arc::clone(&exchange.log), ProjectorConfig::default()).unwrap();
    assert_eq!(projector.catch_up(exchange.watermark()).unwrap(), 0);
    let lag = projector.lag().unwrap();
    assert!(lag.iter().all(|lag| lag.applied == lag.end), "{lag:?}");

    // A rebuild from the start of the log gives the same read models again.
    db.store.reset().unwrap();
    assert_eq!(db.store.search_trades(&search(ALICE)).unwrap().total_count, 0);
    let mut projector = Projector::open(db.store.clone(), Arc::clone(&exchange.log), ProjectorConfig::default()).unwrap();
    projector.catch_up(exchange.watermark()).unwrap();
    assert_eq!(dump(&db.store), expected);
    assert_eq!(db.store.search_trades(&TradeQuery { text: Some("funds".into()), ..search(ALICE) }).unwrap().total_count, 1, "search index rebuilt");
}

fn holds_back_events_of_commands_the_engine_has_not_finished(db: TestDb) {
    let exchange = scenario();
    let mut projector = Projector::open(db.store.clone(), Arc::clone(&exchange.log), ProjectorConfig::default()).unwrap();
    // Up to and including Alice's first buy (command 7).
    projector.catch_up(8).unwrap();
    assert_eq!(db.store.search_trades(&search(ALICE)).unwrap().total_count, 1);
    assert_eq!(db.store.account(ALICE).unwrap().unwrap().cash, money("8999"));
    projector.catch_up(exchange.watermark()).unwrap();
    assert_eq!(db.store.search_trades(&search(ALICE)).unwrap().total_count, 4);
}

/// Appends a `market_data` tick of `price` for MOCK at `at`, naming command `command`
/// (`None`: a tick from before ticks named theirs).
fn tick(log: &dyn EventLog, sequence: u64, at: i64, price: &str, command: Option<u64>) {
    let payload = tradecraft_events::to_payload(&tradecraft_events::MarketDataTick {
        symbol: "MOCK".to_owned(),
        price: price.to_owned(),
        feed_timestamp: Timestamp::from_millis(at).to_string(),
    });
    let mut envelope = tradecraft_log::Envelope::new("market_data.tick", "feed", sequence, Timestamp::from_millis(at), payload);
    envelope.command_offset = command;
    log.append(tradecraft_events::MARKET_DATA, vec![tradecraft_log::Record { key: Some(b"MOCK".to_vec()), value: envelope.to_json(), timestamp_ms: at }])
        .unwrap();
}

/// Between trades, positions, the account's value and price alerts follow the market's
/// price feed (seed 000: the latest price is the feed's), each tick in engine order at the
/// command it names: a tick waits for its command like an engine event, ticks from before
/// ticks named their command are read past without effect, and a rebuild gives the same.
fn marks_positions_and_triggers_alerts_at_the_markets_price_between_trades(db: TestDb) {
    let mut exchange = scenario();
    let log = Arc::clone(&exchange.log);
    log.create_topic(tradecraft_events::MARKET_DATA, 2).unwrap();
    let last = exchange.watermark() - 1;
    // Older than any batch: read past, never a price.
    for sequence in 0..10 {
        tick(log.as_ref(), sequence, T0 + 3 * DAY, "50", None);
    }
    tick(log.as_ref(), 10, T0 + 3 * DAY, "110", Some(last));
    // Names a command the engine has not applied yet: it waits.
    tick(log.as_ref(), 11, T0 + 3 * DAY + HOUR, "95", Some(last + 1));
    for (alert, direction, price) in [("above", "ABOVE", 108), ("below", "BELOW", 96), ("far", "ABOVE", 200)] {
        db.store
            .insert_price_alert(
                ALICE,
                &tradecraft_store::PriceAlertRecord {
                    alert_id: alert.to_owned(),
                    user_id: ALICE,
                    symbol: "MOCK".to_owned(),
                    direction: direction.to_owned(),
                    price: Price::from_units(price).raw(),
                    created_at_ms: T0,
                    triggered_at_ms: None,
                },
            )
            .unwrap();
    }
    let mut projector = Projector::open(db.store.clone(), Arc::clone(&log), ProjectorConfig { batch_records: 4, ..ProjectorConfig::default() }).unwrap();
    projector.catch_up(exchange.watermark()).unwrap();
    let mock = db.store.positions(ALICE).unwrap().remove(0);
    // Seven shares costing 700, last traded at 102, now priced at 110.
    assert_eq!((mock.last_price, mock.market_value, mock.unrealized_pnl), (Some(Price::from_units(110)), Some(money("770")), Some(money("70"))));
    let triggered = |store: &Store| {
        let mut alerts: Vec<_> =
            store.price_alerts(ALICE).unwrap().into_iter().filter(|alert| alert.triggered_at_ms.is_some()).map(|alert| alert.alert_id).collect();
        alerts.sort();
        alerts
    };
    assert_eq!(triggered(&db.store), ["above"]);
    let titles: Vec<_> = db.store.notifications(ALICE, false, 100).unwrap().into_iter().map(|note| note.title).collect();
    assert!(titles.contains(&"MOCK is priced at or above 108".to_owned()), "{titles:?}");

    exchange.run(T0 + 3 * DAY + HOUR, deposit(&BOB.to_string(), "6", "1", None));
    projector.catch_up(exchange.watermark()).unwrap();
    let mock = db.store.positions(ALICE).unwrap().remove(0);
    assert_eq!((mock.last_price, mock.unrealized_pnl), (Some(Price::from_units(95)), Some(money("-35"))));
    assert_eq!(triggered(&db.store), ["above", "below"]);
    // Each day's last price closed it: 100 on the first day, 102 on the second.
    let day = |ms: i64| ms.div_euclid(DAY) * DAY;
    let close = |day_start: i64| db.store.previous_closes(day_start).unwrap().get("MOCK").copied();
    assert_eq!((close(day(T0)), close(day(T0 + DAY)), close(day(T0 + 3 * DAY))), (None, Some(Price::from_units(100)), Some(Price::from_units(102))));
    let lag = projector.lag().unwrap();
    assert!(lag.iter().all(|lag| lag.applied == lag.end), "every tick was read: {lag:?}");

    let expected = dump(&db.store);
    db.store.reset().unwrap();
    let mut projector = Projector::open(db.store.clone(), Arc::clone(&log), ProjectorConfig::default()).unwrap();
    projector.catch_up(exchange.watermark()).unwrap();
    assert_eq!(db.store.positions(ALICE).unwrap().remove(0).last_price, Some(Price::from_units(95)));
    assert_eq!(dump(&db.store)[..], expected[..], "a rebuild marks the same");
}

fn keeps_users_tokens_keys_and_the_audit_trail(db: TestDb) {
    let store = &db.store;
    let user = UserRecord {
        user_id: 42,
        email: "ada@example.com".into(),
        username: "ada".into(),
        password_hash: "$argon2id$hash".into(),
        role: "trader".into(),
        created_at_ms: T0,
    };
    store.create_user(&user).unwrap();
    let twin = UserRecord { user_id: 43, ..user.clone() };
    assert!(matches!(store.create_user(&twin), Err(StoreError::Conflict(_))), "emails are unique");
    assert_eq!(store.user_by_email("ada@example.com").unwrap(), Some(user.clone()));
    assert_eq!(store.user_by_id(42).unwrap().map(|user| user.username), Some("ada".into()));
    assert_eq!(store.user_by_email("nobody@example.com").unwrap(), None);

    store.insert_refresh("h1", 42, "family-1", T0 + DAY, T0).unwrap();
    store.rotate_refresh("h1", "h2", 42, "family-1", T0 + DAY, T0 + 1).unwrap();
    assert!(store.refresh("h1").unwrap().unwrap().used);
    assert!(matches!(store.rotate_refresh("h1", "h3", 42, "family-1", T0 + DAY, T0 + 2), Err(StoreError::Conflict(_))), "a used token cannot rotate again");
    store.revoke_family("family-1", T0 + 3).unwrap();
    assert!(store.refresh("h2").unwrap().unwrap().revoked);
    assert_eq!(store.refresh("unknown").unwrap(), None);

    let key = ApiKeyRecord { key_id: "k1".into(), user_id: 42, name: "bot".into(), scopes: "read,trade".into(), created_at_ms: T0, revoked: false };
    store.insert_api_key(&key, "keyhash").unwrap();
    assert_eq!(store.api_key_by_hash("keyhash").unwrap(), Some(key.clone()));
    assert!(!store.revoke_api_key(7, "k1", T0).unwrap(), "only the owner revokes");
    assert!(store.revoke_api_key(42, "k1", T0).unwrap());
    assert_eq!(store.api_key_by_hash("keyhash").unwrap(), None, "a revoked key no longer authenticates");
    assert!(store.api_keys(42).unwrap()[0].revoked);

    for (index, action) in ["limits.set", "api_key.created"].iter().enumerate() {
        store
            .append_audit(&AuditRecord {
                entry_id: format!("e{index}"),
                at_ms: T0 + index as i64,
                actor: "42".into(),
                action: (*action).into(),
                subject: "user:42".into(),
                details: "{}".into(),
            })
            .unwrap();
    }
    let trail = store.audit(Some("user:42"), 10).unwrap();
    assert_eq!(trail.iter().map(|entry| entry.action.as_str()).collect::<Vec<_>>(), ["api_key.created", "limits.set"]);
    assert!(store.audit(Some("user:7"), 10).unwrap().is_empty());

    // Logins are bounded: past the most a user keeps, a new one ends the oldest; expired
    // ones are forgotten at the next login (a used one is kept until then, for reuse
    // detection).
    let live = |now: i64| {
        (0..tradecraft_store::LOGINS_MAX + 10)
            .filter(|index| store.refresh(&format!("login-{index}")).unwrap().is_some_and(|token| !token.revoked && !token.used && token.expires_at_ms > now))
            .collect::<Vec<_>>()
    };
    for index in 0..tradecraft_store::LOGINS_MAX + 5 {
        store.insert_refresh(&format!("login-{index}"), 42, &format!("f-{index}"), T0 + DAY + index as i64, T0 + index as i64).unwrap();
    }
    let kept = live(T0);
    assert_eq!(kept.len(), tradecraft_store::LOGINS_MAX);
    assert_eq!(kept.first(), Some(&5), "the five oldest logins ended");
    assert!(store.refresh("login-0").unwrap().unwrap().revoked);
    assert!(store.refresh("h2").unwrap().is_some(), "not expired yet: kept");
    store.insert_refresh("late", 42, "f-late", T0 + 3 * DAY, T0 + 2 * DAY).unwrap();
    assert_eq!(store.refresh("login-7").unwrap(), None, "an expired token is forgotten at the next login");
    assert_eq!(store.refresh("h2").unwrap(), None);
    assert!(store.refresh("late").unwrap().is_some_and(|token| !token.revoked));

    store.delete_user(42, T0).unwrap();
    assert_eq!(store.user_by_id(42).unwrap(), None);
    assert!(store.api_keys(42).unwrap().is_empty());
    store.reset().unwrap();
    assert_eq!(store.audit(None, 10).unwrap().len(), 2, "a rebuild leaves identity and audit alone");
}

fn limit_breaches_become_alerts_queued_for_webhooks(db: TestDb) {
    let store = &db.store;
    let mut exchange = scenario();
    store.insert_webhook(&WebhookRecord { webhook_id: "w1".into(), user_id: ALICE, url: "http://127.0.0.1:1/hook".into(), created_at_ms: T0 }).unwrap();
    let limits = tradecraft_sequencer::wire::WireLimits { max_order_quantity: Some("2".into()), ..Default::default() };
    exchange.run(T0 + 3 * DAY, WireCommand::SetLimits { user_id: Some(ALICE.to_string()), group_id: None, organisation_id: None, limits });
    exchange.run(T0 + 3 * DAY + 1, order(&ALICE.to_string(), WireSide::Buy, "3", "90"));
    let mut projector = Projector::open(store.clone(), Arc::clone(&exchange.log), ProjectorConfig::default()).unwrap();
    projector.catch_up(exchange.watermark()).unwrap();

    let alerts = store.alerts(ALICE, true, 10).unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!((alerts[0].severity.as_str(), alerts[0].title.as_str()), ("warning", "Order refused: max order quantity"));
    assert!(alerts[0].message.contains("BUY 3 MOCK"), "{}", alerts[0].message);
    let due = store.due_deliveries(T0 + 3 * DAY + 1, 10).unwrap();
    assert_eq!((due.len(), due[0].webhook_id.as_str(), due[0].attempts), (1, "w1", 0));
    let alert_id = due[0].alert.alert_id.clone();
    store.record_delivery(&alert_id, "w1", &DeliveryOutcome::Retry { error: "500".into(), next_attempt_at_ms: T0 + 4 * DAY }, T0 + 3 * DAY + 2).unwrap();
    assert!(store.due_deliveries(T0 + 3 * DAY + 3, 10).unwrap().is_empty(), "backed off");
    assert_eq!(store.due_deliveries(T0 + 4 * DAY, 10).unwrap()[0].attempts, 1);
    store.record_delivery(&alert_id, "w1", &DeliveryOutcome::Delivered, T0 + 4 * DAY).unwrap();
    assert_eq!(store.delivery_state(&alert_id, "w1").unwrap(), Some((2, true)));
    assert!(store.due_deliveries(i64::MAX, 10).unwrap().is_empty());

    assert!(!store.acknowledge_alert(BOB, &alert_id, T0).unwrap(), "only the owner acknowledges");
    assert!(store.acknowledge_alert(ALICE, &alert_id, T0 + 5 * DAY).unwrap());
    assert!(store.alerts(ALICE, true, 10).unwrap().is_empty());
    assert_eq!(store.alerts(ALICE, false, 10).unwrap()[0].acknowledged_at_ms, Some(T0 + 5 * DAY));

    // A rebuild projects the breach again without a second alert or a second delivery.
    store.reset().unwrap();
    let mut projector = Projector::open(store.clone(), Arc::clone(&exchange.log), ProjectorConfig::default()).unwrap();
    projector.catch_up(exchange.watermark()).unwrap();
    assert_eq!(store.alerts(ALICE, false, 10).unwrap().len(), 1);
    assert_eq!(store.delivery_state(&alert_id, "w1").unwrap(), Some((2, true)), "nothing is sent twice");
    assert!(store.revoke_webhook(ALICE, "w1", T0).unwrap());
    assert!(store.webhooks(ALICE).unwrap().is_empty());
}

/// A deleted user's accounts are notified of nothing, whenever the projector gets to
/// their events: those it projects after the deletion (it lags, or a rebuild replays them)
/// leave no notification.
fn a_closed_account_is_notified_of_nothing_the_projector_reaches_later(db: TestDb) {
    let store = &db.store;
    let exchange = scenario();
    let mut projector = Projector::open(store.clone(), Arc::clone(&exchange.log), ProjectorConfig::default()).unwrap();
    projector.catch_up(exchange.watermark()).unwrap();
    assert!(!store.notifications(ALICE, false, 100).unwrap().is_empty(), "her fills were notified");
    store.delete_user(ALICE, T0 + 3 * DAY).unwrap();
    assert!(store.notifications(ALICE, false, 100).unwrap().is_empty());
    store.reset().unwrap();
    let mut projector = Projector::open(store.clone(), Arc::clone(&exchange.log), ProjectorConfig::default()).unwrap();
    projector.catch_up(exchange.watermark()).unwrap();
    assert!(store.notifications(ALICE, false, 100).unwrap().is_empty(), "projected again after the deletion: none");
}

fn keeps_watchlists_with_names_unique_per_user(db: TestDb) {
    let store = &db.store;
    let list = |id: &str, user: u64, name: &str, symbols: &[&str]| WatchlistRecord {
        watchlist_id: id.into(),
        user_id: user,
        name: name.into(),
        symbols: symbols.iter().map(|symbol| (*symbol).to_owned()).collect(),
        created_at_ms: T0,
        updated_at_ms: T0,
    };
    store.insert_watchlist(&list("w1", ALICE, "tech", &["MOCKAAPL", "MOCKMSFT"])).unwrap();
    store.insert_watchlist(&list("w2", BOB, "tech", &[])).unwrap();
    assert!(matches!(store.insert_watchlist(&list("w3", ALICE, "tech", &[])), Err(StoreError::Conflict(_))), "one name per user");
    assert_eq!(store.watchlist(ALICE, "w1").unwrap().unwrap().symbols, ["MOCKAAPL", "MOCKMSFT"]);
    assert_eq!(store.watchlist(BOB, "w1").unwrap(), None, "another user's list is not found");
    assert_eq!(store.watchlists(BOB).unwrap()[0].symbols, Vec::<String>::new());
    let mut changed = list("w1", ALICE, "big tech", &["MOCKMSFT", "MOCKNVDA"]);
    changed.updated_at_ms = T0 + DAY;
    store.update_watchlist(&changed).unwrap();
    let stored = store.watchlist(ALICE, "w1").unwrap().unwrap();
    assert_eq!((stored.name.as_str(), stored.symbols.len(), stored.created_at_ms, stored.updated_at_ms), ("big tech", 2, T0, T0 + DAY));
    assert!(!store.delete_watchlist(BOB, "w1").unwrap());
    assert!(store.delete_watchlist(ALICE, "w1").unwrap());
    assert!(store.watchlists(ALICE).unwrap().is_empty());
}

/// A bracket buy's exits are rows from the start, HELD (its class, its order, the other
/// side, its quantity) until its entry fills; placed for the first fill (in a later poll
/// than the one that held them) and grown with the second (`order.resized`), keeping what
/// they were; a cancelled entry's held exits end CANCELLED.
fn projects_exit_legs_held_placed_grown_and_cancelled(db: TestDb) {
    let mut exchange = Exchange::new();
    for (at, command) in scenario_commands().into_iter().take(7) {
        exchange.run(at, command);
    }
    let alice = ALICE.to_string();
    // Exits above and below the entry's limit.
    let bracket = |quantity: &str, price: &str, stop: &str| {
        let WireCommand::PlaceOrder(entry) = order(&alice, WireSide::Buy, quantity, price) else { unreachable!("an order") };
        WireCommand::PlaceOrder(PlaceOrder {
            order_class: Some(WireOrderClass::Bracket),
            take_profit: Some(WireExitLeg { limit_price: Some("120".to_owned()), stop_price: None }),
            stop_loss: Some(WireExitLeg { limit_price: None, stop_price: Some(stop.to_owned()) }),
            ..entry
        })
    };
    exchange.run(T0 + HOUR, bracket("10", "99", "80"));
    project(&db.store, &exchange);
    let of_alice = |store: &Store| -> Vec<tradecraft_store::OrderSummary> {
        let mut orders: Vec<_> = store.recent_orders(100).unwrap().into_iter().filter(|order| order.user_id == ALICE).collect();
        orders.sort_by_key(|order| order.order_id);
        orders
    };
    let orders = of_alice(&db.store);
    let entry = orders.iter().find(|order| order.side == "BUY" && order.order_class.is_some()).expect("the entry").clone();
    assert_eq!(entry.order_class.as_deref(), Some("BRACKET"), "{orders:?}");
    let exits = |orders: &[tradecraft_store::OrderSummary], parent: u64| -> Vec<(String, String, Quantity, String, Option<String>, i64)> {
        orders
            .iter()
            .filter(|order| order.parent_order_id == Some(parent))
            .map(|order| (order.order_type.clone(), order.side.clone(), order.quantity, order.status.clone(), order.order_class.clone(), order.created_at_ms))
            .collect()
    };
    let held = exits(&orders, entry.order_id);
    let at = |status: &str, quantity: i64| {
        let row = |kind: &str| (kind.to_owned(), "SELL".to_owned(), Quantity::from_units(quantity), status.to_owned(), Some("BRACKET".to_owned()), T0 + HOUR);
        vec![row("LIMIT"), row("STOP")]
    };
    let mut sorted = held.clone();
    sorted.sort();
    assert_eq!(sorted, at("HELD", 10), "{orders:?}");

    exchange.run(T0 + 2 * HOUR, order(HOUSE, WireSide::Sell, "4", "99"));
    exchange.run(T0 + 3 * HOUR, order(HOUSE, WireSide::Sell, "6", "99"));
    exchange.run(T0 + 3 * HOUR, bracket("1", "50", "40"));
    project(&db.store, &exchange);
    let orders = of_alice(&db.store);
    let mut placed = exits(&orders, entry.order_id);
    placed.sort();
    assert_eq!(placed, at("ACCEPTED", 10), "placed, grown, and still what they were: {orders:?}");
    let second =
        orders.iter().find(|order| order.side == "BUY" && order.limit_price == Some(tradecraft_types::Price::from_units(50))).expect("the second entry");
    exchange.run(T0 + 4 * HOUR, WireCommand::CancelOrder { order_id: second.order_id.to_string(), user_id: alice.clone() });
    project(&db.store, &exchange);
    let orders = of_alice(&db.store);
    let statuses: Vec<(String, Option<String>)> =
        orders.iter().filter(|order| order.parent_order_id == Some(second.order_id)).map(|order| (order.status.clone(), order.reason.clone())).collect();
    assert_eq!(statuses, vec![("CANCELLED".to_owned(), Some("cancelled".to_owned())); 2], "{orders:?}");
}

/// A burst of notifications larger than a page is queued whole, only for users who chose a
/// channel, for paper accounts too, and only once however often it is scanned.
fn queues_every_preferred_delivery_of_a_burst_once(db: TestDb) {
    use tradecraft_store::{NotificationRecord, PreferencesRecord, UserRecord};
    let store = &db.store;
    for (user, email) in [(7_u64, "seven@example.com"), (8, "eight@example.com")] {
        let record = UserRecord {
            user_id: user,
            email: email.to_owned(),
            username: email.to_owned(),
            password_hash: String::new(),
            role: "trader".to_owned(),
            created_at_ms: 0,
        };
        store.create_user(&record).unwrap();
    }
    let preferences =
        PreferencesRecord { user_id: 7, email_kinds: vec!["ORDER_FILLED".to_owned()], slack_kinds: Vec::new(), slack_url: None, updated_at_ms: 0 };
    store.put_preferences(&preferences).unwrap();
    // 1,200 fills of user 7's paper account 7 + 2^48, and as many of user 8 (no preferences).
    let paper = 7 + (1_u64 << 48);
    for index in 0..1_200_i64 {
        for (user, prefix) in [(paper, "a"), (8, "b")] {
            let record = NotificationRecord {
                notification_id: format!("{prefix}{index:05}"),
                user_id: user,
                kind: if index % 600 == 599 { "LIKE".to_owned() } else { "ORDER_FILLED".to_owned() },
                title: "Order filled".to_owned(),
                message: String::new(),
                created_at_ms: 1_000 + index / 10,
                read_at_ms: None,
            };
            store.insert_notification(&record).unwrap();
        }
    }
    let owner = |account: u64| account & ((1 << 48) - 1);
    for _ in 0..2 {
        assert_eq!(store.queue_preferred_deliveries(0, 5_000, owner).unwrap(), Some(1_119));
    }
    let due = store.due_notification_deliveries(5_000, 10_000).unwrap();
    assert_eq!(due.len(), 1_198, "every ORDER_FILLED of the paper account, once; no LIKE, nothing of user 8");
    assert!(due.iter().all(|delivery| delivery.channel == "EMAIL" && delivery.target == "seven@example.com"));

    // Deleting user 7 removes what would still reach them (deliveries queued, their
    // channel preferences, price alerts) and their notifications; a notification made
    // afterwards for one of their accounts (the deletion's own cancels, projected later)
    // is not stored, so nothing is queued for them again.
    let alert = |alert_id: &str, user_id: u64| tradecraft_store::PriceAlertRecord {
        alert_id: alert_id.to_owned(),
        user_id,
        symbol: "MOCK".to_owned(),
        direction: "ABOVE".to_owned(),
        price: 1,
        created_at_ms: 0,
        triggered_at_ms: None,
    };
    store.insert_price_alert(7, &alert("p7", paper)).unwrap();
    store.insert_price_alert(8, &alert("p8", 8)).unwrap();
    store.delete_user(7, 6_000).unwrap();
    assert!(store.due_notification_deliveries(6_000, 10_000).unwrap().is_empty());
    assert_eq!(store.preferences(7).unwrap(), None);
    assert!(store.notifications(paper, false, 10).unwrap().is_empty());
    assert!(store.price_alerts(paper).unwrap().is_empty());
    assert_eq!(store.price_alerts(8).unwrap().len(), 1, "another user's stay");
    assert_eq!(store.notifications(8, false, 2_000).unwrap().len(), 1_200, "and their notifications");
    let late = NotificationRecord {
        notification_id: "late".to_owned(),
        user_id: 7,
        kind: "ORDER_CANCELLED".to_owned(),
        title: "Order cancelled".to_owned(),
        message: String::new(),
        created_at_ms: 6_000,
        read_at_ms: None,
    };
    store.insert_notification(&late).unwrap();
    assert!(store.notifications(7, false, 10).unwrap().is_empty(), "a closed account is notified of nothing");
    store.insert_notification(&NotificationRecord { notification_id: "for-8".to_owned(), user_id: 8, ..late }).unwrap();
    assert_eq!(store.notifications(8, false, 2_000).unwrap().len(), 1_201);
}

/// A delivery still waiting for an attempt is given up when its user stops asking for it:
/// a Slack webhook removed or replaced (the old address is never tried again), a kind
/// turned off; one still chosen stays.
fn deliveries_no_longer_chosen_are_given_up(db: TestDb) {
    use tradecraft_store::{NotificationRecord, PreferencesRecord, UserRecord};
    let store = &db.store;
    let user = UserRecord {
        user_id: 7,
        email: "seven@example.com".to_owned(),
        username: "seven".to_owned(),
        password_hash: String::new(),
        role: "trader".to_owned(),
        created_at_ms: 0,
    };
    store.create_user(&user).unwrap();
    let kinds = |list: &[&str]| list.iter().map(|kind| (*kind).to_owned()).collect::<Vec<_>>();
    let choose = |email: &[&str], slack: &[&str], url: Option<&str>| {
        store
            .put_preferences(&PreferencesRecord {
                user_id: 7,
                email_kinds: kinds(email),
                slack_kinds: kinds(slack),
                slack_url: url.map(str::to_owned),
                updated_at_ms: 0,
            })
            .unwrap();
    };
    choose(&["ORDER_FILLED", "LIKE"], &["ORDER_FILLED", "LIKE"], Some("https://hooks.slack.com/old"));
    for (id, kind) in [("n1", "ORDER_FILLED"), ("n2", "LIKE")] {
        let record = NotificationRecord {
            notification_id: id.to_owned(),
            user_id: 7,
            kind: kind.to_owned(),
            title: String::new(),
            message: String::new(),
            created_at_ms: 1_000,
            read_at_ms: None,
        };
        store.insert_notification(&record).unwrap();
    }
    store.queue_preferred_deliveries(0, 2_000, |account| account).unwrap();
    let waiting = || {
        let mut due: Vec<(String, String, String)> = store
            .due_notification_deliveries(10_000, 100)
            .unwrap()
            .into_iter()
            .map(|delivery| (delivery.notification.notification_id, delivery.channel, delivery.target))
            .collect();
        due.sort();
        due
    };
    assert_eq!(waiting().len(), 4);
    // The Slack address replaced, LIKE emails turned off.
    choose(&["ORDER_FILLED"], &["ORDER_FILLED", "LIKE"], Some("https://hooks.slack.com/new"));
    let left = |items: &[(&str, &str, &str)]| items.iter().map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned())).collect::<Vec<_>>();
    assert_eq!(waiting(), left(&[("n1", "EMAIL", "seven@example.com")]), "the old Slack address is not tried again");
    // Email off altogether.
    choose(&[], &[], None);
    assert_eq!(waiting(), left(&[]));
}

/// An idempotency key's life: claimed once; a write made holding it marks it applied in
/// the same transaction; a claim taken over after it went stale cannot write any more (its
/// transaction fails whole); an answer is given back to every retry; another request
/// with the key is told so; a refusal gives the key back.
fn idempotency_keys_are_claimed_fenced_and_answered(db: TestDb) {
    use tradecraft_store::{Claimed, KeyClaim, KeyTimes, marking};
    let store = &db.store;
    let claim = |mark: &str| KeyClaim { scope: "7".to_owned(), key: "k-1".to_owned(), claim: mark.to_owned() };
    let at = |now_ms: i64| KeyTimes { now_ms, stale_before_ms: now_ms - 60_000, expired_before_ms: now_ms - DAY };
    let hook = |id: &str| WebhookRecord { webhook_id: id.to_owned(), user_id: 7, url: format!("https://example.com/{id}"), created_at_ms: T0 };
    let hooks = || store.webhooks(7).unwrap().into_iter().map(|hook| hook.webhook_id).collect::<Vec<_>>();

    assert_eq!(store.claim_key(&claim("first"), "fp", at(T0)).unwrap(), Claimed::Ours);
    assert_eq!(store.claim_key(&claim("second"), "fp", at(T0 + 1_000)).unwrap(), Claimed::InProgress, "the first is still running");
    assert_eq!(store.claim_key(&claim("second"), "other", at(T0 + 1_000)).unwrap(), Claimed::Reused);
    // The first request stalls for over a minute without writing: a retry takes the key
    // over, and the stalled request's write then fails whole.
    assert_eq!(store.claim_key(&claim("second"), "fp", at(T0 + 61_000)).unwrap(), Claimed::Ours);
    assert!(marking(Some(claim("first")), || store.insert_webhook(&hook("late"))).is_err(), "a stale claim wrote");
    assert!(hooks().is_empty(), "{:?}", hooks());
    marking(Some(claim("second")), || store.insert_webhook(&hook("kept"))).unwrap();
    assert_eq!(hooks(), ["kept"]);
    // Written, not yet answered: nobody else runs it, nor may the writer give it back.
    assert_eq!(store.claim_key(&claim("third"), "fp", at(T0 + 200_000)).unwrap(), Claimed::AppliedUnanswered);
    store.release_key(&claim("second")).unwrap();
    assert_eq!(store.claim_key(&claim("third"), "fp", at(T0 + 200_000)).unwrap(), Claimed::AppliedUnanswered);
    store.answer_key(&claim("second"), 201, "{\"webhookId\":\"kept\"}").unwrap();
    let answered = Claimed::Answered { status: 201, body: "{\"webhookId\":\"kept\"}".to_owned() };
    assert_eq!(store.claim_key(&claim("fourth"), "fp", at(T0 + 300_000)).unwrap(), answered);
    assert_eq!(store.claim_key(&claim("fourth"), "other", at(T0 + 300_000)).unwrap(), Claimed::Reused);
    // Writes outside `marking` carry no mark.
    store.insert_webhook(&hook("unkeyed")).unwrap();
    // A day later the key is forgotten and may be used again.
    assert_eq!(store.claim_key(&claim("fifth"), "other", at(T0 + DAY + 1)).unwrap(), Claimed::Ours);
    // A refusal wrote nothing: the key is given back and the next request runs.
    store.release_key(&claim("fifth")).unwrap();
    assert_eq!(store.claim_key(&claim("sixth"), "fp", at(T0 + DAY + 2)).unwrap(), Claimed::Ours);
    assert_eq!(hooks(), ["kept", "unkeyed"]);
}

fn reset_codes_work_once_before_they_expire_and_a_password_change_spends_them(db: TestDb) {
    let store = &db.store;
    let user = UserRecord {
        user_id: 7,
        email: "pat@example.com".into(),
        username: "pat".into(),
        password_hash: "old".into(),
        role: "trader".into(),
        created_at_ms: T0,
    };
    store.create_user(&user).unwrap();
    store.insert_refresh("r1", 7, "family-1", T0 + DAY, T0).unwrap();
    let generation = store.token_generation(7).unwrap().unwrap();
    assert!(store.insert_password_reset("code-1", 7, T0, T0 + 1_000, 2).unwrap());
    assert!(store.insert_password_reset("code-2", 7, T0 + 10, T0 + 1_000, 2).unwrap());
    assert!(!store.insert_password_reset("code-x", 7, T0 + 20, T0 + 1_000, 2).unwrap(), "two an hour");
    assert_eq!(store.password_reset_user("code-x", T0 + 30).unwrap(), None, "a code over the bound is not kept");
    assert!(store.insert_password_reset("code-y", 7, T0 + 3_600_000, T0 + 3_700_000, 2).unwrap(), "the first has left the hour");

    assert_eq!(store.reset_password("code-1", "new", T0 + 1_000).unwrap(), None, "expired at its expiry");
    assert_eq!(store.reset_password("unknown", "new", T0 + 1).unwrap(), None);
    assert_eq!(store.user_by_id(7).unwrap().unwrap().password_hash, "old", "a dead code changes nothing");

    assert_eq!(store.reset_password("code-1", "new", T0 + 500).unwrap(), Some((7, generation + 1)));
    assert_eq!(store.user_by_id(7).unwrap().unwrap().password_hash, "new");
    assert!(store.refresh("r1").unwrap().unwrap().revoked, "every login ends");
    assert_eq!(store.reset_password("code-1", "again", T0 + 600).unwrap(), None, "a code works once");
    assert_eq!(store.reset_password("code-2", "again", T0 + 600).unwrap(), None, "a reset spends the user's other codes");
    assert_eq!(store.user_by_id(7).unwrap().unwrap().password_hash, "new");

    assert!(store.insert_password_reset("code-3", 7, T0 + 700, T0 + 5_000, 9).unwrap());
    store.change_password(7, "changed", T0 + 800).unwrap();
    assert_eq!(store.password_reset_user("code-3", T0 + 900).unwrap(), None, "a password change spends pending codes");
    assert!(store.insert_password_reset("code-4", 7, T0 + 900, T0 + 5_000, 9).unwrap());
    store.delete_user(7, T0 + 940).unwrap();
    assert_eq!(store.password_reset_user("code-4", T0 + 950).unwrap(), None, "deletion removes them");

    // A code that expired over an hour ago is forgotten when the user is given the next:
    // the rows stay bounded by the hourly quota and the codes' lifetime.
    let sam = UserRecord { user_id: 8, email: "sam@example.com".into(), username: "sam".into(), ..user };
    store.create_user(&sam).unwrap();
    let codes = || {
        let rows = store.backend().query("SELECT code_hash FROM password_resets WHERE user_id = $1 ORDER BY code_hash", &[Param::Int(8)]).unwrap();
        rows.iter().map(|row| row.text(0).unwrap().to_owned()).collect::<Vec<_>>()
    };
    assert!(store.insert_password_reset("old-short", 8, T0, T0 + 1_000, 9).unwrap());
    assert!(store.insert_password_reset("used", 8, T0 + 20, T0 + 2_000, 9).unwrap());
    assert!(store.reset_password("used", "sams", T0 + 30).unwrap().is_some());
    assert!(store.insert_password_reset("old-long", 8, T0 + 40, T0 + DAY, 9).unwrap());
    assert!(store.insert_password_reset("recent", 8, T0 + 3_000, T0 + 3_600_000 + 2_500, 9).unwrap());
    assert_eq!(codes(), ["old-long", "old-short", "recent", "used"], "none expired an hour ago yet");
    assert!(store.insert_password_reset("next", 8, T0 + 3_600_000 + 1_500, T0 + 3_600_000 + 9_000, 3).unwrap());
    assert_eq!(codes(), ["next", "old-long", "recent", "used"], "the one expired over an hour ago is gone; the others stay");
    assert!(store.insert_password_reset("later", 8, T0 + 3_600_000 + 2_000, T0 + 3_600_000 + 9_000, 3).unwrap());
    assert_eq!(codes(), ["later", "next", "old-long", "recent"], "so is one that was used, once it expired over an hour ago");
    assert_eq!(store.password_reset_user("old-long", T0 + 3_600_000 + 2_100).unwrap(), Some(8), "a live code is kept");
}

fn an_organisations_groups_and_waiting_invitations_are_bounded(db: TestDb) {
    let store = &db.store;
    store.create_organisation(&OrganisationRecord { org_id: 5, name: "School".into(), created_at_ms: T0 }).unwrap();
    for group in 0..tradecraft_store::ORG_GROUPS_MAX {
        store.create_group(&GroupRecord { group_id: 100 + group, org_id: 5, name: format!("3B-{group}") }, T0).unwrap();
    }
    let one_more = store.create_group(&GroupRecord { group_id: 99, org_id: 5, name: "3C".into() }, T0);
    assert!(matches!(one_more, Err(StoreError::Quota(_))), "{one_more:?}");
    assert_eq!(store.groups(5).unwrap().len() as u64, tradecraft_store::ORG_GROUPS_MAX, "none kept past the bound");

    let invitation = |user: u64, at: i64| InvitationRecord {
        invitation_id: format!("i{user}-{at}"),
        org_id: 5,
        user_id: user,
        role: "member".into(),
        group_id: None,
        created_at_ms: at,
        expires_at_ms: at + DAY,
        status: "PENDING".into(),
        organisation_name: String::new(),
        invited_by: None,
    };
    // One that expired does not count.
    store.insert_invitation(&invitation(1, T0 - 2 * DAY)).unwrap();
    for user in 2..=tradecraft_store::ORG_INVITATIONS_PENDING_MAX + 1 {
        store.insert_invitation(&invitation(user, T0)).unwrap();
    }
    let one_more = store.insert_invitation(&invitation(5_000, T0 + 1));
    assert!(matches!(one_more, Err(StoreError::Quota(_))), "{one_more:?}");
    // A user's invitation replaced is not one more.
    store.insert_invitation(&invitation(2, T0 + 2)).unwrap();

    // Invitations that lapsed with their inviter's rights (user 77 is no admin) do not
    // count either: a demoted admin cannot leave the organisation unable to invite.
    store.create_organisation(&OrganisationRecord { org_id: 6, name: "Academy".into(), created_at_ms: T0 }).unwrap();
    for user in 10_000..=10_000 + tradecraft_store::ORG_INVITATIONS_PENDING_MAX {
        store.insert_invitation(&InvitationRecord { org_id: 6, invited_by: Some(77), ..invitation(user, T0) }).unwrap();
    }
    assert!(store.pending_invitations(None, Some(6), T0 + 1).unwrap().is_empty(), "none of them stands");
    store.insert_invitation(&InvitationRecord { org_id: 6, ..invitation(20_000, T0 + 1) }).unwrap();
}

/// A username names one user, letter case aside; the migration that made it so renames
/// the later holders of a name taken twice before.
fn usernames_are_unique_letter_case_aside(db: TestDb) {
    let store = &db.store;
    let user = |user_id: u64, username: &str| UserRecord {
        user_id,
        email: format!("{user_id}@example.com"),
        username: username.into(),
        password_hash: String::new(),
        role: "trader".into(),
        created_at_ms: T0,
    };
    store.create_user(&user(42, "Ada")).unwrap();
    assert!(matches!(store.create_user(&user(43, "aDA")), Err(StoreError::Conflict(_))), "a name is one user's");
    assert!(store.username_taken("ADA").unwrap());
    assert_eq!(store.free_username("ada", 64).unwrap(), "ada-2");
    store.create_user(&user(43, "ada-2")).unwrap();
    store.create_user(&user(44, "a_a")).unwrap();
    assert_eq!(store.free_username("ada", 64).unwrap(), "ada-3");
    assert_eq!(store.free_username("a_a", 64).unwrap(), "a_a-2");
    assert_eq!(store.free_username("x".repeat(64).as_str(), 64).unwrap(), "x".repeat(64));
    store.create_user(&user(45, &"x".repeat(64))).unwrap();
    assert_eq!(store.free_username("x".repeat(64).as_str(), 64).unwrap(), format!("{}-2", "x".repeat(56)));

    // Names taken twice before the index: the first holder keeps it.
    store.backend().batch("DROP INDEX users_by_username").unwrap();
    for (id, name) in [(46, "bob"), (47, "Bob"), (48, "BOB"), (49, "carol")] {
        store.create_user(&user(id, name)).unwrap();
    }
    store.backend().batch(include_str!("../migrations/0031_unique_usernames.sql")).unwrap();
    let names: Vec<String> = [46, 47, 48, 49, 42].iter().map(|id| store.user_by_id(*id).unwrap().unwrap().username).collect();
    assert_eq!(names, ["bob", "Bob-47", "BOB-48", "carol", "Ada"]);
    assert!(matches!(store.create_user(&user(50, "CAROL")), Err(StoreError::Conflict(_))));

    // Letter case of any alphabet, not only ASCII's, on either store.
    store.create_user(&user(51, "Émile")).unwrap();
    assert!(matches!(store.create_user(&user(52, "éMILE")), Err(StoreError::Conflict(_))), "a name is one user's in any letter case");
    assert!(store.username_taken("ÉMILE").unwrap());
    assert_eq!(store.free_username("émile", 64).unwrap(), "émile-2");
    // A SQLite store holding such names twice from before (its index made with SQLite's
    // own lower()): migration 33 renames the later holder and makes the index again.
    if store.dialect() == tradecraft_store::Dialect::Sqlite {
        store.backend().batch("DROP INDEX users_by_username").unwrap();
        store.create_user(&user(53, "ZOË")).unwrap();
        store.create_user(&user(54, "zoë")).unwrap();
        store.backend().batch(include_str!("../migrations/sqlite/0033_unicode_lower.sql")).unwrap();
        let names: Vec<String> = [53, 54, 51].iter().map(|id| store.user_by_id(*id).unwrap().unwrap().username).collect();
        assert_eq!(names, ["ZOË", "zoë-54", "Émile"]);
        assert!(matches!(store.create_user(&user(55, "Zoë")), Err(StoreError::Conflict(_))));
    }
}

/// Stores user `user_id`, a trader (`{id}@example.com`).
fn add_trader(store: &Store, user_id: u64) {
    let email = format!("{user_id}@example.com");
    store
        .create_user(&UserRecord { user_id, email: email.clone(), username: email, password_hash: String::new(), role: "trader".into(), created_at_ms: T0 })
        .unwrap();
}

/// A trader's order or trade is shared once (its row in the users table locked, so two
/// processes cannot both store one), and again once that share is deleted.
fn an_order_is_shared_once_until_the_share_is_deleted(db: TestDb) {
    use tradecraft_store::ShareRecord;
    let store = &db.store;
    add_trader(store, 7);
    let share = |share_id: &str, kind: &str, reference: &str| ShareRecord {
        share_id: share_id.into(),
        user_id: 7,
        account_id: 7,
        kind: kind.into(),
        reference_id: reference.into(),
        symbol: "MOCK".into(),
        side: "BUY".into(),
        quantity: "1".into(),
        price: None,
        comment: String::new(),
        likes: 0,
        comments: 0,
        created_at_ms: T0,
    };
    store.insert_share(&share("a", "ORDER", "11")).unwrap();
    assert!(matches!(store.insert_share(&share("b", "ORDER", "11")), Err(StoreError::Quota(_))));
    assert_eq!(store.share_of(7, "ORDER", "11").unwrap().as_deref(), Some("a"));
    store.insert_share(&share("c", "TRADE", "11")).unwrap();
    store.insert_share(&share("d", "ORDER", "12")).unwrap();
    assert!(matches!(store.insert_share(&share("e", "ORDER", "1' OR '1'='1")), Err(StoreError::Invalid(_))));
    assert!(store.delete_share(7, "a", T0 + 1).unwrap());
    assert_eq!(store.share_of(7, "ORDER", "11").unwrap(), None);
    store.insert_share(&share("f", "ORDER", "11")).unwrap();
    assert_eq!(store.share_of(7, "ORDER", "11").unwrap().as_deref(), Some("f"));
}

/// Price alerts deleted before they went off no longer count against the 200 a user may
/// keep waiting; an organisation's name is its own, and the migration that made it so
/// renames the later of two alike.
fn deleted_alerts_free_their_place_and_organisation_names_are_unique(db: TestDb) {
    use tradecraft_store::{OrganisationRecord, PriceAlertRecord};
    let store = &db.store;
    add_trader(store, 7);
    let alert = |index: u64| PriceAlertRecord {
        alert_id: format!("alert-{index}"),
        user_id: 7,
        symbol: "MOCK".into(),
        direction: "ABOVE".into(),
        price: 1_000 + index as i64,
        created_at_ms: T0,
        triggered_at_ms: None,
    };
    for index in 0..tradecraft_store::PRICE_ALERTS_MAX {
        store.insert_price_alert(7, &alert(index)).unwrap();
    }
    let full = tradecraft_store::PRICE_ALERTS_MAX;
    assert!(matches!(store.insert_price_alert(7, &alert(full)), Err(StoreError::Quota(_))));
    assert!(store.delete_price_alert(7, "alert-0", T0 + 1).unwrap());
    store.insert_price_alert(7, &alert(full)).unwrap();
    let again = PriceAlertRecord { alert_id: "again".into(), ..alert(full) };
    assert!(matches!(store.insert_price_alert(7, &again), Err(StoreError::Taken { code: "price_alert_exists", .. })));

    let organisation = |org_id: u64, name: &str| OrganisationRecord { org_id, name: name.into(), created_at_ms: T0 };
    store.create_organisation(&organisation(1, "Riverside")).unwrap();
    assert!(matches!(store.create_organisation(&organisation(2, "RIVERSIDE")), Err(StoreError::Taken { code: "organisation_name_taken", .. })));
    assert!(matches!(store.create_organisation(&organisation(1, "Other")), Err(StoreError::Conflict(_))), "an id taken is not a name taken");
    store.backend().batch("DROP INDEX organisations_by_name").unwrap();
    store.create_organisation(&organisation(3, "riverside")).unwrap();
    store.create_organisation(&organisation(4, "Hill")).unwrap();
    store.backend().batch(include_str!("../migrations/0032_unique_organisation_names.sql")).unwrap();
    let names: Vec<String> = [1, 3, 4].iter().map(|id| store.organisation(*id).unwrap().unwrap().name).collect();
    assert_eq!(names, ["Riverside", "riverside (3)", "Hill"]);
}

/// Followers and a user's shares are read a page at a time however many there are (the
/// API once read the first 1,000 and paged those): public followers named, private ones
/// counted.
fn follows_and_shares_are_paged_past_a_thousand(db: TestDb) {
    let store = &db.store;
    let fans = 1_000..2_003_u64;
    let profiles: Vec<String> = fans.clone().map(|fan| format!("({fan}, 'Fan {fan}', '', {}, 0)", u64::from(fan % 100 != 0))).collect();
    store.backend().batch(&format!("INSERT INTO profiles (user_id, display_name, bio, public, updated_at) VALUES {}", profiles.join(", "))).unwrap();
    let follows: Vec<String> = fans.clone().map(|fan| format!("({fan}, 7, {fan})")).collect();
    store.backend().batch(&format!("INSERT INTO follows (follower_id, followee_id, created_at) VALUES {}", follows.join(", "))).unwrap();
    let page = store.public_follow_page(7, true, 990, 100).unwrap();
    assert_eq!((page.public, page.private), (992, 11));
    let names: Vec<&str> = page.users.iter().map(|(_, name)| name.as_str()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert_eq!(names, ["Fan 1002", "Fan 1001"], "the oldest public ones, newest first");
    let page = store.public_follow_page(7, true, 0, 2).unwrap();
    assert_eq!(page.users.iter().map(|(entry, _)| entry.user_id).collect::<Vec<_>>(), [2002, 2001]);
    let page = store.public_follow_page(1_000, false, 0, 10).unwrap();
    assert_eq!((page.users.len(), page.public, page.private), (0, 0, 1), "user 7 has no profile: counted as private");

    // A user's shares, likewise.
    let shares: Vec<String> =
        (0..1_003).map(|index| format!("('s{index:04}', 7, 7, 'ORDER', '{index}', 'MOCK', 'BUY', '1', NULL, '', 0, 0, {index})")).collect();
    store
        .backend()
        .batch(&format!(
            "INSERT INTO shares (share_id, user_id, account_id, kind, reference_id, symbol, side, quantity, price, comment, likes, comments, created_at) VALUES {}",
            shares.join(", ")
        ))
        .unwrap();
    let (page, more) = store.shares_page(7, 1_000, 100).unwrap();
    assert_eq!((page.iter().map(|share| share.share_id.as_str()).collect::<Vec<_>>(), more), (vec!["s0002", "s0001", "s0000"], false));
    let (page, more) = store.shares_page(7, 999, 1).unwrap();
    assert_eq!((page[0].share_id.as_str(), more), ("s0003", true));
    // A user's export reads up to 10,000 of each (it once stopped at 1,000).
    let max = tradecraft_store::EXPORT_LIMIT_MAX;
    assert_eq!(store.follow_list(7, true, 0, max).unwrap().0.len(), 1_003);
    assert_eq!(store.own_shares(7, max).unwrap().len(), 1_003);
}

macro_rules! backend_suite {
    ($backend:ident: $($test:ident),* $(,)?) => {
        mod $backend {
            $(
                #[test]
                fn $test() {
                    super::$test(super::$backend());
                }
            )*
        }
    };
}

backend_suite!(sqlite:
    follows_and_shares_are_paged_past_a_thousand,
    deleted_alerts_free_their_place_and_organisation_names_are_unique,
    an_order_is_shared_once_until_the_share_is_deleted,
    usernames_are_unique_letter_case_aside,
    an_organisations_groups_and_waiting_invitations_are_bounded,
    projects_trade_history_with_filters_paging_and_text_search,
    projects_fifo_positions_orders_and_the_cash_statement,
    computes_volume_performance_and_the_leaderboard,
    returns_run_from_funding_and_rank_from_the_first_trade,
    applies_each_event_exactly_once_across_failures_restarts_and_rebuilds,
    holds_back_events_of_commands_the_engine_has_not_finished,
    keeps_users_tokens_keys_and_the_audit_trail,
    limit_breaches_become_alerts_queued_for_webhooks,
    a_deposed_engines_late_writes_change_nothing,
    keeps_watchlists_with_names_unique_per_user,
    projects_exit_legs_held_placed_grown_and_cancelled,
    queues_every_preferred_delivery_of_a_burst_once,
    deliveries_no_longer_chosen_are_given_up,
    a_closed_account_is_notified_of_nothing_the_projector_reaches_later,
    idempotency_keys_are_claimed_fenced_and_answered,
    marks_positions_and_triggers_alerts_at_the_markets_price_between_trades,
    reset_codes_work_once_before_they_expire_and_a_password_change_spends_them,
);

backend_suite!(postgres:
    follows_and_shares_are_paged_past_a_thousand,
    deleted_alerts_free_their_place_and_organisation_names_are_unique,
    an_order_is_shared_once_until_the_share_is_deleted,
    usernames_are_unique_letter_case_aside,
    an_organisations_groups_and_waiting_invitations_are_bounded,
    projects_trade_history_with_filters_paging_and_text_search,
    projects_fifo_positions_orders_and_the_cash_statement,
    computes_volume_performance_and_the_leaderboard,
    returns_run_from_funding_and_rank_from_the_first_trade,
    applies_each_event_exactly_once_across_failures_restarts_and_rebuilds,
    holds_back_events_of_commands_the_engine_has_not_finished,
    keeps_users_tokens_keys_and_the_audit_trail,
    limit_breaches_become_alerts_queued_for_webhooks,
    a_deposed_engines_late_writes_change_nothing,
    keeps_watchlists_with_names_unique_per_user,
    projects_exit_legs_held_placed_grown_and_cancelled,
    queues_every_preferred_delivery_of_a_burst_once,
    deliveries_no_longer_chosen_are_given_up,
    a_closed_account_is_notified_of_nothing_the_projector_reaches_later,
    idempotency_keys_are_claimed_fenced_and_answered,
    marks_positions_and_triggers_alerts_at_the_markets_price_between_trades,
    reset_codes_work_once_before_they_expire_and_a_password_change_spends_them,
);

#[test]
fn sqlite_and_postgres_hold_the_same_rows() {
    let exchange = scenario();
    let (lite, pg) = (sqlite(), postgres());
    project(&lite.store, &exchange);
    project(&pg.store, &exchange);
    assert_eq!(dump(&lite.store), dump(&pg.store));
}

#[test]
fn store_urls_are_checked() {
    assert!(matches!(Store::open("sqlite:"), Err(StoreError::Url(_))));
    assert!(matches!(Store::open("postgres://nobody@127.0.0.1:1/none"), Err(StoreError::Database(_))));
}

/// The API runs store queries on tokio's blocking pool; the PostgreSQL backend drives its
/// own runtime from there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_answers_from_the_blocking_pool_of_another_runtime() {
    let db = tokio::task::spawn_blocking(postgres).await.unwrap();
    let store = db.store.clone();
    let page = tokio::task::spawn_blocking(move || store.search_trades(&search(ALICE))).await.unwrap().unwrap();
    assert_eq!(page.total_count, 0);
    // A server shutting down drops its store inside a task.
    let Cleanup::Database(name) = &db.cleanup else { unreachable!() };
    let url = with_database(&admin_url(), name);
    let extra = tokio::task::spawn_blocking(move || Store::open(&url)).await.unwrap().unwrap();
    drop(extra);
    tokio::task::spawn_blocking(move || drop(db)).await.unwrap();
}

/// Every process of a deployment opens the store at start-up: started together against a
/// new database, they must not trip over each other's migrations.
#[test]
fn stores_opened_at_once_on_a_new_database_all_migrate_it_once() {
    let name = unique("concurrent");
    create_database(&admin_url(), &name).unwrap();
    let url = with_database(&admin_url(), &name);
    let opened: Vec<Result<Store, StoreError>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..8).map(|_| scope.spawn(|| Store::open(&url))).collect();
        workers.into_iter().map(|worker| worker.join().unwrap()).collect()
    });
    for store in &opened {
        assert!(store.is_ok(), "{store:?}");
    }
    let store = opened.into_iter().next().unwrap().unwrap();
    let versions = store.backend().query("SELECT version, COUNT(*) FROM schema_migrations GROUP BY version HAVING COUNT(*) > 1", &[]).unwrap();
    assert!(versions.is_empty(), "a migration ran twice: {versions:?}");
    drop(store);
    drop_database(&admin_url(), &name).unwrap();
}
