//! Orders the view no longer holds, read back whole from the read store. The view keeps
//! every open order and the newest finished ones (`--orders-kept`); an older finished
//! order is still the caller's to look up, list and share, from the store.

use std::collections::BTreeMap;

use tradecraft_store::OrderQuery;
use tradecraft_types::OrderId;

use crate::reads::ask;
use crate::view::{OrderRecord, View, position_of, stored_records};
use crate::{ApiError, AppState};

/// An order with its contingent order's exit legs (none for a simple order).
pub(crate) type WithLegs = (OrderRecord, Vec<OrderRecord>);

pub(crate) fn view(state: &AppState) -> Result<std::sync::MutexGuard<'_, View>, ApiError> {
    state.view.lock().map_err(|_| ApiError::Internal("view lock".to_owned()))
}

/// A kept order with those of its exit legs the view holds.
pub(crate) fn with_legs(view: &View, record: &OrderRecord) -> WithLegs {
    (record.clone(), record.legs.iter().filter_map(|leg| view.orders.get(leg)).cloned().collect())
}

/// The order and its exit legs: as the view has them, or from the store if the view may
/// have forgotten the order. `None`: no such order.
pub(crate) async fn order_with_legs(state: &AppState, order_id: OrderId) -> Result<Option<WithLegs>, ApiError> {
    let forgotten = {
        let view = view(state)?;
        if let Some(record) = view.orders.get(&order_id) {
            return Ok(Some(with_legs(&view, record)));
        }
        view.forgotten()
    };
    if forgotten.is_none_or(|forgotten| position_of(order_id) > forgotten) {
        return Ok(None);
    }
    let records = ask(state, move |store| {
        let rows = store.orders_with_legs(&[order_id.0])?;
        let fills = store.order_fills(&rows.iter().map(|row| row.order_id).collect::<Vec<_>>())?;
        Ok(stored_records(&rows, &fills))
    })
    .await?;
    let mut records: BTreeMap<OrderId, OrderRecord> = records.into_iter().map(|record| (record.order_id, record)).collect();
    let Some(record) = records.remove(&order_id) else { return Ok(None) };
    let view = view(state)?;
    // A leg still open is the view's (its state there is the newer).
    let legs = record.legs.iter().filter_map(|leg| view.orders.get(leg).or_else(|| records.get(leg)).cloned()).collect();
    Ok(Some((record, legs)))
}

/// The order, as [`order_with_legs`] finds it.
pub(crate) async fn order(state: &AppState, order_id: OrderId) -> Result<Option<OrderRecord>, ApiError> {
    Ok(order_with_legs(state, order_id).await?.map(|(record, _)| record))
}

/// Those of `order_ids` the view no longer holds, from the store (none while the view
/// holds every order there is).
pub(crate) async fn forgotten_orders(state: &AppState, order_ids: Vec<OrderId>) -> Result<BTreeMap<OrderId, OrderRecord>, ApiError> {
    let asked: Vec<u64> = {
        let view = view(state)?;
        let Some(forgotten) = view.forgotten() else { return Ok(BTreeMap::new()) };
        order_ids.into_iter().filter(|order_id| position_of(*order_id) <= forgotten && !view.orders.contains_key(order_id)).map(|order_id| order_id.0).collect()
    };
    if asked.is_empty() {
        return Ok(BTreeMap::new());
    }
    let records = ask(state, move |store| {
        let mut records = Vec::new();
        for ids in asked.chunks(500) {
            let rows = store.orders_with_legs(ids)?;
            let fills = store.order_fills(&rows.iter().map(|row| row.order_id).collect::<Vec<_>>())?;
            records.extend(stored_records(&rows, &fills));
        }
        Ok(records)
    })
    .await?;
    Ok(records.into_iter().map(|record| (record.order_id, record)).collect())
}

/// Stored orders the view no longer holds, for a list page: those `query` asks for at
/// positions the view may have forgotten (none while it holds every order there is),
/// each with its exit legs as the view or the store has them.
pub(crate) async fn forgotten_page(state: &AppState, mut query: OrderQuery) -> Result<Vec<WithLegs>, ApiError> {
    let Some(forgotten) = view(state)?.forgotten() else { return Ok(Vec::new()) };
    query.position_at_most = Some(query.position_at_most.map_or(forgotten, |at_most| at_most.min(forgotten)));
    let (page, records) = ask(state, move |store| {
        let page: Vec<u64> = store.order_page(&query)?.iter().map(|row| row.order_id).collect();
        let rows = store.orders_with_legs(&page)?;
        let fills = store.order_fills(&rows.iter().map(|row| row.order_id).collect::<Vec<_>>())?;
        Ok((page, stored_records(&rows, &fills)))
    })
    .await?;
    let records: BTreeMap<OrderId, OrderRecord> = records.into_iter().map(|record| (record.order_id, record)).collect();
    let view = view(state)?;
    Ok(page
        .into_iter()
        .map(OrderId)
        // An order the view holds is answered from there: its state is the newer.
        .filter(|order_id| !view.orders.contains_key(order_id))
        .filter_map(|order_id| {
            let record = records.get(&order_id)?.clone();
            let legs = record.legs.iter().filter_map(|leg| view.orders.get(leg).or_else(|| records.get(leg)).cloned()).collect();
            Some((record, legs))
        })
        .collect())
}
