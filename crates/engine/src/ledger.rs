//! Double-entry ledger: cash and share balances, each split into available and reserved.
//!
//! Every movement is one [`Posting`] that takes an amount from one place and puts the same
//! amount in another, so each posting sums to zero by construction. Deposits and
//! withdrawals post against [`Place::External`], which is how the outside world enters the
//! books; conservation per asset follows (`sum of balances == deposits - withdrawals`).

/// One side of a balance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bucket {
    Available,
    Reserved,
}

/// Available and reserved parts of one asset in one account. Never negative.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Balance {
    pub available: i64,
    pub reserved: i64,
}

impl Balance {
    pub const fn total(self) -> i64 {
        self.available + self.reserved
    }

    fn bucket_mut(&mut self, bucket: Bucket) -> &mut i64 {
        match bucket {
            Bucket::Available => &mut self.available,
            Bucket::Reserved => &mut self.reserved,
        }
    }
}

/// Asset of a posting, by internal instrument index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum AssetIndex {
    Cash,
    Shares(u32),
}

/// Where a posting takes from or puts to: an account bucket (by internal index) or outside.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Place {
    Account(u32, Bucket),
    External,
}

/// One balanced movement of `amount` of an asset from `from` to `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Posting {
    pub(crate) asset: AssetIndex,
    pub(crate) from: Place,
    pub(crate) to: Place,
    pub(crate) amount: i64,
}

/// One fill between two accounts, by internal index; cash in raw money units.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fill {
    pub(crate) instrument: u32,
    pub(crate) buyer: u32,
    pub(crate) seller: u32,
    pub(crate) fee_account: u32,
    pub(crate) notional: i64,
    pub(crate) quantity: i64,
    pub(crate) buyer_fee: i64,
    pub(crate) seller_fee: i64,
}

/// Balances of every account, indexed by the engine's internal account index.
#[derive(Clone, Debug, Default)]
pub(crate) struct Ledger {
    cash: Vec<Balance>,
    /// Per account, sorted by instrument index; accounts hold few symbols.
    holdings: Vec<Vec<(u32, Balance)>>,
    /// Net amount that entered from outside (deposits minus withdrawals): cash, then
    /// shares per instrument index. Conservation: balances sum to exactly this.
    external_cash: i128,
    external_shares: Vec<i128>,
    /// Every posting, when the engine is configured to keep them (tests, audits).
    journal: Option<Vec<Posting>>,
}

impl Ledger {
    pub(crate) fn new(keep_journal: bool) -> Self {
        Self { cash: Vec::new(), holdings: Vec::new(), external_cash: 0, external_shares: Vec::new(), journal: keep_journal.then(Vec::new) }
    }

    /// Net inflow of `asset` from outside the books.
    pub(crate) fn external_net(&self, asset: AssetIndex) -> i128 {
        match asset {
            AssetIndex::Cash => self.external_cash,
            AssetIndex::Shares(instrument) => self.external_shares.get(instrument as usize).copied().unwrap_or_default(),
        }
    }

    fn external_net_mut(&mut self, asset: AssetIndex) -> &mut i128 {
        match asset {
            AssetIndex::Cash => &mut self.external_cash,
            AssetIndex::Shares(instrument) => {
                let index = instrument as usize;
                if self.external_shares.len() <= index {
                    self.external_shares.resize(index + 1, 0);
                }
                &mut self.external_shares[index]
            }
        }
    }

    /// Restores the net external flow of one asset (snapshot load).
    pub(crate) fn restore_external(&mut self, asset: AssetIndex, net: i128) {
        *self.external_net_mut(asset) = net;
    }

    pub(crate) fn add_account(&mut self) {
        self.cash.push(Balance::default());
        self.holdings.push(Vec::new());
    }

    pub(crate) fn balance(&self, account: u32, asset: AssetIndex) -> Balance {
        match asset {
            AssetIndex::Cash => self.cash[account as usize],
            AssetIndex::Shares(instrument) => {
                let holdings = &self.holdings[account as usize];
                match holdings.binary_search_by_key(&instrument, |&(index, _)| index) {
                    Ok(position) => holdings[position].1,
                    Err(_) => Balance::default(),
                }
            }
        }
    }

    pub(crate) fn holdings(&self, account: u32) -> &[(u32, Balance)] {
        &self.holdings[account as usize]
    }

    fn balance_mut(&mut self, account: u32, asset: AssetIndex) -> &mut Balance {
        match asset {
            AssetIndex::Cash => &mut self.cash[account as usize],
            AssetIndex::Shares(instrument) => {
                let holdings = &mut self.holdings[account as usize];
                let position = match holdings.binary_search_by_key(&instrument, |&(index, _)| index) {
                    Ok(position) => position,
                    Err(position) => {
                        holdings.insert(position, (instrument, Balance::default()));
                        position
                    }
                };
                &mut holdings[position].1
            }
        }
    }

    /// Applies one posting. The caller has checked that `from` holds `amount`.
    #[inline]
    pub(crate) fn post(&mut self, posting: Posting) {
        assert!(posting.amount >= 0, "invariant: a posting moves a non-negative amount");
        if posting.amount == 0 {
            return;
        }
        match posting.from {
            Place::Account(account, bucket) => {
                let slot = self.balance_mut(account, posting.asset).bucket_mut(bucket);
                *slot -= posting.amount;
                assert!(*slot >= 0, "invariant: balances never go negative ({posting:?})");
            }
            Place::External => *self.external_net_mut(posting.asset) += i128::from(posting.amount),
        }
        match posting.to {
            Place::Account(account, bucket) => {
                let slot = self.balance_mut(account, posting.asset).bucket_mut(bucket);
                *slot = slot.checked_add(posting.amount).expect("invariant: balance fits in i64");
            }
            Place::External => *self.external_net_mut(posting.asset) -= i128::from(posting.amount),
        }
        if let Some(journal) = &mut self.journal {
            journal.push(posting);
        }
    }

    /// Moves `amount` inside one account between buckets: one balance lookup, not two.
    #[inline]
    pub(crate) fn shift(&mut self, account: u32, asset: AssetIndex, from: Bucket, to: Bucket, amount: i64) {
        assert!(amount >= 0, "invariant: a posting moves a non-negative amount");
        if amount == 0 {
            return;
        }
        let balance = self.balance_mut(account, asset);
        *balance.bucket_mut(from) -= amount;
        assert!(*balance.bucket_mut(from) >= 0, "invariant: balances never go negative");
        *balance.bucket_mut(to) += amount;
        if let Some(journal) = &mut self.journal {
            journal.push(Posting { asset, from: Place::Account(account, from), to: Place::Account(account, to), amount });
        }
    }

    /// Reserves `amount` of the account's available balance, if it has that much.
    #[inline]
    pub(crate) fn try_reserve(&mut self, account: u32, asset: AssetIndex, amount: i64) -> bool {
        assert!(amount >= 0, "invariant: a posting moves a non-negative amount");
        // Read first: a refusal must not even create an empty holding row.
        if self.balance(account, asset).available < amount {
            return false;
        }
        let balance = self.balance_mut(account, asset);
        balance.available -= amount;
        balance.reserved += amount;
        if amount > 0
            && let Some(journal) = &mut self.journal
        {
            let (from, to) = (Place::Account(account, Bucket::Available), Place::Account(account, Bucket::Reserved));
            journal.push(Posting { asset, from, to, amount });
        }
        true
    }

    /// Settles one fill: the buyer's reserved cash pays the seller and both fees, the
    /// seller's reserved shares go to the buyer, the seller pays its fee from the proceeds.
    /// Exactly the four postings below, with each balance touched once.
    #[inline]
    pub(crate) fn settle_fill(&mut self, fill: &Fill) {
        let Fill { instrument, buyer, seller, fee_account, notional, quantity, buyer_fee, seller_fee } = *fill;
        assert!(notional > 0, "invariant: a fill moves cash");
        assert!(quantity > 0, "invariant: a fill moves shares");
        assert!(seller_fee <= notional, "invariant: the seller's fee comes out of its proceeds");
        let buyer_cash = &mut self.cash[buyer as usize];
        buyer_cash.reserved -= notional + buyer_fee;
        assert!(buyer_cash.reserved >= 0, "invariant: a buyer pays only from its reservation");
        let seller_cash = &mut self.cash[seller as usize];
        seller_cash.available = seller_cash.available.checked_add(notional - seller_fee).expect("invariant: balance fits in i64");
        let fees = &mut self.cash[fee_account as usize];
        fees.available = fees.available.checked_add(buyer_fee + seller_fee).expect("invariant: balance fits in i64");
        let shares = AssetIndex::Shares(instrument);
        let seller_shares = self.balance_mut(seller, shares);
        seller_shares.reserved -= quantity;
        assert!(seller_shares.reserved >= 0, "invariant: a seller delivers only reserved shares");
        let buyer_shares = self.balance_mut(buyer, shares);
        buyer_shares.available = buyer_shares.available.checked_add(quantity).expect("invariant: balance fits in i64");
        if let Some(journal) = &mut self.journal {
            let account = |index, bucket| Place::Account(index, bucket);
            let postings = [
                (AssetIndex::Cash, account(buyer, Bucket::Reserved), account(seller, Bucket::Available), notional),
                (AssetIndex::Cash, account(buyer, Bucket::Reserved), account(fee_account, Bucket::Available), buyer_fee),
                (shares, account(seller, Bucket::Reserved), account(buyer, Bucket::Available), quantity),
                (AssetIndex::Cash, account(seller, Bucket::Available), account(fee_account, Bucket::Available), seller_fee),
            ];
            for (asset, from, to, amount) in postings {
                if amount > 0 {
                    journal.push(Posting { asset, from, to, amount });
                }
            }
        }
    }

    pub(crate) fn take_journal(&mut self) -> Vec<Posting> {
        self.journal.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Restores one account's balances (snapshot load).
    pub(crate) fn restore_account(&mut self, cash: Balance, holdings: Vec<(u32, Balance)>) {
        self.cash.push(cash);
        self.holdings.push(holdings);
    }
}
