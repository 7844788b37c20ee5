//! A compact command language for scenario tests, and a one-line rendering of events.
//!
//! ```text
//! list MOCK tick=0.01 lot=1 min=1 band=500
//! account 1 [house] [tx=9 cash=500]   (with tx: its opening cash deposited in the same step)
//! deposit 1 tx=7 cash 1000        | deposit 2 tx=8 MOCK 50      | withdraw ...
//! buy 1 #10 MOCK 5 limit 100 [gtc|day|ioc|fok] [post] [cid=abc] [stp=taking]
//! sell 2 #11 MOCK 5 market        | buy 1 #12 MOCK $500 market
//! sell 2 #13 MOCK 5 stop 95       | stoplimit 95 94 | trail 2 | trail 150bp
//! cancel 1 #10 | replace 1 #10 qty=3 price=101 [cid=new] [tif=day] | cancelall 1 [MOCK] | eos [MOCK]
//! requote 3 MOCK #20:buy:5@99 #21:sell:5@101   (account 3's orders in MOCK replaced at once)
//! open [MOCK] | close [MOCK]      (the session; `opg` / `cls` orders wait for its edges)
//! buy 1 #10 MOCK 5 limit 100 tp=#11@110 sl=#12@95[/94] [oco]   (exits: bracket, OTO, OCO)
//! halt MOCK | resume MOCK | limits 1 maxqty=10 maxnotional=500 maxopen=2 off
//! limits 1 maxpos=5 maxgross=900 daynotional=500 dayloss=50 perminute=2 tradesperday=3
//!          allow=MOCK,ABC block=XYZ types=LIMIT,STOP hours=540-960 minprice=5 sharebp=2500
//! group-limits 7 ... | org-limits 9 ... | member 1 group=7 org=9
//! @86400 buy ...                  (the command's time: seconds since the epoch)
//! ```

use tradecraft_engine::{
    AccountKind, AccountLimits, Amount, BookLevel, Command, ContingentOrder, Engine, Event, ExitLeg, IdempotencyKey, InstrumentSpec, LimitScope, NewOrder,
    OrderClass, OrderKind, OrderSize, OrderTypes, QuoteOrder, SelfTradePrevention, TimeInForce, TradingHours, Trail,
};
use tradecraft_types::{AccountId, ClientOrderId, Money, OrderId, Price, Quantity, Side, Symbol, TransactionId};

pub(crate) fn symbol(text: &str) -> Symbol {
    Symbol::new(text).unwrap()
}

fn account(text: &str) -> AccountId {
    AccountId(text.parse().unwrap())
}

fn order_id(text: &str) -> OrderId {
    OrderId(text.strip_prefix('#').expect("order ids start with #").parse().unwrap())
}

fn option<'a>(words: &[&'a str], key: &str) -> Option<&'a str> {
    words.iter().find_map(|word| word.strip_prefix(key).and_then(|rest| rest.strip_prefix('=')))
}

fn symbols(text: &str) -> Vec<Symbol> {
    text.split(',').map(symbol).collect()
}

fn parse_limits(words: &[&str]) -> AccountLimits {
    let quantity = |key| option(words, key).map(|text| Quantity::parse(text).unwrap());
    let money = |key| option(words, key).map(|text| Money::parse(text).unwrap());
    let number = |key| option(words, key).map(|text| text.parse().unwrap());
    AccountLimits {
        trading_enabled: !words.contains(&"off"),
        max_order_quantity: quantity("maxqty"),
        max_order_notional: money("maxnotional"),
        max_open_orders: number("maxopen"),
        max_position: quantity("maxpos"),
        max_gross_exposure: money("maxgross"),
        max_daily_notional: money("daynotional"),
        max_daily_loss: money("dayloss"),
        max_orders_per_minute: number("perminute"),
        max_trades_per_day: number("tradesperday"),
        allowed_symbols: option(words, "allow").map(symbols),
        blocked_symbols: option(words, "block").map(symbols).unwrap_or_default(),
        allowed_order_types: option(words, "types")
            .map(|text| OrderTypes(text.split(',').map(|name| OrderTypes::bit(name).unwrap()).fold(0, |all, bit| all | bit))),
        trading_hours: option(words, "hours").map(|text| {
            let (start, end) = text.split_once('-').unwrap();
            TradingHours { start_minute: start.parse().unwrap(), end_minute: end.parse().unwrap() }
        }),
        min_share_price: option(words, "minprice").map(|text| Price::parse(text).unwrap()),
        max_symbol_share_bps: number("sharebp"),
    }
}

/// Parses one script line into a command.
pub(crate) fn parse(line: &str) -> Command {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words[0] {
        "list" => Command::ListInstrument(InstrumentSpec {
            symbol: symbol(words[1]),
            tick_size: Price::parse(option(&words, "tick").unwrap_or("0.01")).unwrap(),
            lot_size: Quantity::parse(option(&words, "lot").unwrap_or("1")).unwrap(),
            min_quantity: Quantity::parse(option(&words, "min").unwrap_or("1")).unwrap(),
            price_band_bps: option(&words, "band").unwrap_or("500").parse().unwrap(),
        }),
        "halt" => Command::HaltInstrument { symbol: symbol(words[1]) },
        "resume" => Command::ResumeInstrument { symbol: symbol(words[1]) },
        "account" => {
            let kind = if words.get(2) == Some(&"house") { AccountKind::House } else { AccountKind::Cash };
            let deposit = option(&words, "tx").map(|text| (TransactionId(text.parse().unwrap()), Money::parse(option(&words, "cash").unwrap()).unwrap()));
            Command::CreateAccount { account: account(words[1]), kind, deposit }
        }
        "deposit" | "withdraw" => {
            let transaction = TransactionId(option(&words, "tx").unwrap().parse().unwrap());
            let amount = match words[3] {
                "cash" => Amount::Cash(Money::parse(words[4]).unwrap()),
                other => Amount::Shares(symbol(other), Quantity::parse(words[4]).unwrap()),
            };
            let account = account(words[1]);
            if words[0] == "deposit" { Command::Deposit { account, transaction, amount } } else { Command::Withdraw { account, transaction, amount } }
        }
        "reset" => Command::ResetAccount {
            account: account(words[1]),
            first: TransactionId(option(&words, "tx").unwrap().parse().unwrap()),
            cash: Money::parse(words[4]).unwrap(),
        },
        "limits" | "group-limits" | "org-limits" => Command::SetLimits {
            scope: match words[0] {
                "limits" => LimitScope::Account(account(words[1])),
                "group-limits" => LimitScope::Group(words[1].parse().unwrap()),
                _ => LimitScope::Organisation(words[1].parse().unwrap()),
            },
            limits: parse_limits(&words),
        },
        "member" => Command::SetMembership {
            account: account(words[1]),
            group: option(&words, "group").map(|text| text.parse().unwrap()),
            organisation: option(&words, "org").map(|text| text.parse().unwrap()),
        },
        // `key=DIGEST/FINGERPRINT`: the order carries an idempotency key.
        "buy" | "sell" => {
            let key = option(&words, "key")
                .and_then(|text| text.split_once('/'))
                .map(|(digest, fingerprint)| IdempotencyKey { key: digest.parse().unwrap(), fingerprint: fingerprint.parse().unwrap() });
            let (take_profit, stop_loss) = (option(&words, "tp").map(|text| parse_leg(text, false)), option(&words, "sl").map(|text| parse_leg(text, true)));
            if take_profit.is_some() || stop_loss.is_some() {
                let class = match (words.contains(&"oco"), take_profit.is_some() && stop_loss.is_some()) {
                    (true, _) => OrderClass::OneCancelsOther,
                    (false, true) => OrderClass::Bracket,
                    (false, false) => OrderClass::OneTriggersOther,
                };
                let order = Box::new(ContingentOrder { class, order: parse_order(&words), take_profit, stop_loss });
                return Command::PlaceContingent { order, key };
            }
            match key {
                Some(key) => Command::PlaceOrderOnce { order: parse_order(&words), key },
                None => Command::PlaceOrder(parse_order(&words)),
            }
        }
        "cancel" => Command::CancelOrder { account: account(words[1]), order_id: order_id(words[2]) },
        "replace" => Command::ReplaceOrder {
            account: account(words[1]),
            order_id: order_id(words[2]),
            quantity: option(&words, "qty").map(|text| Quantity::parse(text).unwrap()),
            price: option(&words, "price").map(|text| Price::parse(text).unwrap()),
            stop_price: option(&words, "stop").map(|text| Price::parse(text).unwrap()),
            trail: option(&words, "trail").map(|text| match text.strip_suffix("bp") {
                Some(bps) => Trail::Percent { basis_points: bps.parse().unwrap() },
                None => Trail::Amount(Price::parse(text).unwrap()),
            }),
            client_order_id: option(&words, "cid").map(|text| ClientOrderId::new(text).unwrap()),
            time_in_force: option(&words, "tif").map(|text| match text {
                "day" => TimeInForce::Day,
                "gtc" => TimeInForce::GoodTillCancel,
                "ioc" => TimeInForce::ImmediateOrCancel,
                other => panic!("unknown time in force {other:?}"),
            }),
        },
        "cancelall" => Command::CancelAll { account: account(words[1]), symbol: words.get(2).map(|text| symbol(text)) },
        // requote ACCOUNT SYMBOL #ID:buy|sell:QTY@PRICE ...
        "requote" => Command::Requote {
            account: account(words[1]),
            symbol: symbol(words[2]),
            orders: words[3..]
                .iter()
                .map(|text| {
                    let (id, rest) = text.split_once(':').unwrap();
                    let (side, rest) = rest.split_once(':').unwrap();
                    let (quantity, price) = rest.split_once('@').unwrap();
                    QuoteOrder {
                        order_id: order_id(id),
                        side: if side == "buy" { Side::Buy } else { Side::Sell },
                        price: Price::parse(price).unwrap(),
                        quantity: Quantity::parse(quantity).unwrap(),
                    }
                })
                .collect(),
        },
        "eos" => Command::EndOfSession { symbol: words.get(1).map(|text| symbol(text)) },
        "open" => Command::OpenSession { symbol: words.get(1).map(|text| symbol(text)) },
        "close" => Command::CloseSession { symbol: words.get(1).map(|text| symbol(text)) },
        other => panic!("unknown script command {other:?}"),
    }
}

/// `#ID@PRICE` (a take profit's limit or a stop loss's stop) or `#ID@STOP/LIMIT` (a stop limit).
fn parse_leg(text: &str, stop: bool) -> ExitLeg {
    let (id, prices) = text.split_once('@').unwrap();
    let price = |text: &str| Price::parse(text).unwrap();
    let kind = match prices.split_once('/') {
        Some((stop, limit)) => OrderKind::StopLimit { stop_price: price(stop), limit_price: price(limit) },
        None if stop => OrderKind::Stop { stop_price: price(prices) },
        None => OrderKind::Limit { price: price(prices) },
    };
    ExitLeg { order_id: order_id(id), kind }
}

fn parse_order(words: &[&str]) -> NewOrder {
    let price = |index: usize| Price::parse(words[index]).unwrap();
    let size = match words[4].strip_prefix('$') {
        Some(cash) => OrderSize::Notional(Money::parse(cash).unwrap()),
        None => OrderSize::Quantity(Quantity::parse(words[4]).unwrap()),
    };
    let (kind, rest) = match words[5] {
        "market" => (OrderKind::Market, 6),
        "limit" => (OrderKind::Limit { price: price(6) }, 7),
        "stop" => (OrderKind::Stop { stop_price: price(6) }, 7),
        "stoplimit" => (OrderKind::StopLimit { stop_price: price(6), limit_price: price(7) }, 8),
        "trail" => {
            let trail = match words[6].strip_suffix("bp") {
                Some(bps) => Trail::Percent { basis_points: bps.parse().unwrap() },
                None => Trail::Amount(price(6)),
            };
            (OrderKind::TrailingStop { trail }, 7)
        }
        other => panic!("unknown order type {other:?}"),
    };
    let flags = &words[rest..];
    let time_in_force = if flags.contains(&"day") {
        TimeInForce::Day
    } else if flags.contains(&"ioc") {
        TimeInForce::ImmediateOrCancel
    } else if flags.contains(&"fok") {
        TimeInForce::FillOrKill
    } else if flags.contains(&"opg") {
        TimeInForce::AtTheOpen
    } else if flags.contains(&"cls") {
        TimeInForce::AtTheClose
    } else {
        TimeInForce::GoodTillCancel
    };
    NewOrder {
        order_id: order_id(words[2]),
        account: account(words[1]),
        symbol: symbol(words[3]),
        side: if words[0] == "buy" { Side::Buy } else { Side::Sell },
        kind,
        size,
        time_in_force,
        post_only: flags.contains(&"post"),
        client_order_id: option(flags, "cid").map(|text| ClientOrderId::new(text).unwrap()),
        self_trade_prevention: option(flags, "stp").map(|mode| match mode {
            "resting" => SelfTradePrevention::CancelResting,
            "taking" => SelfTradePrevention::CancelTaking,
            "both" => SelfTradePrevention::CancelBoth,
            other => panic!("unknown stp {other:?}"),
        }),
    }
}

fn level(level: Option<BookLevel>) -> String {
    level.map_or_else(|| "-".to_owned(), |level| format!("{}x{}", level.price, level.quantity))
}

/// One line per event, terse but complete enough to review by eye.
pub(crate) fn render(event: &Event) -> String {
    match event {
        Event::InstrumentListed { symbol } => format!("listed {symbol}"),
        Event::InstrumentHalted { symbol } => format!("halted {symbol}"),
        Event::InstrumentResumed { symbol } => format!("resumed {symbol}"),
        Event::SessionOpened { symbol } => format!("session-opened {symbol}"),
        Event::SessionClosed { symbol } => format!("session-closed {symbol}"),
        Event::AccountCreated { account, kind } => format!("account {account} {kind:?}"),
        Event::Deposited { account, transaction, amount } => format!("deposited {account} tx={transaction} {amount:?}"),
        Event::Withdrawn { account, transaction, amount } => format!("withdrawn {account} tx={transaction} {amount:?}"),
        Event::TransferAlreadyApplied { account, transaction } => format!("already-applied {account} tx={transaction}"),
        Event::LimitsSet { scope } => match scope {
            LimitScope::Account(account) => format!("limits-set {account}"),
            LimitScope::Group(group) => format!("limits-set group {group}"),
            LimitScope::Organisation(organisation) => format!("limits-set org {organisation}"),
        },
        Event::MembershipSet { account, group, organisation } => format!(
            "member {account} group={} org={}",
            group.map_or("-".to_owned(), |id| id.to_string()),
            organisation.map_or("-".to_owned(), |id| id.to_string())
        ),
        Event::OrderRepeated { order_id, account, original, rejected } => {
            format!("repeated #{order_id} {account} of #{original}{}", rejected.map(|reason| format!(" rejected {}", reason.code())).unwrap_or_default())
        }
        Event::CommandRejected { account, order_id, reason } => {
            let order = order_id.map(|id| format!(" #{id}")).unwrap_or_default();
            let account = account.map(|id| format!(" {id}")).unwrap_or_default();
            format!("command-rejected{account}{order} {}", reason.code())
        }
        Event::OrderRejected { order_id, reason, .. } => {
            format!("rejected #{order_id} {} {}", reason.code(), reason.failure_status().as_str())
        }
        Event::OrderAccepted(order) => format!(
            "accepted #{} {} {} {} {:?} qty={}{} reserved={}",
            order.order_id,
            order.account,
            order.side.as_str(),
            order.symbol,
            order.kind,
            order.quantity,
            order.notional.map(|cash| format!(" notional={cash}")).unwrap_or_default(),
            order.reserved_cash,
        ),
        Event::OrderTriggered { order_id, stop_price, .. } => format!("triggered #{order_id} at {stop_price}"),
        Event::OrderReleased { order_id, .. } => format!("released #{order_id} at the open"),
        Event::Trade(trade) => format!(
            "trade t{} {} {}@{} taker=#{}({}) maker=#{}({}) fees={}/{} seq={}",
            trade.trade_id,
            trade.taker_side.as_str(),
            trade.quantity,
            trade.price,
            trade.taker_order_id,
            trade.taker_account,
            trade.maker_order_id,
            trade.maker_account,
            trade.taker_fee,
            trade.maker_fee,
            trade.sequence,
        ),
        Event::OrderReplaced { order_id, price, stop_price, quantity, priority_kept, client_order_id, time_in_force, .. } => {
            let price = price.map_or("market".to_owned(), |price| price.to_string());
            let stop = stop_price.map(|stop| format!(" stop={stop}")).unwrap_or_default();
            let client = client_order_id.as_ref().map(|client| format!(" cid={}", client.as_str())).unwrap_or_default();
            let lasts = time_in_force.map(|lasts| format!(" tif={lasts:?}")).unwrap_or_default();
            format!("replaced #{order_id} {quantity}@{price}{stop}{client}{lasts} priority_kept={priority_kept}")
        }
        Event::OrderDone { order_id, reason, filled, .. } => format!("done #{order_id} {reason:?} filled={filled}"),
        Event::ContingentAccepted { order_id, class, take_profit, stop_loss, .. } => {
            let leg = |name: &str, leg: &Option<ExitLeg>| leg.map(|leg| format!(" {name}=#{} {:?}", leg.order_id, leg.kind)).unwrap_or_default();
            format!("contingent #{order_id} {class:?}{}{}", leg("tp", take_profit), leg("sl", stop_loss))
        }
        Event::LegResized { order_id, quantity, filled, .. } => format!("resized #{order_id} qty={quantity} filled={filled}"),
        Event::LegCancelled { order_id, entry, .. } => format!("leg-cancelled #{order_id} of #{entry}"),
        Event::BestBidOffer { symbol, sequence, bid, ask } => {
            format!("bbo {symbol} {} / {} seq={sequence}", level(*bid), level(*ask))
        }
    }
}

/// Runs a script; returns the rendered events with `>` before each command line.
pub(crate) fn run(engine: &mut Engine, script: &str) -> String {
    let mut out = String::new();
    let mut events = Vec::new();
    for (index, line) in script.lines().map(str::trim).filter(|line| !line.is_empty()).enumerate() {
        events.clear();
        // `@SECONDS command`: the command's time, in seconds since the epoch.
        let (at, command) = match line.strip_prefix('@').and_then(|rest| rest.split_once(' ')) {
            Some((seconds, command)) => (seconds.parse::<u64>().unwrap() * 1_000_000_000, command),
            None => (index as u64 + 1, line),
        };
        engine.apply(&parse(command), at, &mut events);
        engine.check_invariants().unwrap_or_else(|error| panic!("after {line:?}: {error}"));
        out.push_str("> ");
        out.push_str(line);
        out.push('\n');
        for event in &events {
            out.push_str("  ");
            out.push_str(&render(event));
            out.push('\n');
        }
    }
    out
}

/// Renders an account's balances: `cash avail/reserved; SYM avail/reserved`.
pub(crate) fn balances(engine: &Engine, id: u64) -> String {
    let view = engine.account(AccountId(id)).unwrap();
    let mut text = format!("{id}: cash {}/{}", Money::from_raw(view.cash.available), Money::from_raw(view.cash.reserved));
    for (symbol, balance) in view.holdings {
        text.push_str(&format!("; {symbol} {}/{}", Quantity::from_raw(balance.available), Quantity::from_raw(balance.reserved)));
    }
    text
}
