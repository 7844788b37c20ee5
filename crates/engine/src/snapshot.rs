//! Snapshot to bytes and back, and the state hash (FNV-1a over the canonical snapshot).
//!
//! The encoding is canonical: accounts in creation order, instruments in listing order,
//! transfers by transaction id, orders by book position (bids best first, asks best first,
//! each level in queue order, then stops by trigger). Two engines in the same state give
//! the same bytes, whatever their history, so the hash compares states.

use tradecraft_types::{AccountId, ClientOrderId, Money, OrderId, Price, Quantity, Side, Symbol, TransactionId};

use crate::activity::Activity;
use crate::book::{self, Book, NIL, Order, StoredKind};
use crate::command::{AccountKind, Amount, ExitLeg, InstrumentSpec, OrderClass, OrderKind, SelfTradePrevention, TimeInForce, Trail};
use crate::contingent::{Group, LegState, LegStatus};
use crate::engine::{Account, Engine, EngineConfig, Instrument, TransferRecord, book_level};
use crate::event::RejectReason;
use crate::ledger::{AssetIndex, Balance};
use crate::limits::{AccountLimits, OrderTypes, TradingHours};

const MAGIC: &[u8; 8] = b"TCSNAP\0\0";
const VERSION: u32 = 3;

/// Why snapshot bytes could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    #[error("snapshot is truncated")]
    Truncated,
    #[error("not a TradeCraft engine snapshot")]
    BadMagic,
    #[error("snapshot version {0} is not supported")]
    UnsupportedVersion(u32),
    #[error("snapshot is corrupt: {0}")]
    Corrupt(&'static str),
}

#[derive(Default)]
struct Writer {
    bytes: Vec<u8>,
}

impl Writer {
    fn u8(&mut self, value: u8) {
        self.bytes.push(value);
    }
    fn u32(&mut self, value: u32) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }
    fn u64(&mut self, value: u64) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }
    fn i64(&mut self, value: i64) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }
    fn i128(&mut self, value: i128) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }
    fn text(&mut self, text: &str) {
        self.u8(text.len() as u8);
        self.bytes.extend_from_slice(text.as_bytes());
    }
    fn option_i64(&mut self, value: Option<i64>) {
        match value {
            Some(value) => {
                self.u8(1);
                self.i64(value);
            }
            None => self.u8(0),
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, length: usize) -> Result<&'a [u8], SnapshotError> {
        if self.bytes.len() < length {
            return Err(SnapshotError::Truncated);
        }
        let (head, tail) = self.bytes.split_at(length);
        self.bytes = tail;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], SnapshotError> {
        let mut array = [0; N];
        array.copy_from_slice(self.take(N)?);
        Ok(array)
    }
    fn u8(&mut self) -> Result<u8, SnapshotError> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, SnapshotError> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64, SnapshotError> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    fn i64(&mut self) -> Result<i64, SnapshotError> {
        Ok(i64::from_le_bytes(self.array()?))
    }
    fn i128(&mut self) -> Result<i128, SnapshotError> {
        Ok(i128::from_le_bytes(self.array()?))
    }
    fn bool(&mut self) -> Result<bool, SnapshotError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(SnapshotError::Corrupt("boolean")),
        }
    }
    fn text(&mut self) -> Result<&'a str, SnapshotError> {
        let length = usize::from(self.u8()?);
        std::str::from_utf8(self.take(length)?).map_err(|_| SnapshotError::Corrupt("text"))
    }
    fn symbol(&mut self) -> Result<Symbol, SnapshotError> {
        Symbol::new(self.text()?).map_err(|_| SnapshotError::Corrupt("symbol"))
    }
    fn option_i64(&mut self) -> Result<Option<i64>, SnapshotError> {
        Ok(if self.bool()? { Some(self.i64()?) } else { None })
    }
    fn count(&mut self, limit: usize) -> Result<usize, SnapshotError> {
        let count = self.u32()? as usize;
        if count > limit {
            return Err(SnapshotError::Corrupt("count exceeds remaining bytes"));
        }
        Ok(count)
    }
}

fn side_code(side: Side) -> u8 {
    match side {
        Side::Buy => 0,
        Side::Sell => 1,
    }
}

fn side_from(code: u8) -> Result<Side, SnapshotError> {
    match code {
        0 => Ok(Side::Buy),
        1 => Ok(Side::Sell),
        _ => Err(SnapshotError::Corrupt("side")),
    }
}

macro_rules! codes {
    ($encode:ident, $decode:ident, $type:ty, $what:literal, [$($variant:path => $code:literal),+ $(,)?]) => {
        fn $encode(value: $type) -> u8 {
            match value { $($variant => $code),+ }
        }
        fn $decode(code: u8) -> Result<$type, SnapshotError> {
            match code { $($code => Ok($variant),)+ _ => Err(SnapshotError::Corrupt($what)) }
        }
    };
}

codes!(kind_code, kind_from, StoredKind, "order kind", [
    StoredKind::Market => 0, StoredKind::Limit => 1, StoredKind::Stop => 2,
    StoredKind::StopLimit => 3, StoredKind::TrailingStop => 4,
]);
codes!(tif_code, tif_from, TimeInForce, "time in force", [
    TimeInForce::GoodTillCancel => 0, TimeInForce::Day => 1,
    TimeInForce::ImmediateOrCancel => 2, TimeInForce::FillOrKill => 3,
    TimeInForce::AtTheOpen => 4, TimeInForce::AtTheClose => 5,
]);
codes!(stp_code, stp_from, SelfTradePrevention, "self-trade prevention", [
    SelfTradePrevention::CancelResting => 0, SelfTradePrevention::CancelTaking => 1,
    SelfTradePrevention::CancelBoth => 2,
]);
codes!(account_kind_code, account_kind_from, AccountKind, "account kind", [
    AccountKind::Cash => 0, AccountKind::House => 1, AccountKind::Fees => 2,
]);

impl Engine {
    /// The whole state as canonical bytes.
    pub fn snapshot(&self) -> Vec<u8> {
        let mut out = Writer::default();
        out.bytes.extend_from_slice(MAGIC);
        out.u32(VERSION);
        let config = &self.config;
        out.u64(config.fee_account.0);
        out.u32(config.maker_fee_bps);
        out.u32(config.taker_fee_bps);
        out.u8(stp_code(config.self_trade_prevention));
        out.u64(self.now);
        out.u64(self.state.next_trade_id);
        out.u64(self.state.next_sequence);

        out.u32(self.instruments.len() as u32);
        for (index, market) in self.instruments.iter().enumerate() {
            let spec = &market.spec;
            out.text(spec.symbol.as_str());
            out.i64(spec.tick_size.raw());
            out.i64(spec.lot_size.raw());
            out.i64(spec.min_quantity.raw());
            out.u32(spec.price_band_bps);
            // Bit 0 halted, bit 1 outside the session (a snapshot of an open market reads
            // as it always did).
            out.u8(u8::from(market.halted) | (u8::from(market.session_closed) << 1));
            out.i64(market.last_price);
            out.u64(market.sequence);
            out.i128(self.state.ledger.external_net(AssetIndex::Shares(index as u32)));
        }
        out.i128(self.state.ledger.external_net(AssetIndex::Cash));

        out.u32(self.state.accounts.len() as u32);
        for (index, account) in self.state.accounts.iter().enumerate() {
            out.u64(account.id.0);
            out.u8(account_kind_code(account.kind));
            write_limits(&mut out, &account.limits);
            out.option_i64(account.group.map(|group| group as i64));
            out.option_i64(account.organisation.map(|organisation| organisation as i64));
            out.i64(account.deposited);
            write_activity(&mut out, account.activity.as_deref());
            let cash = self.state.ledger.balance(index as u32, AssetIndex::Cash);
            out.i64(cash.available);
            out.i64(cash.reserved);
            let holdings = self.state.ledger.holdings(index as u32);
            out.u32(holdings.len() as u32);
            for &(instrument, balance) in holdings {
                out.u32(instrument);
                out.i64(balance.available);
                out.i64(balance.reserved);
            }
        }

        for scoped in [&self.state.group_limits, &self.state.organisation_limits] {
            out.u32(scoped.len() as u32);
            for (id, limits) in scoped {
                out.u64(*id);
                write_limits(&mut out, limits);
            }
        }

        let mut transfers: Vec<_> = self.state.transfers.iter().collect();
        transfers.sort_unstable_by_key(|(transaction, _)| **transaction);
        out.u32(transfers.len() as u32);
        for (transaction, record) in transfers {
            out.u64(transaction.0);
            out.u64(record.account.0);
            out.u8(u8::from(record.withdrawal));
            match record.amount {
                Amount::Cash(money) => {
                    out.u8(0);
                    out.i64(money.raw());
                }
                Amount::Shares(symbol, quantity) => {
                    out.u8(1);
                    out.text(symbol.as_str());
                    out.i64(quantity.raw());
                }
            }
        }

        // Idempotency keys in the order they expire (the queue's order), each once.
        let keys: Vec<(u128, &crate::engine::IdempotencyRecord)> = self
            .state
            .idempotency_expiry
            .iter()
            .filter_map(|(expires_at, digest)| {
                self.state.idempotency.get(digest).filter(|record| record.expires_at == *expires_at).map(|record| (*digest, record))
            })
            .collect();
        out.u32(keys.len() as u32);
        for (digest, record) in keys {
            out.u64((digest >> 64) as u64);
            out.u64(digest as u64);
            out.u64(record.fingerprint);
            out.u64(record.order_id.0);
            out.u64(record.expires_at);
            out.text(record.rejected.map_or("", RejectReason::code));
        }

        let slots: Vec<u32> = self.books.iter().flat_map(|book| book.order_slots(&self.state.orders)).collect();
        // Orders are most of a large snapshot: one allocation for them, not a doubling
        // series of copies (each order takes at most 112 bytes plus its client id).
        out.bytes.reserve(slots.len() * 112 + self.state.order_client_ids.len() * 32);
        out.u32(slots.len() as u32);
        for slot in slots {
            // An order taken while its market was closed waits for the open: bit 1 of the
            // post-only byte (never set with bit 0: a post-only order is not taken then).
            let queued = self.is_queued(slot);
            let order = self.state.orders.get(slot);
            out.u64(order.id.0);
            out.u32(order.account);
            out.u32(order.instrument);
            out.u8(side_code(order.side));
            out.u8(kind_code(order.kind));
            out.u8(tif_code(order.time_in_force));
            out.u8(stp_code(order.self_trade));
            out.u8(u8::from(order.post_only) | (u8::from(queued) << 1));
            out.i64(order.price);
            out.i64(order.stop_price);
            match order.trail {
                None => out.u8(0),
                Some(Trail::Amount(amount)) => {
                    out.u8(1);
                    out.i64(amount.raw());
                }
                Some(Trail::Percent { basis_points }) => {
                    out.u8(2);
                    out.i64(i64::from(basis_points));
                }
            }
            out.i64(order.watermark);
            out.i64(order.quantity);
            out.i64(order.filled);
            out.i64(order.budget);
            out.i64(order.reserved);
            out.u64(order.sequence);
            match self.state.order_client_ids.get(&order.id) {
                Some(client_id) => out.text(client_id.as_str()),
                None => out.u8(0),
            }
        }
        // Contingent orders last, and only when there are any: a state without them
        // keeps the bytes (and hash) it always had.
        if !self.state.groups.is_empty() {
            out.u32(self.state.groups.len() as u32);
            for group in self.state.groups.values() {
                write_group(&mut out, group);
            }
        }
        out.bytes
    }

    /// 64-bit FNV-1a hash of the canonical snapshot: equal states, equal hashes.
    pub fn state_hash(&self) -> u64 {
        const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
        const PRIME: u64 = 0x0000_0100_0000_01b3;
        self.snapshot().iter().fold(OFFSET, |hash, &byte| (hash ^ u64::from(byte)).wrapping_mul(PRIME))
    }

    /// Loads a snapshot; `keep_postings` is not part of the state.
    pub fn restore(bytes: &[u8], keep_postings: bool) -> Result<Self, SnapshotError> {
        let mut input = Reader { bytes };
        if input.take(MAGIC.len())? != MAGIC {
            return Err(SnapshotError::BadMagic);
        }
        let version = input.u32()?;
        if version != VERSION {
            return Err(SnapshotError::UnsupportedVersion(version));
        }
        let config = EngineConfig {
            fee_account: AccountId(input.u64()?),
            maker_fee_bps: input.u32()?,
            taker_fee_bps: input.u32()?,
            self_trade_prevention: stp_from(input.u8()?)?,
            keep_postings,
            order_capacity: 0,
        };
        let mut engine = Engine::new(config);
        // `new` created the fee account; the snapshot lists every account, so start empty.
        engine.state.accounts.clear();
        engine.state.account_index.clear();
        engine.state.ledger = crate::ledger::Ledger::new(keep_postings);
        engine.now = input.u64()?;
        engine.state.next_trade_id = input.u64()?;
        engine.state.next_sequence = input.u64()?;

        let remaining = |input: &Reader<'_>| input.bytes.len();
        let instrument_count = input.count(remaining(&input))?;
        for index in 0..instrument_count {
            let symbol = input.symbol()?;
            let spec = InstrumentSpec {
                symbol,
                tick_size: Price::from_raw(input.i64()?),
                lot_size: Quantity::from_raw(input.i64()?),
                min_quantity: Quantity::from_raw(input.i64()?),
                price_band_bps: input.u32()?,
            };
            if !spec.tick_size.is_positive() || !spec.lot_size.is_positive() {
                return Err(SnapshotError::Corrupt("instrument grid"));
            }
            let flags = input.u8()?;
            if flags > 3 {
                return Err(SnapshotError::Corrupt("instrument flags"));
            }
            let (halted, session_closed) = (flags & 1 != 0, flags & 2 != 0);
            let last_price = input.i64()?;
            let sequence = input.u64()?;
            engine.state.ledger.restore_external(AssetIndex::Shares(index as u32), input.i128()?);
            if engine.symbols.insert(symbol, index as u32).is_some() {
                return Err(SnapshotError::Corrupt("duplicate symbol"));
            }
            engine.instruments.push(Instrument {
                spec,
                tick: crate::book::Grid::new(spec.tick_size.raw()),
                lot: crate::book::Grid::new(spec.lot_size.raw()),
                halted,
                session_closed,
                last_price,
                sequence,
                best_bid: None,
                best_ask: None,
            });
            engine.books.push(Book::new(spec.tick_size.raw()));
        }
        engine.state.ledger.restore_external(AssetIndex::Cash, input.i128()?);

        let account_count = input.count(remaining(&input))?;
        for index in 0..account_count {
            let id = AccountId(input.u64()?);
            let kind = account_kind_from(input.u8()?)?;
            let limits = read_limits(&mut input)?;
            let group = input.option_i64()?.map(|group| group as u64);
            let organisation = input.option_i64()?.map(|organisation| organisation as u64);
            let deposited = input.i64()?;
            let activity = read_activity(&mut input, instrument_count)?;
            let cash = Balance { available: input.i64()?, reserved: input.i64()? };
            let holding_count = input.count(remaining(&input))?;
            let mut holdings = Vec::with_capacity(holding_count);
            for _ in 0..holding_count {
                let instrument = input.u32()?;
                if instrument as usize >= instrument_count {
                    return Err(SnapshotError::Corrupt("holding of an unknown instrument"));
                }
                holdings.push((instrument, Balance { available: input.i64()?, reserved: input.i64()? }));
            }
            let balances_valid =
                std::iter::once(&cash).chain(holdings.iter().map(|(_, balance)| balance)).all(|balance| balance.available >= 0 && balance.reserved >= 0);
            if !balances_valid {
                return Err(SnapshotError::Corrupt("negative balance"));
            }
            if !holdings.windows(2).all(|pair| pair[0].0 < pair[1].0) {
                return Err(SnapshotError::Corrupt("holdings out of order"));
            }
            if kind == AccountKind::Fees {
                engine.state.fee_account = index as u32;
            }
            engine.state.accounts.push(Account { id, kind, limits: Box::new(limits), open_orders: 0, group, organisation, deposited, activity });
            if engine.state.account_index.insert(id, index as u32).is_some() {
                return Err(SnapshotError::Corrupt("duplicate account"));
            }
            engine.state.ledger.restore_account(cash, holdings);
        }
        if engine.state.accounts.get(engine.state.fee_account as usize).map(|account| account.id) != Some(config.fee_account) {
            return Err(SnapshotError::Corrupt("fee account"));
        }

        for scope in 0..2 {
            let count = input.count(remaining(&input))?;
            for _ in 0..count {
                let id = input.u64()?;
                let limits = read_limits(&mut input)?;
                let scoped = if scope == 0 { &mut engine.state.group_limits } else { &mut engine.state.organisation_limits };
                if scoped.insert(id, limits).is_some() {
                    return Err(SnapshotError::Corrupt("duplicate limit scope"));
                }
            }
        }

        let transfer_count = input.count(remaining(&input))?;
        for _ in 0..transfer_count {
            let transaction = TransactionId(input.u64()?);
            let account = AccountId(input.u64()?);
            let withdrawal = input.bool()?;
            let amount = match input.u8()? {
                0 => Amount::Cash(Money::from_raw(input.i64()?)),
                1 => {
                    let symbol = input.symbol()?;
                    Amount::Shares(symbol, Quantity::from_raw(input.i64()?))
                }
                _ => return Err(SnapshotError::Corrupt("transfer amount")),
            };
            engine.state.transfers.insert(transaction, TransferRecord { account, withdrawal, amount });
        }

        let key_count = input.count(remaining(&input))?;
        for _ in 0..key_count {
            let digest = (u128::from(input.u64()?) << 64) | u128::from(input.u64()?);
            let (fingerprint, order_id, expires_at) = (input.u64()?, OrderId(input.u64()?), input.u64()?);
            let code = input.text()?;
            let rejected = if code.is_empty() { None } else { Some(RejectReason::from_code(code).ok_or(SnapshotError::Corrupt("refusal code"))?) };
            engine.state.idempotency.insert(digest, crate::engine::IdempotencyRecord { fingerprint, order_id, rejected, expires_at });
            engine.state.idempotency_expiry.push_back((expires_at, digest));
        }

        let order_count = input.count(remaining(&input))?;
        for _ in 0..order_count {
            engine.restore_order(&mut input, account_count, instrument_count)?;
        }
        if !input.bytes.is_empty() {
            let group_count = input.count(remaining(&input))?;
            for _ in 0..group_count {
                let group = read_group(&mut input)?;
                for member in std::iter::once(group.entry).chain([group.take_profit, group.stop_loss].into_iter().flatten().map(|leg| leg.leg.order_id)) {
                    engine.state.group_of.insert(member, group.entry);
                }
                if engine.state.groups.insert(group.entry, group).is_some() {
                    return Err(SnapshotError::Corrupt("contingent order twice"));
                }
            }
        }
        if !input.bytes.is_empty() {
            return Err(SnapshotError::Corrupt("trailing bytes"));
        }
        for instrument in 0..instrument_count {
            let book = &engine.books[instrument];
            let market = &mut engine.instruments[instrument];
            market.best_bid = book_level(book.best(Side::Buy));
            market.best_ask = book_level(book.best(Side::Sell));
        }
        engine.check_invariants().map_err(|_| SnapshotError::Corrupt("state breaks an invariant"))?;
        Ok(engine)
    }

    fn restore_order(&mut self, input: &mut Reader<'_>, account_count: usize, instrument_count: usize) -> Result<(), SnapshotError> {
        let id = OrderId(input.u64()?);
        let account = input.u32()?;
        let instrument = input.u32()?;
        if account as usize >= account_count || instrument as usize >= instrument_count {
            return Err(SnapshotError::Corrupt("order owner or instrument"));
        }
        let side = side_from(input.u8()?)?;
        let kind = kind_from(input.u8()?)?;
        let time_in_force = tif_from(input.u8()?)?;
        let self_trade = stp_from(input.u8()?)?;
        let (post_only, queued) = match input.u8()? {
            0 => (false, false),
            1 => (true, false),
            2 => (false, true),
            _ => return Err(SnapshotError::Corrupt("order flags")),
        };
        let price = input.i64()?;
        let stop_price = input.i64()?;
        let trail = match input.u8()? {
            0 => None,
            1 => Some(Trail::Amount(Price::from_raw(input.i64()?))),
            2 => Some(Trail::Percent { basis_points: u32::try_from(input.i64()?).map_err(|_| SnapshotError::Corrupt("trail"))? }),
            _ => return Err(SnapshotError::Corrupt("trail")),
        };
        let watermark = input.i64()?;
        let quantity = input.i64()?;
        let filled = input.i64()?;
        let budget = input.i64()?;
        let reserved = input.i64()?;
        let sequence = input.u64()?;
        let client_text = input.text()?;
        let client_id =
            if client_text.is_empty() { None } else { Some(ClientOrderId::new(client_text).map_err(|_| SnapshotError::Corrupt("client order id"))?) };
        if quantity <= filled || filled < 0 || reserved < 0 || (kind == StoredKind::Market && !time_in_force.waits_for_auction() && !queued) {
            return Err(SnapshotError::Corrupt("order quantities"));
        }
        let slot = self.state.orders.insert(Order {
            id,
            account,
            instrument,
            side,
            kind,
            time_in_force,
            self_trade,
            post_only,
            has_client_id: client_id.is_some(),
            price,
            stop_price,
            trail,
            watermark,
            quantity,
            filled,
            budget,
            reserved,
            sequence,
            prev: NIL,
            next: NIL,
        });
        if self.state.order_index.contains(id) {
            return Err(SnapshotError::Corrupt("duplicate order id"));
        }
        self.state.order_index.insert(id, slot);
        if let Some(client_id) = client_id {
            self.state.client_ids.insert((account, client_id.clone()), id);
            self.state.order_client_ids.insert(id, client_id);
        }
        self.state.count_open_order(slot);
        let book = &mut self.books[instrument as usize];
        if time_in_force.waits_for_auction() || queued {
            book.waiting.insert(sequence, slot);
            return Ok(());
        }
        match kind {
            StoredKind::Limit => book::push_back(book.ladder_mut(side), &mut self.state.orders, price, slot),
            _ => {
                book.stops_mut(side).insert((stop_price, sequence), slot);
                if trail.is_some() {
                    book.trailing.insert(sequence, slot);
                }
            }
        }
        Ok(())
    }
}

codes!(class_code, class_from, OrderClass, "order class", [
    OrderClass::Bracket => 0, OrderClass::OneTriggersOther => 1, OrderClass::OneCancelsOther => 2,
]);
codes!(leg_status_code, leg_status_from, LegStatus, "leg status", [
    LegStatus::Held => 0, LegStatus::Live => 1, LegStatus::Done => 2,
]);

fn write_group(out: &mut Writer, group: &Group) {
    out.u64(group.entry.0);
    out.u8(class_code(group.class));
    out.u64(group.account.0);
    out.text(group.symbol.as_str());
    out.u8(u8::from(group.entry_open));
    out.u8(side_code(group.exit_side));
    out.u8(tif_code(group.time_in_force));
    out.option_i64(group.self_trade.map(|stp| i64::from(stp_code(stp))));
    out.i64(group.activated);
    out.option_i64(group.exit.map(|id| id.0 as i64));
    for leg in [group.take_profit, group.stop_loss] {
        let Some(leg) = leg else {
            out.u8(0);
            continue;
        };
        let (tag, first, second) = match leg.leg.kind {
            OrderKind::Limit { price } => (1, price, Price::ZERO),
            OrderKind::Stop { stop_price } => (2, stop_price, Price::ZERO),
            OrderKind::StopLimit { stop_price, limit_price } => (3, stop_price, limit_price),
            OrderKind::Market | OrderKind::TrailingStop { .. } => unreachable!("invariant: legs are limits, stops and stop limits"),
        };
        out.u8(tag);
        out.u64(leg.leg.order_id.0);
        out.i64(first.raw());
        out.i64(second.raw());
        out.u8(leg_status_code(leg.status));
    }
}

fn read_group(input: &mut Reader<'_>) -> Result<Group, SnapshotError> {
    let entry = OrderId(input.u64()?);
    let class = class_from(input.u8()?)?;
    let account = AccountId(input.u64()?);
    let symbol = input.symbol()?;
    let entry_open = input.bool()?;
    let exit_side = side_from(input.u8()?)?;
    let time_in_force = tif_from(input.u8()?)?;
    let self_trade =
        input.option_i64()?.map(|code| u8::try_from(code).map_err(|_| SnapshotError::Corrupt("self-trade prevention")).and_then(stp_from)).transpose()?;
    let activated = input.i64()?;
    let exit = input.option_i64()?.map(|id| OrderId(id as u64));
    let mut legs = [None, None];
    for leg in &mut legs {
        let tag = input.u8()?;
        if tag == 0 {
            continue;
        }
        let order_id = OrderId(input.u64()?);
        let (first, second) = (Price::from_raw(input.i64()?), Price::from_raw(input.i64()?));
        let kind = match tag {
            1 => OrderKind::Limit { price: first },
            2 => OrderKind::Stop { stop_price: first },
            3 => OrderKind::StopLimit { stop_price: first, limit_price: second },
            _ => return Err(SnapshotError::Corrupt("leg kind")),
        };
        *leg = Some(LegState { leg: ExitLeg { order_id, kind }, status: leg_status_from(input.u8()?)? });
    }
    let [take_profit, stop_loss] = legs;
    Ok(Group { class, account, symbol, entry, entry_open, exit_side, time_in_force, self_trade, activated, exit, take_profit, stop_loss })
}

fn write_symbols(out: &mut Writer, symbols: &[Symbol]) {
    out.u32(symbols.len() as u32);
    for symbol in symbols {
        out.text(symbol.as_str());
    }
}

fn write_limits(out: &mut Writer, limits: &AccountLimits) {
    out.u8(u8::from(limits.trading_enabled));
    let small = |value: Option<u32>| value.map(i64::from);
    for value in [
        limits.max_order_quantity.map(Quantity::raw),
        limits.max_order_notional.map(Money::raw),
        small(limits.max_open_orders),
        limits.max_position.map(Quantity::raw),
        limits.max_gross_exposure.map(Money::raw),
        limits.max_daily_notional.map(Money::raw),
        limits.max_daily_loss.map(Money::raw),
        small(limits.max_orders_per_minute),
        small(limits.max_trades_per_day),
        limits.min_share_price.map(Price::raw),
        small(limits.max_symbol_share_bps),
        limits.allowed_order_types.map(|types| i64::from(types.0)),
        limits.trading_hours.map(|hours| i64::from(hours.start_minute) << 16 | i64::from(hours.end_minute)),
    ] {
        out.option_i64(value);
    }
    out.u8(u8::from(limits.allowed_symbols.is_some()));
    write_symbols(out, limits.allowed_symbols.as_deref().unwrap_or_default());
    write_symbols(out, &limits.blocked_symbols);
}

fn read_symbols(input: &mut Reader<'_>) -> Result<Vec<Symbol>, SnapshotError> {
    let count = input.count(input.bytes.len())?;
    (0..count).map(|_| input.symbol()).collect()
}

fn read_limits(input: &mut Reader<'_>) -> Result<AccountLimits, SnapshotError> {
    let trading_enabled = input.bool()?;
    let mut values = [None; 13];
    for value in &mut values {
        *value = input.option_i64()?;
    }
    let small = |value: Option<i64>| value.map(|value| u32::try_from(value).map_err(|_| SnapshotError::Corrupt("limit"))).transpose();
    let [quantity, notional, open, position, gross, daily_notional, daily_loss, per_minute, per_day, min_price, share, types, hours] = values;
    let allowed = input.bool()?;
    let allowed_symbols = read_symbols(input)?;
    Ok(AccountLimits {
        trading_enabled,
        max_order_quantity: quantity.map(Quantity::from_raw),
        max_order_notional: notional.map(Money::from_raw),
        max_open_orders: small(open)?,
        max_position: position.map(Quantity::from_raw),
        max_gross_exposure: gross.map(Money::from_raw),
        max_daily_notional: daily_notional.map(Money::from_raw),
        max_daily_loss: daily_loss.map(Money::from_raw),
        max_orders_per_minute: small(per_minute)?,
        max_trades_per_day: small(per_day)?,
        min_share_price: min_price.map(Price::from_raw),
        max_symbol_share_bps: small(share)?,
        allowed_order_types: types.map(|types| u8::try_from(types).map(OrderTypes).map_err(|_| SnapshotError::Corrupt("order types"))).transpose()?,
        trading_hours: hours
            .map(|hours| {
                let (start, end) = (hours >> 16, hours & 0xffff);
                if start < 1_440 && end <= 1_440 {
                    Ok(TradingHours { start_minute: start as u16, end_minute: end as u16 })
                } else {
                    Err(SnapshotError::Corrupt("trading hours"))
                }
            })
            .transpose()?,
        allowed_symbols: allowed.then_some(allowed_symbols),
        blocked_symbols: read_symbols(input)?,
    })
}

fn write_activity(out: &mut Writer, activity: Option<&Activity>) {
    let Some(activity) = activity else { return out.u8(0) };
    out.u8(1);
    out.u32(activity.recent_orders.len() as u32);
    for at in &activity.recent_orders {
        out.u64(*at);
    }
    out.u64(activity.day);
    out.u32(activity.trades_today);
    out.i128(activity.notional_today);
    out.u8(u8::from(activity.day_start_value.is_some()));
    out.i128(activity.day_start_value.unwrap_or(0));
    out.i128(activity.flows_today);
    out.u32(activity.open_buys.len() as u32);
    for (instrument, quantity) in &activity.open_buys {
        out.u32(*instrument);
        out.i64(*quantity);
    }
}

fn read_activity(input: &mut Reader<'_>, instrument_count: usize) -> Result<Option<Box<Activity>>, SnapshotError> {
    if !input.bool()? {
        return Ok(None);
    }
    let mut activity = Activity::default();
    let recent = input.count(input.bytes.len())?;
    for _ in 0..recent {
        activity.recent_orders.push_back(input.u64()?);
    }
    activity.day = input.u64()?;
    activity.trades_today = input.u32()?;
    activity.notional_today = input.i128()?;
    let has_start = input.bool()?;
    let start = input.i128()?;
    activity.day_start_value = has_start.then_some(start);
    activity.flows_today = input.i128()?;
    let open = input.count(input.bytes.len())?;
    for _ in 0..open {
        let instrument = input.u32()?;
        let quantity = input.i64()?;
        if instrument as usize >= instrument_count || quantity <= 0 {
            return Err(SnapshotError::Corrupt("open buys"));
        }
        activity.open_buys.insert(instrument, quantity);
    }
    Ok(Some(Box::new(activity)))
}
