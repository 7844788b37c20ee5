//! Seeded random command streams over a small market: replay exactly from the seed.

use tradecraft_engine::{
    AccountKind, AccountLimits, Amount, Command, ContingentOrder, ExitLeg, IdempotencyKey, InstrumentSpec, LimitScope, NewOrder, OrderClass, OrderKind,
    OrderSize, OrderTypes, QuoteOrder, SelfTradePrevention, TimeInForce, Trail,
};
use tradecraft_types::{AccountId, ClientOrderId, Money, OrderId, Price, Quantity, Side, Symbol, TransactionId};

/// One of a few client order ids, so that some are taken when asked for again; every
/// other one as long as the longest taken (snapshots and replays carry them whole).
fn client_id(number: u64) -> ClientOrderId {
    let text = format!("client-{number}");
    let text = if number.is_multiple_of(2) { format!("{text:x<width$}", width = ClientOrderId::MAX_LENGTH) } else { text };
    ClientOrderId::new(&text).expect("a valid client order id")
}

/// SplitMix64: tiny, fast, and the same everywhere.
pub(crate) struct Random(u64);

impl Random {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const ACCOUNTS: [u64; 6] = [1, 2, 3, 4, 5, 9];
const HOUSE: u64 = 9;
/// Holds cash only, so its sells meet accounts with no holding row at all.
const CASH_ONLY: u64 = 5;

fn symbols() -> [Symbol; 2] {
    [Symbol::new("MOCK").unwrap(), Symbol::new("FRAC").unwrap()]
}

/// Commands that set up two instruments, four traders and a house account.
pub(crate) fn setup() -> Vec<Command> {
    let [mock, frac] = symbols();
    let mut commands = vec![
        Command::ListInstrument(InstrumentSpec {
            symbol: mock,
            tick_size: Price::parse("0.01").unwrap(),
            lot_size: Quantity::from_units(1),
            min_quantity: Quantity::from_units(1),
            price_band_bps: 300,
        }),
        Command::ListInstrument(InstrumentSpec {
            symbol: frac,
            tick_size: Price::parse("0.05").unwrap(),
            lot_size: Quantity::parse("0.001").unwrap(),
            min_quantity: Quantity::parse("0.01").unwrap(),
            price_band_bps: 500,
        }),
    ];
    let mut transaction = 0;
    for account in ACCOUNTS {
        let kind = if account == HOUSE { AccountKind::House } else { AccountKind::Cash };
        let shares = [Amount::Shares(mock, Quantity::from_units(40)), Amount::Shares(frac, Quantity::from_units(3))];
        let holdings = if account == CASH_ONLY { &shares[..0] } else { &shares[..] };
        // Half the accounts open with their cash in the same command, half deposit it after.
        let cash = Money::from_units(2_000);
        let opening = account % 2 == 0;
        transaction += 1;
        commands.push(Command::CreateAccount { account: AccountId(account), kind, deposit: opening.then_some((TransactionId(transaction), cash)) });
        for &amount in (!opening).then_some(&Amount::Cash(cash)).into_iter().chain(holdings) {
            transaction += 1;
            commands.push(Command::Deposit { account: AccountId(account), transaction: TransactionId(transaction), amount });
        }
    }
    commands
}

/// A stream of `length` random commands after [`setup`]; order ids count up from 1.
pub(crate) fn stream(seed: u64, length: usize) -> Vec<Command> {
    let mut random = Random::new(seed);
    let symbols = symbols();
    let mut commands = setup();
    let mut next_order = 1_u64;
    let mut next_transaction = 1_000_u64;
    // Recent orders with their owners, so cancels and replaces mostly hit live orders.
    let mut placed: Vec<(OrderId, AccountId)> = Vec::new();
    let mut last_transfer: Option<Command> = None;
    for _ in 0..length {
        let account = AccountId(ACCOUNTS[random.below(ACCOUNTS.len() as u64) as usize]);
        let instrument = random.below(2) as usize;
        let symbol = symbols[instrument];
        let (tick, lot) = if instrument == 0 { (100, 10_000) } else { (500, 10) };
        // Prices cluster around 100 so books cross often; a few land far away, beyond the
        // ladder's dense window, so its growth and overflow paths run too.
        let price = if random.chance(4) {
            Price::from_raw(tick * (1 + random.below(2_000_000 / tick as u64) as i64))
        } else {
            Price::from_raw(1_000_000 + (random.below(41) as i64 - 20) * tick)
        };
        let quantity = Quantity::from_raw(lot * (1 + random.below(if instrument == 0 { 12 } else { 2_000 }) as i64));
        let (earlier_order, owner) = if !placed.is_empty() && random.chance(85) {
            let recent = placed.len().min(40) as u64;
            placed[placed.len() - 1 - random.below(recent) as usize]
        } else {
            (OrderId(1 + random.below(next_order)), account)
        };
        let roll = random.below(100);
        let command = match roll {
            0..=49 => {
                let kind = match random.below(10) {
                    0 => OrderKind::Market,
                    1 => OrderKind::Stop { stop_price: price },
                    2 => OrderKind::StopLimit { stop_price: price, limit_price: price },
                    3 => OrderKind::TrailingStop {
                        trail: if random.chance(50) {
                            Trail::Amount(Price::from_raw(tick * (1 + random.below(50) as i64)))
                        } else {
                            Trail::Percent { basis_points: 1 + random.below(500) as u32 }
                        },
                    },
                    _ => OrderKind::Limit { price },
                };
                let side = if random.chance(50) { Side::Buy } else { Side::Sell };
                let size = if kind == OrderKind::Market && side == Side::Buy && random.chance(30) {
                    OrderSize::Notional(Money::from_units(1 + random.below(400) as i64))
                } else {
                    OrderSize::Quantity(quantity)
                };
                let time_in_force = match random.below(12) {
                    0 => TimeInForce::ImmediateOrCancel,
                    1 => TimeInForce::FillOrKill,
                    2 | 3 => TimeInForce::Day,
                    10 => TimeInForce::AtTheOpen,
                    11 => TimeInForce::AtTheClose,
                    _ => TimeInForce::GoodTillCancel,
                };
                let order_id = OrderId(next_order);
                next_order += 1;
                placed.push((order_id, account));
                let order = NewOrder {
                    order_id,
                    account,
                    symbol,
                    side,
                    kind,
                    size,
                    time_in_force,
                    post_only: matches!(kind, OrderKind::Limit { .. }) && random.chance(10),
                    client_order_id: random.chance(10).then(|| client_id(random.below(8))),
                    self_trade_prevention: match random.below(6) {
                        0 => Some(SelfTradePrevention::CancelTaking),
                        1 => Some(SelfTradePrevention::CancelBoth),
                        _ => None,
                    },
                };
                let key = random.chance(15).then(|| IdempotencyKey { key: u128::from(random.below(8)), fingerprint: random.below(2) });
                // Some orders carry exits (bracket, OTO, OCO) a few ticks either side.
                if matches!(size, OrderSize::Quantity(_)) && random.chance(20) {
                    let class = match random.below(3) {
                        0 => OrderClass::Bracket,
                        1 => OrderClass::OneTriggersOther,
                        _ => OrderClass::OneCancelsOther,
                    };
                    let exit_side = if class == OrderClass::OneCancelsOther { side } else { side.opposite() };
                    let away = |random: &mut Random, up: bool| {
                        let ticks = 1 + random.below(8) as i64;
                        Price::from_raw((price.raw() + if up { ticks } else { -ticks } * tick).max(tick))
                    };
                    // Mostly valid (take profit beyond the stop), sometimes not.
                    let profit_up = (exit_side == Side::Sell) != random.chance(5);
                    let take_profit_price = away(&mut random, profit_up);
                    let stop_price = away(&mut random, !profit_up);
                    let stop_kind = if random.chance(50) {
                        OrderKind::Stop { stop_price }
                    } else {
                        OrderKind::StopLimit { stop_price, limit_price: away(&mut random, !profit_up) }
                    };
                    let mut leg = |kind| {
                        let leg = ExitLeg { order_id: OrderId(next_order), kind };
                        placed.push((leg.order_id, account));
                        next_order += 1;
                        leg
                    };
                    let (with_profit, with_stop) = match class {
                        OrderClass::Bracket => (true, true),
                        OrderClass::OneCancelsOther => (false, true),
                        OrderClass::OneTriggersOther => {
                            let profit = random.chance(50);
                            (profit, !profit)
                        }
                    };
                    let take_profit = with_profit.then(|| leg(OrderKind::Limit { price: take_profit_price }));
                    let stop_loss = with_stop.then(|| leg(stop_kind));
                    let mut order = order;
                    if class == OrderClass::OneCancelsOther {
                        order.kind = OrderKind::Limit { price: take_profit_price };
                    }
                    Command::PlaceContingent { order: Box::new(ContingentOrder { class, order, take_profit, stop_loss }), key }
                } else if let Some(key) = key {
                    Command::PlaceOrderOnce { order, key }
                } else {
                    Command::PlaceOrder(order)
                }
            }
            50..=64 => Command::CancelOrder { account: owner, order_id: earlier_order },
            65..=84 => {
                // Some replaces are shaped for a trailing stop (a trail, no prices), which
                // random fields alone seldom are.
                let trailing = random.chance(15);
                Command::ReplaceOrder {
                    account: owner,
                    order_id: earlier_order,
                    quantity: random.chance(50).then_some(quantity),
                    price: (!trailing && random.chance(70)).then_some(price),
                    stop_price: (!trailing && random.chance(30)).then_some(price),
                    trail: (trailing || random.chance(20)).then(|| Trail::Percent { basis_points: 1 + random.below(500) as u32 }),
                    client_order_id: random.chance(15).then(|| client_id(random.below(8))),
                    time_in_force: random.chance(15).then(|| if random.chance(50) { TimeInForce::Day } else { TimeInForce::GoodTillCancel }),
                }
            }
            // A market maker's re-quote now and then: a few levels each side of the price,
            // mostly on the tick grid (some off it, refused on their own).
            85..=87 if random.chance(30) => {
                let orders = (0..random.below(6))
                    .map(|level| {
                        let order_id = OrderId(next_order);
                        next_order += 1;
                        placed.push((order_id, account));
                        let side = if level % 2 == 0 { Side::Buy } else { Side::Sell };
                        let away = (1 + level as i64 / 2) * tick * if side == Side::Buy { -1 } else { 1 };
                        let off_grid = if random.chance(10) { tick / 2 } else { 0 };
                        QuoteOrder { order_id, side, price: Price::from_raw((price.raw() + away + off_grid).max(tick)), quantity }
                    })
                    .collect();
                Command::Requote { account, symbol, orders }
            }
            85..=87 => Command::CancelAll { account, symbol: random.chance(50).then_some(symbol) },
            88..=92 if last_transfer.is_some() && random.chance(25) => last_transfer.clone().unwrap(),
            88..=92 => {
                next_transaction += 1;
                let amount = if random.chance(50) {
                    Amount::Cash(Money::from_units(random.below(2_000) as i64))
                } else {
                    Amount::Shares(symbol, Quantity::from_raw(lot * random.below(20) as i64))
                };
                let transaction = TransactionId(next_transaction - random.below(2));
                let transfer =
                    if random.chance(50) { Command::Deposit { account, transaction, amount } } else { Command::Withdraw { account, transaction, amount } };
                last_transfer = Some(transfer.clone());
                transfer
            }
            // Now and then an account starts over (its transfers take fresh ids).
            93 if random.chance(10) => {
                let first = TransactionId(next_transaction + 1);
                next_transaction += 64;
                Command::ResetAccount { account, first, cash: Money::from_units(random.below(5_000) as i64) }
            }
            93 => Command::EndOfSession { symbol: random.chance(50).then_some(symbol) },
            // Markets close now and then, and open again more often.
            94 if random.chance(30) => Command::CloseSession { symbol: random.chance(50).then_some(symbol) },
            94 => Command::OpenSession { symbol: random.chance(50).then_some(symbol) },
            95 if random.chance(20) => Command::HaltInstrument { symbol },
            95..=97 => Command::ResumeInstrument { symbol },
            _ if random.chance(40) => Command::SetLimits { scope: LimitScope::Account(account), limits: AccountLimits::default() },
            _ if random.chance(20) => Command::SetMembership { account, group: random.chance(70).then_some(1), organisation: random.chance(50).then_some(2) },
            _ => Command::SetLimits {
                scope: match random.below(4) {
                    0 => LimitScope::Group(1),
                    1 => LimitScope::Organisation(2),
                    _ => LimitScope::Account(account),
                },
                limits: AccountLimits {
                    trading_enabled: random.chance(95),
                    max_order_quantity: random.chance(50).then_some(Quantity::from_units(8)),
                    max_order_notional: random.chance(50).then_some(Money::from_units(900)),
                    max_open_orders: random.chance(50).then_some(6),
                    max_position: random.chance(30).then_some(Quantity::from_units(40)),
                    max_gross_exposure: random.chance(30).then_some(Money::from_units(5_000)),
                    max_daily_notional: random.chance(30).then_some(Money::from_units(3_000)),
                    max_daily_loss: random.chance(30).then_some(Money::from_units(200)),
                    max_orders_per_minute: random.chance(30).then_some(20),
                    max_trades_per_day: random.chance(30).then_some(30),
                    blocked_symbols: if random.chance(10) { vec![symbol] } else { Vec::new() },
                    allowed_order_types: random.chance(20).then_some(OrderTypes(OrderTypes::LIMIT | OrderTypes::MARKET)),
                    min_share_price: random.chance(20).then_some(Price::from_units(50)),
                    max_symbol_share_bps: random.chance(20).then_some(8_000),
                    ..AccountLimits::default()
                },
            },
        };
        // Now and then a command of a keyed request, its key drawn from the orders' few, so
        // a key spent by one kind meets the other.
        let command = match command {
            Command::PlaceOrder(_) | Command::PlaceOrderOnce { .. } | Command::PlaceContingent { .. } => command,
            other if random.chance(10) => Command::Keyed { key: u128::from(random.below(8)), command: Box::new(other) },
            other => other,
        };
        commands.push(command);
    }
    commands
}
