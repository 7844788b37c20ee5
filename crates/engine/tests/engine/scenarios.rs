//! Scenario tests: a command script and the exact events it must produce.

use expect_test::{Expect, expect};
use tradecraft_engine::{Engine, EngineConfig};

use crate::script::{balances, run};

const SETUP: &str = "
    list MOCK tick=0.01 lot=1 min=1 band=500
    account 1
    account 2
    account 3
    deposit 1 tx=1 cash 10000
    deposit 2 tx=2 MOCK 100
    deposit 3 tx=3 cash 10000
    deposit 3 tx=4 MOCK 100
";

/// Runs SETUP quietly, then `script`; checks its events and the final balances of 1-3.
fn check_with(config: EngineConfig, script: &str, expected: Expect) {
    let mut engine = Engine::new(config);
    run(&mut engine, SETUP);
    let mut actual = run(&mut engine, script);
    actual.push_str("balances:\n");
    for account in 1..=3 {
        actual.push_str(&format!("  {}\n", balances(&engine, account)));
    }
    expected.assert_eq(&actual);
}

fn check(script: &str, expected: Expect) {
    check_with(EngineConfig::default(), script, expected);
}

#[test]
fn limit_orders_rest_then_cross_at_the_makers_price() {
    check(
        "
        sell 2 #1 MOCK 10 limit 100
        buy 1 #2 MOCK 4 limit 101
        ",
        expect![[r#"
            > sell 2 #1 MOCK 10 limit 100
              accepted #1 2 SELL MOCK Limit { price: 100 } qty=10 reserved=0
              bbo MOCK - / 100x10 seq=1
            > buy 1 #2 MOCK 4 limit 101
              accepted #2 1 BUY MOCK Limit { price: 101 } qty=4 reserved=404
              trade t1 BUY 4@100 taker=#2(1) maker=#1(2) fees=0/0 seq=2
              done #2 Filled filled=4
              bbo MOCK - / 100x6 seq=3
            balances:
              1: cash 9600/0; MOCK 4/0
              2: cash 400/0; MOCK 90/6
              3: cash 10000/0; MOCK 100/0
        "#]],
    );
}

#[test]
fn market_buy_walks_the_book_and_stops_at_the_price_band() {
    // Asks at 100, 102 and 106; the band (5 % over the best ask, 105) keeps 106 out of reach.
    check(
        "
        sell 2 #1 MOCK 3 limit 100
        sell 2 #2 MOCK 3 limit 102
        sell 3 #3 MOCK 5 limit 106
        buy 1 #4 MOCK 10 market
        ",
        expect![[r#"
            > sell 2 #1 MOCK 3 limit 100
              accepted #1 2 SELL MOCK Limit { price: 100 } qty=3 reserved=0
              bbo MOCK - / 100x3 seq=1
            > sell 2 #2 MOCK 3 limit 102
              accepted #2 2 SELL MOCK Limit { price: 102 } qty=3 reserved=0
            > sell 3 #3 MOCK 5 limit 106
              accepted #3 3 SELL MOCK Limit { price: 106 } qty=5 reserved=0
            > buy 1 #4 MOCK 10 market
              accepted #4 1 BUY MOCK Market qty=10 reserved=1050
              trade t1 BUY 3@100 taker=#4(1) maker=#1(2) fees=0/0 seq=2
              done #1 Filled filled=3
              trade t2 BUY 3@102 taker=#4(1) maker=#2(2) fees=0/0 seq=3
              done #2 Filled filled=3
              done #4 Unfilled filled=6
              bbo MOCK - / 106x5 seq=4
            balances:
              1: cash 9394/0; MOCK 6/0
              2: cash 606/0; MOCK 94/0
              3: cash 10000/0; MOCK 95/5
        "#]],
    );
}

#[test]
fn market_buy_by_notional_spends_at_most_the_cash_given() {
    check(
        "
        sell 2 #1 MOCK 2 limit 100
        sell 2 #2 MOCK 5 limit 101
        buy 1 #3 MOCK $450 market
        ",
        expect![[r#"
            > sell 2 #1 MOCK 2 limit 100
              accepted #1 2 SELL MOCK Limit { price: 100 } qty=2 reserved=0
              bbo MOCK - / 100x2 seq=1
            > sell 2 #2 MOCK 5 limit 101
              accepted #2 2 SELL MOCK Limit { price: 101 } qty=5 reserved=0
            > buy 1 #3 MOCK $450 market
              accepted #3 1 BUY MOCK Market qty=0 notional=450 reserved=450
              trade t1 BUY 2@100 taker=#3(1) maker=#1(2) fees=0/0 seq=2
              done #1 Filled filled=2
              trade t2 BUY 2@101 taker=#3(1) maker=#2(2) fees=0/0 seq=3
              done #3 Filled filled=4
              bbo MOCK - / 101x3 seq=4
            balances:
              1: cash 9598/0; MOCK 4/0
              2: cash 402/0; MOCK 93/3
              3: cash 10000/0; MOCK 100/0
        "#]],
    );
}

#[test]
fn rejected_orders_change_nothing_and_map_to_seed_statuses() {
    check(
        "
        buy 1 #1 MOCK 200 limit 100
        sell 1 #2 MOCK 1 limit 100
        buy 1 #3 NOPE 1 limit 100
        buy 1 #4 MOCK 1 limit 100.001
        buy 1 #5 MOCK 1 limit 100.005
        buy 1 #6 MOCK 1.5 limit 100
        buy 1 #7 MOCK 0 limit 100
        buy 1 #8 MOCK 1 limit 0
        buy 9 #9 MOCK 1 limit 100
        buy 1 #10 MOCK 1 limit 100 cid=a
        buy 1 #10 MOCK 1 limit 100
        buy 1 #11 MOCK 1 limit 100 cid=a
        buy 1 #12 MOCK 1 market
        sell 2 #13 MOCK $100 market
        buy 1 #14 MOCK 1 limit 100 ioc post
        halt MOCK
        buy 1 #15 MOCK 1 limit 100
        resume MOCK
        ",
        expect![[r#"
            > buy 1 #1 MOCK 200 limit 100
              rejected #1 insufficient_funds FAILED_INSUFFICIENT_FUNDS
            > sell 1 #2 MOCK 1 limit 100
              rejected #2 insufficient_shares FAILED_INSUFFICIENT_SHARES
            > buy 1 #3 NOPE 1 limit 100
              rejected #3 unknown_symbol FAILED_OTHER
            > buy 1 #4 MOCK 1 limit 100.001
              rejected #4 price_off_tick FAILED_OTHER
            > buy 1 #5 MOCK 1 limit 100.005
              rejected #5 price_off_tick FAILED_OTHER
            > buy 1 #6 MOCK 1.5 limit 100
              rejected #6 quantity_off_lot FAILED_OTHER
            > buy 1 #7 MOCK 0 limit 100
              rejected #7 invalid_quantity FAILED_OTHER
            > buy 1 #8 MOCK 1 limit 0
              rejected #8 invalid_price FAILED_OTHER
            > buy 9 #9 MOCK 1 limit 100
              rejected #9 unknown_account FAILED_OTHER
            > buy 1 #10 MOCK 1 limit 100 cid=a
              accepted #10 1 BUY MOCK Limit { price: 100 } qty=1 reserved=100
              bbo MOCK 100x1 / - seq=1
            > buy 1 #10 MOCK 1 limit 100
              rejected #10 duplicate_order_id FAILED_OTHER
            > buy 1 #11 MOCK 1 limit 100 cid=a
              rejected #11 duplicate_client_order_id FAILED_OTHER
            > buy 1 #12 MOCK 1 market
              rejected #12 no_liquidity FAILED_OTHER
            > sell 2 #13 MOCK $100 market
              rejected #13 invalid_order FAILED_OTHER
            > buy 1 #14 MOCK 1 limit 100 ioc post
              rejected #14 invalid_order FAILED_OTHER
            > halt MOCK
              halted MOCK
            > buy 1 #15 MOCK 1 limit 100
              rejected #15 instrument_halted FAILED_OTHER
            > resume MOCK
              resumed MOCK
            balances:
              1: cash 9900/100
              2: cash 0/0; MOCK 100/0
              3: cash 10000/0; MOCK 100/0
        "#]],
    );
}

#[test]
fn minimum_quantity_and_fractional_lots() {
    check(
        "
        list FRAC tick=0.05 lot=0.001 min=0.01
        deposit 2 tx=10 FRAC 1.5
        sell 2 #1 FRAC 0.005 limit 10
        sell 2 #2 FRAC 0.0105 limit 10
        sell 2 #3 FRAC 0.125 limit 10.05
        buy 1 #4 FRAC 0.1 limit 10.05
        ",
        expect![[r#"
            > list FRAC tick=0.05 lot=0.001 min=0.01
              listed FRAC
            > deposit 2 tx=10 FRAC 1.5
              deposited 2 tx=10 Shares(FRAC, 1.5)
            > sell 2 #1 FRAC 0.005 limit 10
              rejected #1 quantity_below_minimum FAILED_OTHER
            > sell 2 #2 FRAC 0.0105 limit 10
              rejected #2 quantity_off_lot FAILED_OTHER
            > sell 2 #3 FRAC 0.125 limit 10.05
              accepted #3 2 SELL FRAC Limit { price: 10.05 } qty=0.125 reserved=0
              bbo FRAC - / 10.05x0.125 seq=1
            > buy 1 #4 FRAC 0.1 limit 10.05
              accepted #4 1 BUY FRAC Limit { price: 10.05 } qty=0.1 reserved=1.005
              trade t1 BUY 0.1@10.05 taker=#4(1) maker=#3(2) fees=0/0 seq=2
              done #4 Filled filled=0.1
              bbo FRAC - / 10.05x0.025 seq=3
            balances:
              1: cash 9998.995/0; FRAC 0.1/0
              2: cash 1.005/0; MOCK 100/0; FRAC 1.375/0.025
              3: cash 10000/0; MOCK 100/0
        "#]],
    );
}

#[test]
fn immediate_or_cancel_and_fill_or_kill() {
    check(
        "
        sell 2 #1 MOCK 5 limit 100
        buy 1 #2 MOCK 8 limit 100 ioc
        sell 2 #3 MOCK 5 limit 100
        buy 1 #4 MOCK 8 limit 100 fok
        buy 1 #5 MOCK 5 limit 100 fok
        ",
        expect![[r#"
            > sell 2 #1 MOCK 5 limit 100
              accepted #1 2 SELL MOCK Limit { price: 100 } qty=5 reserved=0
              bbo MOCK - / 100x5 seq=1
            > buy 1 #2 MOCK 8 limit 100 ioc
              accepted #2 1 BUY MOCK Limit { price: 100 } qty=8 reserved=800
              trade t1 BUY 5@100 taker=#2(1) maker=#1(2) fees=0/0 seq=2
              done #1 Filled filled=5
              done #2 Unfilled filled=5
              bbo MOCK - / - seq=3
            > sell 2 #3 MOCK 5 limit 100
              accepted #3 2 SELL MOCK Limit { price: 100 } qty=5 reserved=0
              bbo MOCK - / 100x5 seq=4
            > buy 1 #4 MOCK 8 limit 100 fok
              accepted #4 1 BUY MOCK Limit { price: 100 } qty=8 reserved=800
              done #4 FillOrKillUnfillable filled=0
            > buy 1 #5 MOCK 5 limit 100 fok
              accepted #5 1 BUY MOCK Limit { price: 100 } qty=5 reserved=500
              trade t2 BUY 5@100 taker=#5(1) maker=#3(2) fees=0/0 seq=5
              done #3 Filled filled=5
              done #5 Filled filled=5
              bbo MOCK - / - seq=6
            balances:
              1: cash 9000/0; MOCK 10/0
              2: cash 1000/0; MOCK 90/0
              3: cash 10000/0; MOCK 100/0
        "#]],
    );
}

#[test]
fn post_only_rests_or_is_rejected() {
    check(
        "
        sell 2 #1 MOCK 5 limit 100
        buy 1 #2 MOCK 5 limit 100 post
        buy 1 #3 MOCK 5 limit 99.99 post
        ",
        expect![[r#"
            > sell 2 #1 MOCK 5 limit 100
              accepted #1 2 SELL MOCK Limit { price: 100 } qty=5 reserved=0
              bbo MOCK - / 100x5 seq=1
            > buy 1 #2 MOCK 5 limit 100 post
              rejected #2 post_only_would_cross FAILED_OTHER
            > buy 1 #3 MOCK 5 limit 99.99 post
              accepted #3 1 BUY MOCK Limit { price: 99.99 } qty=5 reserved=499.95
              bbo MOCK 99.99x5 / 100x5 seq=2
            balances:
              1: cash 9500.05/499.95
              2: cash 0/0; MOCK 95/5
              3: cash 10000/0; MOCK 100/0
        "#]],
    );
}

#[test]
fn replace_keeps_priority_only_when_reducing_at_the_same_price() {
    // #1 and #2 rest at 100. Reducing #1 keeps it first; raising #2's quantity sends it
    // behind #3. The market sell then fills #1, #3 and #2 in that order.
    check(
        "
        buy 1 #1 MOCK 5 limit 100
        buy 3 #2 MOCK 5 limit 100
        buy 1 #3 MOCK 5 limit 100
        replace 1 #1 qty=2
        replace 3 #2 qty=6
        sell 2 #4 MOCK 10 market
        replace 3 #2 price=99.5
        replace 3 #2 qty=1
        replace 2 #2 qty=1
        replace 3 #99 qty=1
        ",
        expect![[r#"
            > buy 1 #1 MOCK 5 limit 100
              accepted #1 1 BUY MOCK Limit { price: 100 } qty=5 reserved=500
              bbo MOCK 100x5 / - seq=1
            > buy 3 #2 MOCK 5 limit 100
              accepted #2 3 BUY MOCK Limit { price: 100 } qty=5 reserved=500
              bbo MOCK 100x10 / - seq=2
            > buy 1 #3 MOCK 5 limit 100
              accepted #3 1 BUY MOCK Limit { price: 100 } qty=5 reserved=500
              bbo MOCK 100x15 / - seq=3
            > replace 1 #1 qty=2
              replaced #1 2@100 priority_kept=true
              bbo MOCK 100x12 / - seq=4
            > replace 3 #2 qty=6
              replaced #2 6@100 priority_kept=false
              bbo MOCK 100x13 / - seq=5
            > sell 2 #4 MOCK 10 market
              accepted #4 2 SELL MOCK Market qty=10 reserved=0
              trade t1 SELL 2@100 taker=#4(2) maker=#1(1) fees=0/0 seq=6
              done #1 Filled filled=2
              trade t2 SELL 5@100 taker=#4(2) maker=#3(1) fees=0/0 seq=7
              done #3 Filled filled=5
              trade t3 SELL 3@100 taker=#4(2) maker=#2(3) fees=0/0 seq=8
              done #4 Filled filled=10
              bbo MOCK 100x3 / - seq=9
            > replace 3 #2 price=99.5
              replaced #2 6@99.5 priority_kept=false
              bbo MOCK 99.5x3 / - seq=10
            > replace 3 #2 qty=1
              command-rejected 3 #2 invalid_quantity
            > replace 2 #2 qty=1
              command-rejected 2 #2 unknown_order
            > replace 3 #99 qty=1
              command-rejected 3 #99 unknown_order
            balances:
              1: cash 9300/0; MOCK 7/0
              2: cash 1000/0; MOCK 90/0
              3: cash 9401.5/298.5; MOCK 103/0
        "#]],
    );
}

#[test]
fn replace_to_a_crossing_price_trades_and_checks_funds() {
    check(
        "
        sell 2 #1 MOCK 5 limit 101
        buy 1 #2 MOCK 5 limit 100
        replace 1 #2 qty=500
        replace 1 #2 price=101
        ",
        expect![[r#"
            > sell 2 #1 MOCK 5 limit 101
              accepted #1 2 SELL MOCK Limit { price: 101 } qty=5 reserved=0
              bbo MOCK - / 101x5 seq=1
            > buy 1 #2 MOCK 5 limit 100
              accepted #2 1 BUY MOCK Limit { price: 100 } qty=5 reserved=500
              bbo MOCK 100x5 / 101x5 seq=2
            > replace 1 #2 qty=500
              command-rejected 1 #2 insufficient_funds
            > replace 1 #2 price=101
              replaced #2 5@101 priority_kept=false
              trade t1 BUY 5@101 taker=#2(1) maker=#1(2) fees=0/0 seq=3
              done #1 Filled filled=5
              done #2 Filled filled=5
              bbo MOCK - / - seq=4
            balances:
              1: cash 9495/0; MOCK 5/0
              2: cash 505/0; MOCK 95/0
              3: cash 10000/0; MOCK 100/0
        "#]],
    );
}

#[test]
fn cancel_and_cancel_all() {
    check(
        "
        list OTHER
        buy 1 #1 MOCK 1 limit 90
        buy 1 #2 OTHER 1 limit 50
        buy 1 #3 MOCK 1 limit 91
        cancel 2 #1
        cancel 1 #1
        cancel 1 #1
        buy 1 #4 MOCK 1 limit 92
        cancelall 1 MOCK
        cancelall 1
        ",
        expect![[r#"
            > list OTHER
              listed OTHER
            > buy 1 #1 MOCK 1 limit 90
              accepted #1 1 BUY MOCK Limit { price: 90 } qty=1 reserved=90
              bbo MOCK 90x1 / - seq=1
            > buy 1 #2 OTHER 1 limit 50
              accepted #2 1 BUY OTHER Limit { price: 50 } qty=1 reserved=50
              bbo OTHER 50x1 / - seq=1
            > buy 1 #3 MOCK 1 limit 91
              accepted #3 1 BUY MOCK Limit { price: 91 } qty=1 reserved=91
              bbo MOCK 91x1 / - seq=2
            > cancel 2 #1
              command-rejected 2 #1 unknown_order
            > cancel 1 #1
              done #1 Cancelled filled=0
            > cancel 1 #1
              command-rejected 1 #1 unknown_order
            > buy 1 #4 MOCK 1 limit 92
              accepted #4 1 BUY MOCK Limit { price: 92 } qty=1 reserved=92
              bbo MOCK 92x1 / - seq=3
            > cancelall 1 MOCK
              done #3 Cancelled filled=0
              done #4 Cancelled filled=0
              bbo MOCK - / - seq=4
            > cancelall 1
              done #2 Cancelled filled=0
              bbo OTHER - / - seq=2
            balances:
              1: cash 10000/0
              2: cash 0/0; MOCK 100/0
              3: cash 10000/0; MOCK 100/0
        "#]],
    );
}

/// A re-quote replaces the account's ladder in one step: the book's top is published once,
/// at the end, never with the side empty between the old ladder and the new; orders that
/// cross trade; one refused does not stop the others; other symbols' orders stay.
#[test]
fn a_requote_replaces_the_ladder_in_one_step() {
    check(
        "
        list OTHER
        requote 3 MOCK #1:buy:5@99 #2:sell:5@101 #3:sell:5@102
        buy 3 #4 OTHER 1 limit 50
        buy 1 #5 MOCK 2 limit 100
        requote 3 MOCK #6:buy:5@98 #7:sell:5@100 #8:sell:5@100.005
        requote 3 MOCK #9:buy:5@98 #10:sell:5@100
        requote 9 MOCK #11:buy:5@98
        requote 3 NOPE #12:buy:5@98
        requote 3 MOCK
        ",
        expect![[r#"
            > list OTHER
              listed OTHER
            > requote 3 MOCK #1:buy:5@99 #2:sell:5@101 #3:sell:5@102
              accepted #1 3 BUY MOCK Limit { price: 99 } qty=5 reserved=495
              accepted #2 3 SELL MOCK Limit { price: 101 } qty=5 reserved=0
              accepted #3 3 SELL MOCK Limit { price: 102 } qty=5 reserved=0
              bbo MOCK 99x5 / 101x5 seq=1
            > buy 3 #4 OTHER 1 limit 50
              accepted #4 3 BUY OTHER Limit { price: 50 } qty=1 reserved=50
              bbo OTHER 50x1 / - seq=1
            > buy 1 #5 MOCK 2 limit 100
              accepted #5 1 BUY MOCK Limit { price: 100 } qty=2 reserved=200
              bbo MOCK 100x2 / 101x5 seq=2
            > requote 3 MOCK #6:buy:5@98 #7:sell:5@100 #8:sell:5@100.005
              done #1 Cancelled filled=0
              done #2 Cancelled filled=0
              done #3 Cancelled filled=0
              accepted #6 3 BUY MOCK Limit { price: 98 } qty=5 reserved=490
              accepted #7 3 SELL MOCK Limit { price: 100 } qty=5 reserved=0
              trade t1 SELL 2@100 taker=#7(3) maker=#5(1) fees=0/0 seq=3
              done #5 Filled filled=2
              rejected #8 price_off_tick FAILED_OTHER
              bbo MOCK 98x5 / 100x3 seq=4
            > requote 3 MOCK #9:buy:5@98 #10:sell:5@100
              done #6 Cancelled filled=0
              done #7 Cancelled filled=2
              accepted #9 3 BUY MOCK Limit { price: 98 } qty=5 reserved=490
              accepted #10 3 SELL MOCK Limit { price: 100 } qty=5 reserved=0
              bbo MOCK 98x5 / 100x5 seq=5
            > requote 9 MOCK #11:buy:5@98
              command-rejected 9 unknown_account
            > requote 3 NOPE #12:buy:5@98
              command-rejected 3 unknown_symbol
            > requote 3 MOCK
              done #9 Cancelled filled=0
              done #10 Cancelled filled=0
              bbo MOCK - / - seq=6
            balances:
              1: cash 9800/0; MOCK 2/0
              2: cash 0/0; MOCK 100/0
              3: cash 10150/50; MOCK 98/0
        "#]],
    );
}

/// An account may open with its cash in the same command, so none is left open unfunded;
/// what would refuse the deposit refuses the whole command, creating nothing.
#[test]
fn an_account_opens_with_its_cash_in_one_step() {
    check(
        "
        account 7 tx=900 cash=500
        withdraw 7 tx=901 cash 500
        account 8 tx=900 cash=500
        deposit 8 tx=902 cash 1
        account 8 tx=903 cash=0
        account 8 house tx=904 cash=25
        account 7 tx=905 cash=1
        deposit 7 tx=905 cash 2
        ",
        expect![[r#"
            > account 7 tx=900 cash=500
              account 7 Cash
              deposited 7 tx=900 Cash(500)
            > withdraw 7 tx=901 cash 500
              withdrawn 7 tx=901 Cash(500)
            > account 8 tx=900 cash=500
              command-rejected 8 transaction_conflict
            > deposit 8 tx=902 cash 1
              command-rejected 8 unknown_account
            > account 8 tx=903 cash=0
              command-rejected 8 invalid_quantity
            > account 8 house tx=904 cash=25
              account 8 House
              deposited 8 tx=904 Cash(25)
            > account 7 tx=905 cash=1
              command-rejected 7 account_exists
            > deposit 7 tx=905 cash 2
              deposited 7 tx=905 Cash(2)
            balances:
              1: cash 10000/0
              2: cash 0/0; MOCK 100/0
              3: cash 10000/0; MOCK 100/0
        "#]],
    );
}

#[test]
fn self_trade_prevention_modes() {
    check(
        "
        sell 3 #1 MOCK 2 limit 100
        sell 2 #2 MOCK 2 limit 100
        buy 3 #3 MOCK 3 limit 100
        sell 3 #4 MOCK 2 limit 101
        buy 3 #5 MOCK 2 limit 101 stp=taking
        buy 3 #6 MOCK 2 limit 101 stp=both
        ",
        expect![[r#"
            > sell 3 #1 MOCK 2 limit 100
              accepted #1 3 SELL MOCK Limit { price: 100 } qty=2 reserved=0
              bbo MOCK - / 100x2 seq=1
            > sell 2 #2 MOCK 2 limit 100
              accepted #2 2 SELL MOCK Limit { price: 100 } qty=2 reserved=0
              bbo MOCK - / 100x4 seq=2
            > buy 3 #3 MOCK 3 limit 100
              accepted #3 3 BUY MOCK Limit { price: 100 } qty=3 reserved=300
              done #1 SelfTradePrevented filled=0
              trade t1 BUY 2@100 taker=#3(3) maker=#2(2) fees=0/0 seq=3
              done #2 Filled filled=2
              bbo MOCK 100x1 / - seq=4
            > sell 3 #4 MOCK 2 limit 101
              accepted #4 3 SELL MOCK Limit { price: 101 } qty=2 reserved=0
              bbo MOCK 100x1 / 101x2 seq=5
            > buy 3 #5 MOCK 2 limit 101 stp=taking
              accepted #5 3 BUY MOCK Limit { price: 101 } qty=2 reserved=202
              done #5 SelfTradePrevented filled=0
            > buy 3 #6 MOCK 2 limit 101 stp=both
              accepted #6 3 BUY MOCK Limit { price: 101 } qty=2 reserved=202
              done #4 SelfTradePrevented filled=0
              done #6 SelfTradePrevented filled=0
              bbo MOCK 100x1 / - seq=6
            balances:
              1: cash 10000/0
              2: cash 200/0; MOCK 98/0
              3: cash 9700/100; MOCK 102/0
        "#]],
    );
}

#[test]
fn a_replace_renames_an_order_and_changes_how_long_it_lasts() {
    // A resting limit takes a new client order id and becomes a day order, keeping its
    // place; its old id is free again and its new one taken. A replace that is refused
    // (a price off the tick grid) renames nothing. An id another open order holds, a time in
    // force other than GTC or DAY, or a stop's rename on a halted market are refused. A
    // rename with a new price moves the order back in the queue, and frees its old id. The
    // session's end expires the day orders and leaves the GTC ones.
    check(
        "
        buy 1 #1 MOCK 2 limit 99 cid=first
        buy 1 #2 MOCK 1 limit 98 cid=second
        replace 1 #1 cid=renamed tif=day
        buy 1 #3 MOCK 1 limit 97 cid=first
        buy 1 #4 MOCK 1 limit 97 cid=renamed
        replace 1 #1 cid=second
        replace 1 #1 tif=ioc
        replace 1 #2 price=98.001 cid=third
        buy 1 #5 MOCK 1 limit 96 cid=third
        replace 1 #2 price=98.5 cid=fourth tif=day
        buy 1 #7 MOCK 1 limit 95 cid=second
        buy 1 #6 MOCK 1 stop 110 cid=stop
        replace 1 #6 stop=111 cid=moved
        halt MOCK
        replace 1 #6 cid=halted
        resume MOCK
        eos
        ",
        expect![[r#"
            > buy 1 #1 MOCK 2 limit 99 cid=first
              accepted #1 1 BUY MOCK Limit { price: 99 } qty=2 reserved=198
              bbo MOCK 99x2 / - seq=1
            > buy 1 #2 MOCK 1 limit 98 cid=second
              accepted #2 1 BUY MOCK Limit { price: 98 } qty=1 reserved=98
            > replace 1 #1 cid=renamed tif=day
              replaced #1 2@99 cid=renamed tif=Day priority_kept=true
            > buy 1 #3 MOCK 1 limit 97 cid=first
              accepted #3 1 BUY MOCK Limit { price: 97 } qty=1 reserved=97
            > buy 1 #4 MOCK 1 limit 97 cid=renamed
              rejected #4 duplicate_client_order_id FAILED_OTHER
            > replace 1 #1 cid=second
              command-rejected 1 #1 duplicate_client_order_id
            > replace 1 #1 tif=ioc
              command-rejected 1 #1 invalid_order
            > replace 1 #2 price=98.001 cid=third
              command-rejected 1 #2 price_off_tick
            > buy 1 #5 MOCK 1 limit 96 cid=third
              accepted #5 1 BUY MOCK Limit { price: 96 } qty=1 reserved=96
            > replace 1 #2 price=98.5 cid=fourth tif=day
              replaced #2 1@98.5 cid=fourth tif=Day priority_kept=false
            > buy 1 #7 MOCK 1 limit 95 cid=second
              accepted #7 1 BUY MOCK Limit { price: 95 } qty=1 reserved=95
            > buy 1 #6 MOCK 1 stop 110 cid=stop
              accepted #6 1 BUY MOCK Stop { stop_price: 110 } qty=1 reserved=115.5
            > replace 1 #6 stop=111 cid=moved
              replaced #6 1@market stop=111 cid=moved priority_kept=false
            > halt MOCK
              halted MOCK
            > replace 1 #6 cid=halted
              command-rejected 1 #6 instrument_halted
            > resume MOCK
              resumed MOCK
            > eos
              done #1 Expired filled=0
              done #2 Expired filled=0
              bbo MOCK 97x1 / - seq=2
            balances:
              1: cash 9595.45/404.55
              2: cash 0/0; MOCK 100/0
              3: cash 10000/0; MOCK 100/0
        "#]],
    );
}

#[test]
fn waiting_stops_are_replaced_with_their_reservations_and_trigger_when_already_reached() {
    // A trade at 100 sets the last price. The buy stop's trigger moves up (its reservation
    // follows its new band cap, 5 % over the stop), then its quantity shrinks in place. A
    // stop (market) order has no limit price to change; a stop-limit order takes a new
    // stop, limit and quantity at once, and one moved to a trigger the last trade has
    // already reached triggers now, resting as a limit that no longer takes a stop price.
    check(
        "
        sell 2 #1 MOCK 1 limit 100
        buy 1 #2 MOCK 1 limit 100
        buy 1 #3 MOCK 2 stop 105
        replace 1 #3 stop=106
        replace 1 #3 price=107
        replace 1 #3 qty=1
        replace 3 #3 stop=104
        replace 1 #3 stop=106.001
        sell 2 #4 MOCK 3 stoplimit 95 94.5
        replace 2 #4 stop=96 price=95.5 qty=2
        replace 2 #4 stop=100.5
        replace 2 #4 stop=97
        ",
        expect![[r#"
            > sell 2 #1 MOCK 1 limit 100
              accepted #1 2 SELL MOCK Limit { price: 100 } qty=1 reserved=0
              bbo MOCK - / 100x1 seq=1
            > buy 1 #2 MOCK 1 limit 100
              accepted #2 1 BUY MOCK Limit { price: 100 } qty=1 reserved=100
              trade t1 BUY 1@100 taker=#2(1) maker=#1(2) fees=0/0 seq=2
              done #1 Filled filled=1
              done #2 Filled filled=1
              bbo MOCK - / - seq=3
            > buy 1 #3 MOCK 2 stop 105
              accepted #3 1 BUY MOCK Stop { stop_price: 105 } qty=2 reserved=220.5
            > replace 1 #3 stop=106
              replaced #3 2@market stop=106 priority_kept=false
            > replace 1 #3 price=107
              command-rejected 1 #3 invalid_order
            > replace 1 #3 qty=1
              replaced #3 1@market stop=106 priority_kept=true
            > replace 3 #3 stop=104
              command-rejected 3 #3 unknown_order
            > replace 1 #3 stop=106.001
              command-rejected 1 #3 price_off_tick
            > sell 2 #4 MOCK 3 stoplimit 95 94.5
              accepted #4 2 SELL MOCK StopLimit { stop_price: 95, limit_price: 94.5 } qty=3 reserved=0
            > replace 2 #4 stop=96 price=95.5 qty=2
              replaced #4 2@95.5 stop=96 priority_kept=false
            > replace 2 #4 stop=100.5
              replaced #4 2@95.5 stop=100.5 priority_kept=false
              triggered #4 at 100.5
              bbo MOCK - / 95.5x2 seq=4
            > replace 2 #4 stop=97
              command-rejected 2 #4 invalid_order
            balances:
              1: cash 9788.7/111.3; MOCK 1/0
              2: cash 100/0; MOCK 97/2
              3: cash 10000/0; MOCK 100/0
        "#]],
    );
}

#[test]
fn a_waiting_trailing_stops_trail_is_replaced_from_the_price_it_has_trailed() {
    // The trailing sell starts 2.00 under the last trade (100): stop 98. A 5 % trail moves
    // the stop to 95; a trail of 1.00 and one share, to 99. A trade at 101 carries it to
    // 100; a tighter trail of 0.40, recomputed from the 101 it has trailed, puts the stop
    // at 100.60, which the last trade (100.50) has passed: it triggers at once and sells to
    // the bid at 99. A trailing
    // stop takes neither a stop price (its trail sets it) nor a limit price.
    check(
        "
        sell 2 #1 MOCK 1 limit 100
        buy 1 #2 MOCK 1 limit 100
        sell 2 #3 MOCK 2 trail 2
        replace 2 #3 trail=500bp
        replace 2 #3 stop=97
        replace 2 #3 price=97
        replace 2 #3 trail=0.001
        replace 2 #3 trail=1 qty=1
        sell 2 #4 MOCK 1 limit 101
        buy 3 #5 MOCK 1 limit 101
        buy 3 #6 MOCK 1 limit 100.5
        sell 1 #7 MOCK 1 limit 100.5
        buy 3 #8 MOCK 5 limit 99
        replace 2 #3 trail=0.4
        ",
        expect![[r#"
            > sell 2 #1 MOCK 1 limit 100
              accepted #1 2 SELL MOCK Limit { price: 100 } qty=1 reserved=0
              bbo MOCK - / 100x1 seq=1
            > buy 1 #2 MOCK 1 limit 100
              accepted #2 1 BUY MOCK Limit { price: 100 } qty=1 reserved=100
              trade t1 BUY 1@100 taker=#2(1) maker=#1(2) fees=0/0 seq=2
              done #1 Filled filled=1
              done #2 Filled filled=1
              bbo MOCK - / - seq=3
            > sell 2 #3 MOCK 2 trail 2
              accepted #3 2 SELL MOCK TrailingStop { trail: Amount(2) } qty=2 reserved=0
            > replace 2 #3 trail=500bp
              replaced #3 2@market stop=95 priority_kept=false
            > replace 2 #3 stop=97
              command-rejected 2 #3 invalid_order
            > replace 2 #3 price=97
              command-rejected 2 #3 invalid_order
            > replace 2 #3 trail=0.001
              command-rejected 2 #3 price_off_tick
            > replace 2 #3 trail=1 qty=1
              replaced #3 1@market stop=99 priority_kept=false
            > sell 2 #4 MOCK 1 limit 101
              accepted #4 2 SELL MOCK Limit { price: 101 } qty=1 reserved=0
              bbo MOCK - / 101x1 seq=4
            > buy 3 #5 MOCK 1 limit 101
              accepted #5 3 BUY MOCK Limit { price: 101 } qty=1 reserved=101
              trade t2 BUY 1@101 taker=#5(3) maker=#4(2) fees=0/0 seq=5
              done #4 Filled filled=1
              done #5 Filled filled=1
              bbo MOCK - / - seq=6
            > buy 3 #6 MOCK 1 limit 100.5
              accepted #6 3 BUY MOCK Limit { price: 100.5 } qty=1 reserved=100.5
              bbo MOCK 100.5x1 / - seq=7
            > sell 1 #7 MOCK 1 limit 100.5
              accepted #7 1 SELL MOCK Limit { price: 100.5 } qty=1 reserved=0
              trade t3 SELL 1@100.5 taker=#7(1) maker=#6(3) fees=0/0 seq=8
              done #6 Filled filled=1
              done #7 Filled filled=1
              bbo MOCK - / - seq=9
            > buy 3 #8 MOCK 5 limit 99
              accepted #8 3 BUY MOCK Limit { price: 99 } qty=5 reserved=495
              bbo MOCK 99x5 / - seq=10
            > replace 2 #3 trail=0.4
              replaced #3 1@market stop=100.6 priority_kept=false
              triggered #3 at 100.6
              trade t4 SELL 1@99 taker=#3(2) maker=#8(3) fees=0/0 seq=11
              done #3 Filled filled=1
              bbo MOCK 99x4 / - seq=12
            balances:
              1: cash 10000.5/0; MOCK 0/0
              2: cash 300/0; MOCK 97/0
              3: cash 9303.5/396; MOCK 103/0
        "#]],
    );
}

#[test]
fn stop_and_stop_limit_orders_trigger_on_trades() {
    check(
        "
        buy 3 #1 MOCK 5 limit 99
        buy 3 #2 MOCK 5 limit 98
        sell 2 #3 MOCK 3 stop 99
        sell 2 #4 MOCK 2 stoplimit 98.5 98.5
        sell 2 #5 MOCK 1 limit 99
        ",
        expect![[r#"
            > buy 3 #1 MOCK 5 limit 99
              accepted #1 3 BUY MOCK Limit { price: 99 } qty=5 reserved=495
              bbo MOCK 99x5 / - seq=1
            > buy 3 #2 MOCK 5 limit 98
              accepted #2 3 BUY MOCK Limit { price: 98 } qty=5 reserved=490
            > sell 2 #3 MOCK 3 stop 99
              accepted #3 2 SELL MOCK Stop { stop_price: 99 } qty=3 reserved=0
            > sell 2 #4 MOCK 2 stoplimit 98.5 98.5
              accepted #4 2 SELL MOCK StopLimit { stop_price: 98.5, limit_price: 98.5 } qty=2 reserved=0
            > sell 2 #5 MOCK 1 limit 99
              accepted #5 2 SELL MOCK Limit { price: 99 } qty=1 reserved=0
              trade t1 SELL 1@99 taker=#5(2) maker=#1(3) fees=0/0 seq=2
              done #5 Filled filled=1
              triggered #3 at 99
              trade t2 SELL 3@99 taker=#3(2) maker=#1(3) fees=0/0 seq=3
              done #3 Filled filled=3
              bbo MOCK 99x1 / - seq=4
            balances:
              1: cash 10000/0
              2: cash 396/0; MOCK 94/2
              3: cash 9015/589; MOCK 104/0
        "#]],
    );
}

#[test]
fn trailing_stops_follow_the_last_trade() {
    // The trailing sell starts 2.00 under the last trade (100), follows it up to 105 (stop
    // 103), then fires when a trade prints at 103. The 10 % trailing buy (stop 110) only
    // moves down with new lows, so it stays open with its cash reserved at the 5 % band.
    check(
        "
        sell 3 #1 MOCK 1 limit 100
        buy 1 #2 MOCK 1 limit 100
        sell 2 #3 MOCK 4 trail 2
        buy 1 #4 MOCK 10 trail 1000bp
        sell 3 #5 MOCK 1 limit 105
        buy 1 #6 MOCK 1 limit 105
        buy 3 #7 MOCK 10 limit 103
        sell 2 #8 MOCK 1 limit 103
        ",
        expect![[r#"
            > sell 3 #1 MOCK 1 limit 100
              accepted #1 3 SELL MOCK Limit { price: 100 } qty=1 reserved=0
              bbo MOCK - / 100x1 seq=1
            > buy 1 #2 MOCK 1 limit 100
              accepted #2 1 BUY MOCK Limit { price: 100 } qty=1 reserved=100
              trade t1 BUY 1@100 taker=#2(1) maker=#1(3) fees=0/0 seq=2
              done #1 Filled filled=1
              done #2 Filled filled=1
              bbo MOCK - / - seq=3
            > sell 2 #3 MOCK 4 trail 2
              accepted #3 2 SELL MOCK TrailingStop { trail: Amount(2) } qty=4 reserved=0
            > buy 1 #4 MOCK 10 trail 1000bp
              accepted #4 1 BUY MOCK TrailingStop { trail: Percent { basis_points: 1000 } } qty=10 reserved=1155
            > sell 3 #5 MOCK 1 limit 105
              accepted #5 3 SELL MOCK Limit { price: 105 } qty=1 reserved=0
              bbo MOCK - / 105x1 seq=4
            > buy 1 #6 MOCK 1 limit 105
              accepted #6 1 BUY MOCK Limit { price: 105 } qty=1 reserved=105
              trade t2 BUY 1@105 taker=#6(1) maker=#5(3) fees=0/0 seq=5
              done #5 Filled filled=1
              done #6 Filled filled=1
              bbo MOCK - / - seq=6
            > buy 3 #7 MOCK 10 limit 103
              accepted #7 3 BUY MOCK Limit { price: 103 } qty=10 reserved=1030
              bbo MOCK 103x10 / - seq=7
            > sell 2 #8 MOCK 1 limit 103
              accepted #8 2 SELL MOCK Limit { price: 103 } qty=1 reserved=0
              trade t3 SELL 1@103 taker=#8(2) maker=#7(3) fees=0/0 seq=8
              done #8 Filled filled=1
              triggered #3 at 103
              trade t4 SELL 4@103 taker=#3(2) maker=#7(3) fees=0/0 seq=9
              done #3 Filled filled=4
              bbo MOCK 103x5 / - seq=10
            balances:
              1: cash 8640/1155; MOCK 2/0
              2: cash 515/0; MOCK 95/0
              3: cash 9175/515; MOCK 103/0
        "#]],
    );
}

#[test]
fn day_orders_expire_at_the_end_of_the_session() {
    check(
        "
        buy 1 #1 MOCK 1 limit 90 day
        buy 1 #2 MOCK 1 limit 91
        sell 2 #3 MOCK 1 stop 80 day
        eos MOCK
        eos
        ",
        expect![[r#"
            > buy 1 #1 MOCK 1 limit 90 day
              accepted #1 1 BUY MOCK Limit { price: 90 } qty=1 reserved=90
              bbo MOCK 90x1 / - seq=1
            > buy 1 #2 MOCK 1 limit 91
              accepted #2 1 BUY MOCK Limit { price: 91 } qty=1 reserved=91
              bbo MOCK 91x1 / - seq=2
            > sell 2 #3 MOCK 1 stop 80 day
              accepted #3 2 SELL MOCK Stop { stop_price: 80 } qty=1 reserved=0
            > eos MOCK
              done #1 Expired filled=0
              done #3 Expired filled=0
            > eos
            balances:
              1: cash 9909/91
              2: cash 0/0; MOCK 100/0
              3: cash 10000/0; MOCK 100/0
        "#]],
    );
}

#[test]
fn deposits_and_withdrawals_are_idempotent_by_transaction() {
    check(
        "
        deposit 1 tx=100 cash 50
        deposit 1 tx=100 cash 50
        deposit 1 tx=100 cash 60
        withdraw 1 tx=101 cash 20000
        withdraw 1 tx=102 cash 10050
        withdraw 2 tx=103 MOCK 100.5
        deposit 1 tx=104 cash -5
        deposit 7 tx=105 cash 5
        ",
        expect![[r#"
            > deposit 1 tx=100 cash 50
              deposited 1 tx=100 Cash(50)
            > deposit 1 tx=100 cash 50
              already-applied 1 tx=100
            > deposit 1 tx=100 cash 60
              command-rejected 1 transaction_conflict
            > withdraw 1 tx=101 cash 20000
              command-rejected 1 insufficient_funds
            > withdraw 1 tx=102 cash 10050
              withdrawn 1 tx=102 Cash(10050)
            > withdraw 2 tx=103 MOCK 100.5
              command-rejected 2 quantity_off_lot
            > deposit 1 tx=104 cash -5
              command-rejected 1 invalid_quantity
            > deposit 7 tx=105 cash 5
              command-rejected 7 unknown_account
            balances:
              1: cash 0/0
              2: cash 0/0; MOCK 100/0
              3: cash 10000/0; MOCK 100/0
        "#]],
    );
}

#[test]
fn maker_and_taker_fees_go_to_the_fee_account() {
    let config = EngineConfig { maker_fee_bps: 10, taker_fee_bps: 25, ..EngineConfig::default() };
    check_with(
        config,
        "
        sell 2 #1 MOCK 10 limit 100
        buy 1 #2 MOCK 4 limit 100
        buy 3 #3 MOCK 6 limit 99
        sell 2 #4 MOCK 6 market
        ",
        expect![[r#"
            > sell 2 #1 MOCK 10 limit 100
              accepted #1 2 SELL MOCK Limit { price: 100 } qty=10 reserved=0
              bbo MOCK - / 100x10 seq=1
            > buy 1 #2 MOCK 4 limit 100
              accepted #2 1 BUY MOCK Limit { price: 100 } qty=4 reserved=401
              trade t1 BUY 4@100 taker=#2(1) maker=#1(2) fees=1/0.4 seq=2
              done #2 Filled filled=4
              bbo MOCK - / 100x6 seq=3
            > buy 3 #3 MOCK 6 limit 99
              accepted #3 3 BUY MOCK Limit { price: 99 } qty=6 reserved=595.485
              bbo MOCK 99x6 / 100x6 seq=4
            > sell 2 #4 MOCK 6 market
              accepted #4 2 SELL MOCK Market qty=6 reserved=0
              trade t2 SELL 6@99 taker=#4(2) maker=#3(3) fees=1.485/0.594 seq=5
              done #3 Filled filled=6
              done #4 Filled filled=6
              bbo MOCK - / 100x6 seq=6
            balances:
              1: cash 9599/0; MOCK 4/0
              2: cash 992.115/0; MOCK 84/6
              3: cash 9405.406/0; MOCK 106/0
        "#]],
    );
}

#[test]
fn trading_limits_reject_with_the_limit_named() {
    check(
        "
        limits 1 maxqty=10 maxnotional=500 maxopen=1
        buy 1 #1 MOCK 11 limit 1
        buy 1 #2 MOCK 6 limit 100
        buy 1 #3 MOCK 5 limit 100
        buy 1 #4 MOCK 1 limit 1
        limits 1 off
        buy 1 #5 MOCK 1 limit 1
        ",
        expect![[r#"
            > limits 1 maxqty=10 maxnotional=500 maxopen=1
              limits-set 1
            > buy 1 #1 MOCK 11 limit 1
              rejected #1 limit_max_order_quantity FAILED_OTHER
            > buy 1 #2 MOCK 6 limit 100
              rejected #2 limit_max_order_notional FAILED_OTHER
            > buy 1 #3 MOCK 5 limit 100
              accepted #3 1 BUY MOCK Limit { price: 100 } qty=5 reserved=500
              bbo MOCK 100x5 / - seq=1
            > buy 1 #4 MOCK 1 limit 1
              rejected #4 limit_max_open_orders FAILED_OTHER
            > limits 1 off
              limits-set 1
            > buy 1 #5 MOCK 1 limit 1
              rejected #5 limit_trading_disabled FAILED_OTHER
            balances:
              1: cash 9500/500
              2: cash 0/0; MOCK 100/0
              3: cash 10000/0; MOCK 100/0
        "#]],
    );
}

/// Each stateless limit at its boundary (accepted) and just past it (refused). 09:00 UTC
/// is second 32,400; the trading window is 09:00-16:00.
#[test]
fn stateless_limits_hold_at_the_boundary_and_refuse_past_it() {
    check(
        "
        list ABC
        sell 2 #20 MOCK 5 limit 101
        limits 1 maxqty=10 maxnotional=1000 allow=MOCK,XYZ types=LIMIT,STOP hours=540-960 minprice=5
        @32400 buy 1 #1 MOCK 10 limit 100
        @32400 buy 1 #2 MOCK 11 limit 5
        @32400 buy 1 #3 MOCK 10 limit 100.01
        @32400 buy 1 #4 ABC 1 limit 10
        @32400 buy 1 #5 MOCK 1 market
        @32400 buy 1 #6 MOCK 1 limit 4.99
        @32400 buy 1 #7 MOCK 1 limit 5
        limits 1 block=ABC types=MARKET hours=540-960
        @40000 buy 1 #8 ABC 1 limit 10
        @40000 buy 1 #9 MOCK 1 limit 5
        @57599 buy 1 #10 MOCK 1 market
        @57600 buy 1 #11 MOCK 1 market
        ",
        expect![[r#"
            > list ABC
              listed ABC
            > sell 2 #20 MOCK 5 limit 101
              accepted #20 2 SELL MOCK Limit { price: 101 } qty=5 reserved=0
              bbo MOCK - / 101x5 seq=1
            > limits 1 maxqty=10 maxnotional=1000 allow=MOCK,XYZ types=LIMIT,STOP hours=540-960 minprice=5
              limits-set 1
            > @32400 buy 1 #1 MOCK 10 limit 100
              accepted #1 1 BUY MOCK Limit { price: 100 } qty=10 reserved=1000
              bbo MOCK 100x10 / 101x5 seq=2
            > @32400 buy 1 #2 MOCK 11 limit 5
              rejected #2 limit_max_order_quantity FAILED_OTHER
            > @32400 buy 1 #3 MOCK 10 limit 100.01
              rejected #3 limit_max_order_notional FAILED_OTHER
            > @32400 buy 1 #4 ABC 1 limit 10
              rejected #4 limit_symbol_not_allowed FAILED_OTHER
            > @32400 buy 1 #5 MOCK 1 market
              rejected #5 limit_order_type_not_allowed FAILED_OTHER
            > @32400 buy 1 #6 MOCK 1 limit 4.99
              rejected #6 limit_min_share_price FAILED_OTHER
            > @32400 buy 1 #7 MOCK 1 limit 5
              accepted #7 1 BUY MOCK Limit { price: 5 } qty=1 reserved=5
            > limits 1 block=ABC types=MARKET hours=540-960
              limits-set 1
            > @40000 buy 1 #8 ABC 1 limit 10
              rejected #8 limit_symbol_blocked FAILED_OTHER
            > @40000 buy 1 #9 MOCK 1 limit 5
              rejected #9 limit_order_type_not_allowed FAILED_OTHER
            > @57599 buy 1 #10 MOCK 1 market
              accepted #10 1 BUY MOCK Market qty=1 reserved=106.05
              trade t1 BUY 1@101 taker=#10(1) maker=#20(2) fees=0/0 seq=3
              done #10 Filled filled=1
              bbo MOCK 100x10 / 101x4 seq=4
            > @57600 buy 1 #11 MOCK 1 market
              rejected #11 limit_outside_trading_hours FAILED_OTHER
            balances:
              1: cash 8894/1005; MOCK 1/0
              2: cash 101/0; MOCK 95/4
              3: cash 10000/0; MOCK 100/0
        "#]],
    );
}

/// Group and organisation limits apply with the account's own; the tightest wins, and
/// leaving the group lifts its limit.
#[test]
fn group_and_organisation_limits_apply_the_tightest() {
    check(
        "
        limits 1 maxqty=10
        group-limits 7 maxqty=5
        org-limits 9 maxqty=8
        member 1 group=7 org=9
        buy 1 #1 MOCK 5 limit 1
        buy 1 #2 MOCK 6 limit 1
        member 1 org=9
        buy 1 #3 MOCK 8 limit 1
        buy 1 #4 MOCK 9 limit 1
        member 1
        buy 1 #5 MOCK 10 limit 1
        buy 1 #6 MOCK 11 limit 1
        ",
        expect![[r#"
            > limits 1 maxqty=10
              limits-set 1
            > group-limits 7 maxqty=5
              limits-set group 7
            > org-limits 9 maxqty=8
              limits-set org 9
            > member 1 group=7 org=9
              member 1 group=7 org=9
            > buy 1 #1 MOCK 5 limit 1
              accepted #1 1 BUY MOCK Limit { price: 1 } qty=5 reserved=5
              bbo MOCK 1x5 / - seq=1
            > buy 1 #2 MOCK 6 limit 1
              rejected #2 limit_max_order_quantity FAILED_OTHER
            > member 1 org=9
              member 1 group=- org=9
            > buy 1 #3 MOCK 8 limit 1
              accepted #3 1 BUY MOCK Limit { price: 1 } qty=8 reserved=8
              bbo MOCK 1x13 / - seq=2
            > buy 1 #4 MOCK 9 limit 1
              rejected #4 limit_max_order_quantity FAILED_OTHER
            > member 1
              member 1 group=- org=-
            > buy 1 #5 MOCK 10 limit 1
              accepted #5 1 BUY MOCK Limit { price: 1 } qty=10 reserved=10
              bbo MOCK 1x23 / - seq=3
            > buy 1 #6 MOCK 11 limit 1
              rejected #6 limit_max_order_quantity FAILED_OTHER
            balances:
              1: cash 9977/23
              2: cash 0/0; MOCK 100/0
              3: cash 10000/0; MOCK 100/0
        "#]],
    );
}

/// Orders per minute (a sliding window), trades per day and notional per day (UTC days),
/// each at the boundary and just past it.
#[test]
fn activity_limits_count_minutes_and_days() {
    check(
        "
        limits 1 perminute=2 maxopen=5
        @60 buy 1 #1 MOCK 1 limit 90
        @61 buy 1 #2 MOCK 1 limit 90
        @62 buy 1 #3 MOCK 1 limit 90
        @120 buy 1 #4 MOCK 1 limit 90
        limits 3 tradesperday=2 daynotional=300
        @86400 sell 2 #5 MOCK 20 limit 100
        @86401 buy 3 #6 MOCK 1 limit 100
        @86402 buy 3 #7 MOCK 2 limit 100
        @86403 buy 3 #8 MOCK 1 limit 100
        @172800 buy 3 #9 MOCK 3 limit 100
        @172801 buy 3 #10 MOCK 1 limit 100
        ",
        expect![[r#"
            > limits 1 perminute=2 maxopen=5
              limits-set 1
            > @60 buy 1 #1 MOCK 1 limit 90
              accepted #1 1 BUY MOCK Limit { price: 90 } qty=1 reserved=90
              bbo MOCK 90x1 / - seq=1
            > @61 buy 1 #2 MOCK 1 limit 90
              accepted #2 1 BUY MOCK Limit { price: 90 } qty=1 reserved=90
              bbo MOCK 90x2 / - seq=2
            > @62 buy 1 #3 MOCK 1 limit 90
              rejected #3 limit_max_orders_per_minute FAILED_OTHER
            > @120 buy 1 #4 MOCK 1 limit 90
              accepted #4 1 BUY MOCK Limit { price: 90 } qty=1 reserved=90
              bbo MOCK 90x3 / - seq=3
            > limits 3 tradesperday=2 daynotional=300
              limits-set 3
            > @86400 sell 2 #5 MOCK 20 limit 100
              accepted #5 2 SELL MOCK Limit { price: 100 } qty=20 reserved=0
              bbo MOCK 90x3 / 100x20 seq=4
            > @86401 buy 3 #6 MOCK 1 limit 100
              accepted #6 3 BUY MOCK Limit { price: 100 } qty=1 reserved=100
              trade t1 BUY 1@100 taker=#6(3) maker=#5(2) fees=0/0 seq=5
              done #6 Filled filled=1
              bbo MOCK 90x3 / 100x19 seq=6
            > @86402 buy 3 #7 MOCK 2 limit 100
              accepted #7 3 BUY MOCK Limit { price: 100 } qty=2 reserved=200
              trade t2 BUY 2@100 taker=#7(3) maker=#5(2) fees=0/0 seq=7
              done #7 Filled filled=2
              bbo MOCK 90x3 / 100x17 seq=8
            > @86403 buy 3 #8 MOCK 1 limit 100
              rejected #8 limit_max_trades_per_day FAILED_OTHER
            > @172800 buy 3 #9 MOCK 3 limit 100
              accepted #9 3 BUY MOCK Limit { price: 100 } qty=3 reserved=300
              trade t3 BUY 3@100 taker=#9(3) maker=#5(2) fees=0/0 seq=9
              done #9 Filled filled=3
              bbo MOCK 90x3 / 100x14 seq=10
            > @172801 buy 3 #10 MOCK 1 limit 100
              rejected #10 limit_max_daily_notional FAILED_OTHER
            balances:
              1: cash 9730/270
              2: cash 600/0; MOCK 80/14
              3: cash 9400/0; MOCK 106/0
        "#]],
    );
}

/// Position, gross exposure and share of deposited cash count shares held and open buys
/// (valued at the last trade price); a cancel gives the room back.
#[test]
fn position_limits_count_holdings_and_open_buys() {
    check(
        "
        sell 2 #1 MOCK 10 limit 100
        limits 1 maxpos=5
        buy 1 #2 MOCK 3 limit 100
        buy 1 #3 MOCK 2 limit 99
        buy 1 #4 MOCK 1 limit 99
        cancel 1 #3
        buy 1 #5 MOCK 2 limit 99
        limits 1 maxgross=600
        buy 1 #6 MOCK 1 limit 98
        buy 1 #7 MOCK 1 limit 98
        limits 1 sharebp=700
        buy 1 #8 MOCK 1 limit 98
        buy 1 #9 MOCK 1 limit 98
        sell 1 #10 MOCK 3 limit 120
        ",
        expect![[r#"
            > sell 2 #1 MOCK 10 limit 100
              accepted #1 2 SELL MOCK Limit { price: 100 } qty=10 reserved=0
              bbo MOCK - / 100x10 seq=1
            > limits 1 maxpos=5
              limits-set 1
            > buy 1 #2 MOCK 3 limit 100
              accepted #2 1 BUY MOCK Limit { price: 100 } qty=3 reserved=300
              trade t1 BUY 3@100 taker=#2(1) maker=#1(2) fees=0/0 seq=2
              done #2 Filled filled=3
              bbo MOCK - / 100x7 seq=3
            > buy 1 #3 MOCK 2 limit 99
              accepted #3 1 BUY MOCK Limit { price: 99 } qty=2 reserved=198
              bbo MOCK 99x2 / 100x7 seq=4
            > buy 1 #4 MOCK 1 limit 99
              rejected #4 limit_max_position FAILED_OTHER
            > cancel 1 #3
              done #3 Cancelled filled=0
              bbo MOCK - / 100x7 seq=5
            > buy 1 #5 MOCK 2 limit 99
              accepted #5 1 BUY MOCK Limit { price: 99 } qty=2 reserved=198
              bbo MOCK 99x2 / 100x7 seq=6
            > limits 1 maxgross=600
              limits-set 1
            > buy 1 #6 MOCK 1 limit 98
              accepted #6 1 BUY MOCK Limit { price: 98 } qty=1 reserved=98
            > buy 1 #7 MOCK 1 limit 98
              rejected #7 limit_max_gross_exposure FAILED_OTHER
            > limits 1 sharebp=700
              limits-set 1
            > buy 1 #8 MOCK 1 limit 98
              accepted #8 1 BUY MOCK Limit { price: 98 } qty=1 reserved=98
            > buy 1 #9 MOCK 1 limit 98
              rejected #9 limit_max_symbol_share FAILED_OTHER
            > sell 1 #10 MOCK 3 limit 120
              accepted #10 1 SELL MOCK Limit { price: 120 } qty=3 reserved=0
            balances:
              1: cash 9306/394; MOCK 0/3
              2: cash 300/0; MOCK 90/7
              3: cash 10000/0; MOCK 100/0
        "#]],
    );
}

/// Once the day's loss passes the limit, buys are refused (sells still go) until the
/// next UTC day.
#[test]
fn daily_loss_stops_buying_until_tomorrow() {
    check(
        "
        sell 2 #1 MOCK 1 limit 100
        buy 1 #2 MOCK 1 limit 100
        limits 3 dayloss=50
        @86400 buy 3 #3 MOCK 1 limit 90
        @86401 sell 2 #4 MOCK 1 limit 99.5
        @86402 buy 1 #5 MOCK 1 limit 99.5
        @86403 buy 3 #6 MOCK 1 limit 90
        @86404 sell 2 #7 MOCK 1 limit 99
        @86405 buy 1 #8 MOCK 1 limit 99
        @86406 buy 3 #9 MOCK 1 limit 90
        @86407 sell 3 #10 MOCK 1 limit 150
        @172800 buy 3 #11 MOCK 1 limit 90
        ",
        expect![[r#"
            > sell 2 #1 MOCK 1 limit 100
              accepted #1 2 SELL MOCK Limit { price: 100 } qty=1 reserved=0
              bbo MOCK - / 100x1 seq=1
            > buy 1 #2 MOCK 1 limit 100
              accepted #2 1 BUY MOCK Limit { price: 100 } qty=1 reserved=100
              trade t1 BUY 1@100 taker=#2(1) maker=#1(2) fees=0/0 seq=2
              done #1 Filled filled=1
              done #2 Filled filled=1
              bbo MOCK - / - seq=3
            > limits 3 dayloss=50
              limits-set 3
            > @86400 buy 3 #3 MOCK 1 limit 90
              accepted #3 3 BUY MOCK Limit { price: 90 } qty=1 reserved=90
              bbo MOCK 90x1 / - seq=4
            > @86401 sell 2 #4 MOCK 1 limit 99.5
              accepted #4 2 SELL MOCK Limit { price: 99.5 } qty=1 reserved=0
              bbo MOCK 90x1 / 99.5x1 seq=5
            > @86402 buy 1 #5 MOCK 1 limit 99.5
              accepted #5 1 BUY MOCK Limit { price: 99.5 } qty=1 reserved=99.5
              trade t2 BUY 1@99.5 taker=#5(1) maker=#4(2) fees=0/0 seq=6
              done #4 Filled filled=1
              done #5 Filled filled=1
              bbo MOCK 90x1 / - seq=7
            > @86403 buy 3 #6 MOCK 1 limit 90
              accepted #6 3 BUY MOCK Limit { price: 90 } qty=1 reserved=90
              bbo MOCK 90x2 / - seq=8
            > @86404 sell 2 #7 MOCK 1 limit 99
              accepted #7 2 SELL MOCK Limit { price: 99 } qty=1 reserved=0
              bbo MOCK 90x2 / 99x1 seq=9
            > @86405 buy 1 #8 MOCK 1 limit 99
              accepted #8 1 BUY MOCK Limit { price: 99 } qty=1 reserved=99
              trade t3 BUY 1@99 taker=#8(1) maker=#7(2) fees=0/0 seq=10
              done #7 Filled filled=1
              done #8 Filled filled=1
              bbo MOCK 90x2 / - seq=11
            > @86406 buy 3 #9 MOCK 1 limit 90
              rejected #9 limit_max_daily_loss FAILED_OTHER
            > @86407 sell 3 #10 MOCK 1 limit 150
              accepted #10 3 SELL MOCK Limit { price: 150 } qty=1 reserved=0
              bbo MOCK 90x2 / 150x1 seq=12
            > @172800 buy 3 #11 MOCK 1 limit 90
              accepted #11 3 BUY MOCK Limit { price: 90 } qty=1 reserved=90
              bbo MOCK 90x3 / 150x1 seq=13
            balances:
              1: cash 9701.5/0; MOCK 3/0
              2: cash 298.5/0; MOCK 97/0
              3: cash 9730/270; MOCK 99/1
        "#]],
    );
}

#[test]
fn an_idempotency_key_repeats_the_first_outcome_refuses_another_order_and_expires() {
    check(
        "
        @100 sell 2 #1 MOCK 10 limit 100
        @101 buy 1 #2 MOCK 4 market key=77/5
        @102 buy 1 #3 MOCK 4 market key=77/5
        @103 buy 1 #4 MOCK 5 market key=77/6
        @104 buy 1 #5 MOCK 1000 limit 100 key=78/1
        @105 buy 1 #6 MOCK 1000 limit 100 key=78/1
        @86501 buy 1 #7 MOCK 1 market key=77/5
        ",
        expect![[r#"
            > @100 sell 2 #1 MOCK 10 limit 100
              accepted #1 2 SELL MOCK Limit { price: 100 } qty=10 reserved=0
              bbo MOCK - / 100x10 seq=1
            > @101 buy 1 #2 MOCK 4 market key=77/5
              accepted #2 1 BUY MOCK Market qty=4 reserved=420
              trade t1 BUY 4@100 taker=#2(1) maker=#1(2) fees=0/0 seq=2
              done #2 Filled filled=4
              bbo MOCK - / 100x6 seq=3
            > @102 buy 1 #3 MOCK 4 market key=77/5
              repeated #3 1 of #2
            > @103 buy 1 #4 MOCK 5 market key=77/6
              command-rejected 1 #4 idempotency_key_reused
            > @104 buy 1 #5 MOCK 1000 limit 100 key=78/1
              rejected #5 insufficient_funds FAILED_INSUFFICIENT_FUNDS
            > @105 buy 1 #6 MOCK 1000 limit 100 key=78/1
              repeated #6 1 of #5 rejected insufficient_funds
            > @86501 buy 1 #7 MOCK 1 market key=77/5
              accepted #7 1 BUY MOCK Market qty=1 reserved=105
              trade t2 BUY 1@100 taker=#7(1) maker=#1(2) fees=0/0 seq=4
              done #7 Filled filled=1
              bbo MOCK - / 100x5 seq=5
            balances:
              1: cash 9500/0; MOCK 5/0
              2: cash 500/0; MOCK 90/5
              3: cash 10000/0; MOCK 100/0
        "#]],
    );
}

#[test]
fn bracket_legs_activate_with_each_entry_fill_and_share_one_reservation() {
    check(
        "
        sell 2 #1 MOCK 4 limit 100
        buy 1 #10 MOCK 10 limit 100 tp=#11@110 sl=#12@95
        sell 3 #2 MOCK 6 limit 100
        buy 3 #3 MOCK 10 limit 110
        ",
        expect![[r#"
            > sell 2 #1 MOCK 4 limit 100
              accepted #1 2 SELL MOCK Limit { price: 100 } qty=4 reserved=0
              bbo MOCK - / 100x4 seq=1
            > buy 1 #10 MOCK 10 limit 100 tp=#11@110 sl=#12@95
              accepted #10 1 BUY MOCK Limit { price: 100 } qty=10 reserved=1000
              contingent #10 Bracket tp=#11 Limit { price: 110 } sl=#12 Stop { stop_price: 95 }
              trade t1 BUY 4@100 taker=#10(1) maker=#1(2) fees=0/0 seq=2
              done #1 Filled filled=4
              bbo MOCK 100x6 / - seq=3
              accepted #11 1 SELL MOCK Limit { price: 110 } qty=4 reserved=0
              bbo MOCK 100x6 / 110x4 seq=4
              accepted #12 1 SELL MOCK Stop { stop_price: 95 } qty=4 reserved=0
            > sell 3 #2 MOCK 6 limit 100
              accepted #2 3 SELL MOCK Limit { price: 100 } qty=6 reserved=0
              trade t2 SELL 6@100 taker=#2(3) maker=#10(1) fees=0/0 seq=5
              done #10 Filled filled=10
              done #2 Filled filled=6
              bbo MOCK - / 110x4 seq=6
              resized #11 qty=10 filled=0
              bbo MOCK - / 110x10 seq=7
              resized #12 qty=10 filled=0
            > buy 3 #3 MOCK 10 limit 110
              accepted #3 3 BUY MOCK Limit { price: 110 } qty=10 reserved=1100
              trade t3 BUY 10@110 taker=#3(3) maker=#11(1) fees=0/0 seq=8
              done #11 Filled filled=10
              done #3 Filled filled=10
              bbo MOCK - / - seq=9
              done #12 Cancelled filled=0
            balances:
              1: cash 10100/0; MOCK 0/0
              2: cash 400/0; MOCK 96/0
              3: cash 9500/0; MOCK 104/0
        "#]],
    );
}

#[test]
fn a_triggered_stop_loss_takes_the_reservation_over_and_cancels_the_take_profit() {
    check(
        "
        sell 2 #1 MOCK 5 limit 100
        buy 1 #10 MOCK 5 market tp=#11@110 sl=#12@95
        buy 3 #2 MOCK 3 limit 94
        replace 1 #11 qty=3
        replace 1 #12 price=96
        replace 1 #12 stop=96
        replace 1 #11 price=111
        sell 2 #3 MOCK 1 limit 95
        buy 3 #4 MOCK 1 limit 95
        ",
        expect![[r#"
            > sell 2 #1 MOCK 5 limit 100
              accepted #1 2 SELL MOCK Limit { price: 100 } qty=5 reserved=0
              bbo MOCK - / 100x5 seq=1
            > buy 1 #10 MOCK 5 market tp=#11@110 sl=#12@95
              accepted #10 1 BUY MOCK Market qty=5 reserved=525
              contingent #10 Bracket tp=#11 Limit { price: 110 } sl=#12 Stop { stop_price: 95 }
              trade t1 BUY 5@100 taker=#10(1) maker=#1(2) fees=0/0 seq=2
              done #1 Filled filled=5
              done #10 Filled filled=5
              bbo MOCK - / - seq=3
              accepted #11 1 SELL MOCK Limit { price: 110 } qty=5 reserved=0
              bbo MOCK - / 110x5 seq=4
              accepted #12 1 SELL MOCK Stop { stop_price: 95 } qty=5 reserved=0
            > buy 3 #2 MOCK 3 limit 94
              accepted #2 3 BUY MOCK Limit { price: 94 } qty=3 reserved=282
              bbo MOCK 94x3 / 110x5 seq=5
            > replace 1 #11 qty=3
              command-rejected 1 #11 not_replaceable
            > replace 1 #12 price=96
              command-rejected 1 #12 invalid_order
            > replace 1 #12 stop=96
              replaced #12 5@market stop=96 priority_kept=false
            > replace 1 #11 price=111
              replaced #11 5@111 priority_kept=false
              bbo MOCK 94x3 / 111x5 seq=6
            > sell 2 #3 MOCK 1 limit 95
              accepted #3 2 SELL MOCK Limit { price: 95 } qty=1 reserved=0
              bbo MOCK 94x3 / 95x1 seq=7
            > buy 3 #4 MOCK 1 limit 95
              accepted #4 3 BUY MOCK Limit { price: 95 } qty=1 reserved=95
              trade t2 BUY 1@95 taker=#4(3) maker=#3(2) fees=0/0 seq=8
              done #3 Filled filled=1
              done #4 Filled filled=1
              done #11 Cancelled filled=0
              triggered #12 at 96
              trade t3 SELL 3@94 taker=#12(1) maker=#2(3) fees=0/0 seq=9
              done #2 Filled filled=3
              done #12 Unfilled filled=3
              bbo MOCK - / - seq=10
            balances:
              1: cash 9782/0; MOCK 2/0
              2: cash 595/0; MOCK 94/0
              3: cash 9623/0; MOCK 104/0
        "#]],
    );
}

#[test]
fn cancelling_the_entry_cancels_its_legs_and_an_unfilled_entry_ends_them() {
    check(
        "
        buy 1 #10 MOCK 5 limit 90 tp=#11@110 sl=#12@80
        cancel 1 #10
        sell 2 #1 MOCK 2 limit 100
        buy 1 #20 MOCK 5 limit 100 ioc tp=#21@110 sl=#22@95
        cancel 1 #21
        buy 1 #30 MOCK 5 limit 90 ioc tp=#31@110
        ",
        expect![[r#"
            > buy 1 #10 MOCK 5 limit 90 tp=#11@110 sl=#12@80
              accepted #10 1 BUY MOCK Limit { price: 90 } qty=5 reserved=450
              contingent #10 Bracket tp=#11 Limit { price: 110 } sl=#12 Stop { stop_price: 80 }
              bbo MOCK 90x5 / - seq=1
            > cancel 1 #10
              done #10 Cancelled filled=0
              bbo MOCK - / - seq=2
              leg-cancelled #11 of #10
              leg-cancelled #12 of #10
            > sell 2 #1 MOCK 2 limit 100
              accepted #1 2 SELL MOCK Limit { price: 100 } qty=2 reserved=0
              bbo MOCK - / 100x2 seq=3
            > buy 1 #20 MOCK 5 limit 100 ioc tp=#21@110 sl=#22@95
              accepted #20 1 BUY MOCK Limit { price: 100 } qty=5 reserved=500
              contingent #20 Bracket tp=#21 Limit { price: 110 } sl=#22 Stop { stop_price: 95 }
              trade t1 BUY 2@100 taker=#20(1) maker=#1(2) fees=0/0 seq=4
              done #1 Filled filled=2
              done #20 Unfilled filled=2
              bbo MOCK - / - seq=5
              accepted #21 1 SELL MOCK Limit { price: 110 } qty=2 reserved=0
              bbo MOCK - / 110x2 seq=6
              accepted #22 1 SELL MOCK Stop { stop_price: 95 } qty=2 reserved=0
            > cancel 1 #21
              done #21 Cancelled filled=0
              bbo MOCK - / - seq=7
              done #22 Cancelled filled=0
            > buy 1 #30 MOCK 5 limit 90 ioc tp=#31@110
              accepted #30 1 BUY MOCK Limit { price: 90 } qty=5 reserved=450
              contingent #30 OneTriggersOther tp=#31 Limit { price: 110 }
              done #30 Unfilled filled=0
              leg-cancelled #31 of #30
            balances:
              1: cash 9800/0; MOCK 2/0
              2: cash 200/0; MOCK 98/0
              3: cash 10000/0; MOCK 100/0
        "#]],
    );
}

#[test]
fn one_cancels_other_and_one_triggers_other() {
    check(
        "
        sell 2 #1 MOCK 3 limit 105 oco sl=#2@95
        buy 3 #3 MOCK 2 limit 105
        sell 2 #4 MOCK 5 limit 120 oco sl=#5@90/89
        sell 3 #6 MOCK 1 limit 90
        buy 1 #7 MOCK 1 limit 90
        sell 1 #8 MOCK 1 limit 90
        replace 2 #4 qty=2
        sell 3 #9 MOCK 5 limit 100
        buy 1 #20 MOCK 5 limit 100 sl=#21@90
        sell 1 #22 MOCK 5 limit 130 tp=#23@90 sl=#24@140
        sell 1 #25 MOCK 5 limit 130 tp=#26@131 sl=#27@140
        sell 1 #28 MOCK 5 limit 130 tp=#29@90 sl=#30@130
        buy 3 #31 MOCK 1 market tp=#32@200 sl=#33@95
        buy 3 #34 MOCK 1 market tp=#35@90 sl=#36@80
        buy 3 #37 MOCK 1 market tp=#38@200 sl=#39@80
        ",
        expect![[r#"
            > sell 2 #1 MOCK 3 limit 105 oco sl=#2@95
              accepted #1 2 SELL MOCK Limit { price: 105 } qty=3 reserved=0
              contingent #1 OneCancelsOther sl=#2 Stop { stop_price: 95 }
              bbo MOCK - / 105x3 seq=1
              accepted #2 2 SELL MOCK Stop { stop_price: 95 } qty=3 reserved=0
            > buy 3 #3 MOCK 2 limit 105
              accepted #3 3 BUY MOCK Limit { price: 105 } qty=2 reserved=210
              trade t1 BUY 2@105 taker=#3(3) maker=#1(2) fees=0/0 seq=2
              done #3 Filled filled=2
              bbo MOCK - / 105x1 seq=3
              done #2 Cancelled filled=0
            > sell 2 #4 MOCK 5 limit 120 oco sl=#5@90/89
              accepted #4 2 SELL MOCK Limit { price: 120 } qty=5 reserved=0
              contingent #4 OneCancelsOther sl=#5 StopLimit { stop_price: 90, limit_price: 89 }
              accepted #5 2 SELL MOCK StopLimit { stop_price: 90, limit_price: 89 } qty=5 reserved=0
            > sell 3 #6 MOCK 1 limit 90
              accepted #6 3 SELL MOCK Limit { price: 90 } qty=1 reserved=0
              bbo MOCK - / 90x1 seq=4
            > buy 1 #7 MOCK 1 limit 90
              accepted #7 1 BUY MOCK Limit { price: 90 } qty=1 reserved=90
              trade t2 BUY 1@90 taker=#7(1) maker=#6(3) fees=0/0 seq=5
              done #6 Filled filled=1
              done #7 Filled filled=1
              done #4 Cancelled filled=0
              triggered #5 at 90
              bbo MOCK - / 89x5 seq=6
            > sell 1 #8 MOCK 1 limit 90
              accepted #8 1 SELL MOCK Limit { price: 90 } qty=1 reserved=0
            > replace 2 #4 qty=2
              command-rejected 2 #4 unknown_order
            > sell 3 #9 MOCK 5 limit 100
              accepted #9 3 SELL MOCK Limit { price: 100 } qty=5 reserved=0
            > buy 1 #20 MOCK 5 limit 100 sl=#21@90
              accepted #20 1 BUY MOCK Limit { price: 100 } qty=5 reserved=500
              contingent #20 OneTriggersOther sl=#21 Stop { stop_price: 90 }
              trade t3 BUY 5@89 taker=#20(1) maker=#5(2) fees=0/0 seq=7
              done #5 Filled filled=5
              done #20 Filled filled=5
              bbo MOCK - / 90x1 seq=8
              accepted #21 1 SELL MOCK Stop { stop_price: 90 } qty=5 reserved=0
              triggered #21 at 90
              done #21 Unfilled filled=0
            > sell 1 #22 MOCK 5 limit 130 tp=#23@90 sl=#24@140
              accepted #22 1 SELL MOCK Limit { price: 130 } qty=5 reserved=0
              contingent #22 Bracket tp=#23 Limit { price: 90 } sl=#24 Stop { stop_price: 140 }
            > sell 1 #25 MOCK 5 limit 130 tp=#26@131 sl=#27@140
              rejected #25 invalid_price FAILED_OTHER
            > sell 1 #28 MOCK 5 limit 130 tp=#29@90 sl=#30@130
              rejected #28 invalid_price FAILED_OTHER
            > buy 3 #31 MOCK 1 market tp=#32@200 sl=#33@95
              rejected #31 invalid_price FAILED_OTHER
            > buy 3 #34 MOCK 1 market tp=#35@90 sl=#36@80
              rejected #34 invalid_price FAILED_OTHER
            > buy 3 #37 MOCK 1 market tp=#38@200 sl=#39@80
              accepted #37 3 BUY MOCK Market qty=1 reserved=94.5
              contingent #37 Bracket tp=#38 Limit { price: 200 } sl=#39 Stop { stop_price: 80 }
              trade t4 BUY 1@90 taker=#37(3) maker=#8(1) fees=0/0 seq=9
              done #8 Filled filled=1
              done #37 Filled filled=1
              bbo MOCK - / 100x5 seq=10
              accepted #38 3 SELL MOCK Limit { price: 200 } qty=1 reserved=0
              accepted #39 3 SELL MOCK Stop { stop_price: 80 } qty=1 reserved=0
            balances:
              1: cash 9555/0; MOCK 0/5
              2: cash 655/0; MOCK 92/1
              3: cash 9790/0; MOCK 96/6
        "#]],
    );
}

#[test]
fn a_closed_market_queues_orders_that_last_for_the_open_and_trades_opg_and_cls_as_ioc_at_its_edges() {
    // While closed: orders for the open or close wait for their edge; GTC and DAY orders
    // are taken and wait for the open (a limit one's replace waits with it); IOC, post-only
    // and cash-sized ones are refused. At the open the orders for the open trade first,
    // then the queued ones enter in the order they were taken.
    check(
        "
        sell 2 #1 MOCK 5 limit 100
        close MOCK
        buy 1 #2 MOCK 1 limit 100
        buy 1 #3 MOCK 2 market opg
        buy 1 #4 MOCK 4 limit 100 opg
        buy 3 #5 MOCK 1 limit 99 cls
        buy 3 #6 MOCK 1 stop 101 opg
        cancel 1 #4
        replace 3 #5 price=99.5
        replace 3 #5 tif=gtc
        replace 1 #3 qty=3
        sell 2 #7 MOCK 3 limit 100 day
        buy 3 #10 MOCK 1 limit 100 ioc
        sell 2 #11 MOCK 1 limit 105 post
        buy 3 #12 MOCK 1 market
        replace 2 #7 price=101
        buy 1 #13 MOCK 1 limit 95
        cancel 1 #13
        open MOCK
        buy 1 #8 MOCK 3 limit 100 opg
        sell 2 #9 MOCK 1 limit 99
        eos MOCK
        ",
        expect![[r#"
            > sell 2 #1 MOCK 5 limit 100
              accepted #1 2 SELL MOCK Limit { price: 100 } qty=5 reserved=0
              bbo MOCK - / 100x5 seq=1
            > close MOCK
              session-closed MOCK
            > buy 1 #2 MOCK 1 limit 100
              accepted #2 1 BUY MOCK Limit { price: 100 } qty=1 reserved=100
            > buy 1 #3 MOCK 2 market opg
              accepted #3 1 BUY MOCK Market qty=2 reserved=210
            > buy 1 #4 MOCK 4 limit 100 opg
              accepted #4 1 BUY MOCK Limit { price: 100 } qty=4 reserved=400
            > buy 3 #5 MOCK 1 limit 99 cls
              accepted #5 3 BUY MOCK Limit { price: 99 } qty=1 reserved=99
            > buy 3 #6 MOCK 1 stop 101 opg
              rejected #6 invalid_order FAILED_OTHER
            > cancel 1 #4
              done #4 Cancelled filled=0
            > replace 3 #5 price=99.5
              replaced #5 1@99.5 priority_kept=false
            > replace 3 #5 tif=gtc
              command-rejected 3 #5 not_replaceable
            > replace 1 #3 qty=3
              command-rejected 1 #3 not_replaceable
            > sell 2 #7 MOCK 3 limit 100 day
              accepted #7 2 SELL MOCK Limit { price: 100 } qty=3 reserved=0
            > buy 3 #10 MOCK 1 limit 100 ioc
              rejected #10 market_closed FAILED_OTHER
            > sell 2 #11 MOCK 1 limit 105 post
              rejected #11 market_closed FAILED_OTHER
            > buy 3 #12 MOCK 1 market
              accepted #12 3 BUY MOCK Market qty=1 reserved=105
            > replace 2 #7 price=101
              replaced #7 3@101 priority_kept=false
            > buy 1 #13 MOCK 1 limit 95
              accepted #13 1 BUY MOCK Limit { price: 95 } qty=1 reserved=95
            > cancel 1 #13
              done #13 Cancelled filled=0
            > open MOCK
              session-opened MOCK
              trade t1 BUY 2@100 taker=#3(1) maker=#1(2) fees=0/0 seq=2
              done #3 Filled filled=2
              bbo MOCK - / 100x3 seq=3
              released #2 at the open
              trade t2 BUY 1@100 taker=#2(1) maker=#1(2) fees=0/0 seq=4
              done #2 Filled filled=1
              released #12 at the open
              trade t3 BUY 1@100 taker=#12(3) maker=#1(2) fees=0/0 seq=5
              done #12 Filled filled=1
              released #7 at the open
              bbo MOCK - / 100x1 seq=6
            > buy 1 #8 MOCK 3 limit 100 opg
              accepted #8 1 BUY MOCK Limit { price: 100 } qty=3 reserved=300
            > sell 2 #9 MOCK 1 limit 99
              accepted #9 2 SELL MOCK Limit { price: 99 } qty=1 reserved=0
              bbo MOCK - / 99x1 seq=7
            > eos MOCK
              trade t4 BUY 1@99 taker=#5(3) maker=#9(2) fees=0/0 seq=8
              done #9 Filled filled=1
              done #5 Filled filled=1
              bbo MOCK - / 100x1 seq=9
              done #7 Expired filled=0
            balances:
              1: cash 9400/300; MOCK 3/0
              2: cash 499/0; MOCK 94/1
              3: cash 9801/0; MOCK 102/0
        "#]],
    );
}

#[test]
fn cancelling_a_held_exit_ends_both_exits_and_the_entry_then_fills_alone() {
    check(
        "
        buy 1 #10 MOCK 2 limit 100 tp=#11@110 sl=#12@90
        cancel 2 #11
        cancel 1 #11
        cancel 1 #12
        sell 2 #1 MOCK 2 limit 100
        ",
        expect![[r#"
            > buy 1 #10 MOCK 2 limit 100 tp=#11@110 sl=#12@90
              accepted #10 1 BUY MOCK Limit { price: 100 } qty=2 reserved=200
              contingent #10 Bracket tp=#11 Limit { price: 110 } sl=#12 Stop { stop_price: 90 }
              bbo MOCK 100x2 / - seq=1
            > cancel 2 #11
              command-rejected 2 #11 unknown_order
            > cancel 1 #11
              leg-cancelled #11 of #10
              leg-cancelled #12 of #10
            > cancel 1 #12
              command-rejected 1 #12 unknown_order
            > sell 2 #1 MOCK 2 limit 100
              accepted #1 2 SELL MOCK Limit { price: 100 } qty=2 reserved=0
              trade t1 SELL 2@100 taker=#1(2) maker=#10(1) fees=0/0 seq=2
              done #10 Filled filled=2
              done #1 Filled filled=2
              bbo MOCK - / - seq=3
            balances:
              1: cash 9800/0; MOCK 2/0
              2: cash 200/0; MOCK 98/0
              3: cash 10000/0; MOCK 100/0
        "#]],
    );
}

#[test]
fn the_house_quotes_into_a_closed_book_so_the_orders_queued_for_the_open_meet_its_quotes() {
    // While closed nothing trades, but the liquidity provider's limit quotes stand in the
    // book at once (a user's wait for the open); one that would cross a resting order
    // waits like any other. At the open the queued market order meets the house's ask.
    check(
        "
        account 9 house
        deposit 9 tx=9 cash 10000
        deposit 9 tx=10 MOCK 100
        buy 3 #1 MOCK 1 limit 99
        close MOCK
        sell 9 #3 MOCK 5 limit 101
        buy 9 #4 MOCK 5 limit 98
        sell 9 #5 MOCK 1 limit 99
        sell 2 #6 MOCK 1 limit 100
        buy 1 #2 MOCK 2 market
        open MOCK
        ",
        expect![[r#"
            > account 9 house
              account 9 House
            > deposit 9 tx=9 cash 10000
              deposited 9 tx=9 Cash(10000)
            > deposit 9 tx=10 MOCK 100
              deposited 9 tx=10 Shares(MOCK, 100)
            > buy 3 #1 MOCK 1 limit 99
              accepted #1 3 BUY MOCK Limit { price: 99 } qty=1 reserved=99
              bbo MOCK 99x1 / - seq=1
            > close MOCK
              session-closed MOCK
            > sell 9 #3 MOCK 5 limit 101
              accepted #3 9 SELL MOCK Limit { price: 101 } qty=5 reserved=0
              bbo MOCK 99x1 / 101x5 seq=2
            > buy 9 #4 MOCK 5 limit 98
              accepted #4 9 BUY MOCK Limit { price: 98 } qty=5 reserved=490
            > sell 9 #5 MOCK 1 limit 99
              accepted #5 9 SELL MOCK Limit { price: 99 } qty=1 reserved=0
            > sell 2 #6 MOCK 1 limit 100
              accepted #6 2 SELL MOCK Limit { price: 100 } qty=1 reserved=0
            > buy 1 #2 MOCK 2 market
              accepted #2 1 BUY MOCK Market qty=2 reserved=212.1
            > open MOCK
              session-opened MOCK
              released #5 at the open
              trade t1 SELL 1@99 taker=#5(9) maker=#1(3) fees=0/0 seq=3
              done #1 Filled filled=1
              done #5 Filled filled=1
              released #6 at the open
              released #2 at the open
              trade t2 BUY 1@100 taker=#2(1) maker=#6(2) fees=0/0 seq=4
              done #6 Filled filled=1
              trade t3 BUY 1@101 taker=#2(1) maker=#3(9) fees=0/0 seq=5
              done #2 Filled filled=2
              bbo MOCK 98x5 / 101x4 seq=6
            balances:
              1: cash 9799/0; MOCK 2/0
              2: cash 100/0; MOCK 99/0
              3: cash 9901/0; MOCK 101/0
        "#]],
    );
}

#[test]
fn a_stop_replaced_while_the_market_is_closed_waits_for_the_open_and_triggers_then() {
    // A stop (waiting for its trigger, or queued while closed) takes a new stop, limit or
    // size while the market is closed; nothing triggers until the open, where it enters
    // after the orders queued before it and triggers if the last trade has reached it.
    check(
        "
        sell 2 #1 MOCK 1 limit 100
        buy 3 #2 MOCK 1 limit 100
        sell 2 #3 MOCK 5 limit 102
        buy 1 #4 MOCK 1 stop 105
        sell 2 #6 MOCK 1 limit 104 post
        close MOCK
        buy 1 #5 MOCK 1 stoplimit 110 111
        replace 1 #4 stop=99
        replace 1 #5 stop=98 price=103 qty=2
        replace 2 #6 price=103
        open MOCK
        ",
        expect![[r#"
            > sell 2 #1 MOCK 1 limit 100
              accepted #1 2 SELL MOCK Limit { price: 100 } qty=1 reserved=0
              bbo MOCK - / 100x1 seq=1
            > buy 3 #2 MOCK 1 limit 100
              accepted #2 3 BUY MOCK Limit { price: 100 } qty=1 reserved=100
              trade t1 BUY 1@100 taker=#2(3) maker=#1(2) fees=0/0 seq=2
              done #1 Filled filled=1
              done #2 Filled filled=1
              bbo MOCK - / - seq=3
            > sell 2 #3 MOCK 5 limit 102
              accepted #3 2 SELL MOCK Limit { price: 102 } qty=5 reserved=0
              bbo MOCK - / 102x5 seq=4
            > buy 1 #4 MOCK 1 stop 105
              accepted #4 1 BUY MOCK Stop { stop_price: 105 } qty=1 reserved=110.25
            > sell 2 #6 MOCK 1 limit 104 post
              accepted #6 2 SELL MOCK Limit { price: 104 } qty=1 reserved=0
            > close MOCK
              session-closed MOCK
            > buy 1 #5 MOCK 1 stoplimit 110 111
              accepted #5 1 BUY MOCK StopLimit { stop_price: 110, limit_price: 111 } qty=1 reserved=111
            > replace 1 #4 stop=99
              replaced #4 1@market stop=99 priority_kept=false
            > replace 1 #5 stop=98 price=103 qty=2
              replaced #5 2@103 stop=98 priority_kept=false
            > replace 2 #6 price=103
              command-rejected 2 #6 market_closed
            > open MOCK
              session-opened MOCK
              released #4 at the open
              triggered #4 at 99
              trade t2 BUY 1@102 taker=#4(1) maker=#3(2) fees=0/0 seq=5
              done #4 Filled filled=1
              released #5 at the open
              triggered #5 at 98
              trade t3 BUY 2@102 taker=#5(1) maker=#3(2) fees=0/0 seq=6
              done #5 Filled filled=2
              bbo MOCK - / 102x2 seq=7
            balances:
              1: cash 9694/0; MOCK 3/0
              2: cash 406/0; MOCK 93/3
              3: cash 9900/0; MOCK 101/0
        "#]],
    );
}

#[test]
fn a_reset_cancels_withdraws_and_deposits_in_one_command_and_never_reuses_an_id() {
    check(
        "
        buy 1 #1 MOCK 5 limit 99
        sell 3 #2 MOCK 10 limit 101
        buy 1 #3 MOCK 2 limit 101
        reset 3 tx=100 cash 500
        reset 1 tx=100 cash 500
        reset 2 tx=200 cash -1
        reset 9 tx=300 cash 1
        ",
        expect![[r#"
            > buy 1 #1 MOCK 5 limit 99
              accepted #1 1 BUY MOCK Limit { price: 99 } qty=5 reserved=495
              bbo MOCK 99x5 / - seq=1
            > sell 3 #2 MOCK 10 limit 101
              accepted #2 3 SELL MOCK Limit { price: 101 } qty=10 reserved=0
              bbo MOCK 99x5 / 101x10 seq=2
            > buy 1 #3 MOCK 2 limit 101
              accepted #3 1 BUY MOCK Limit { price: 101 } qty=2 reserved=202
              trade t1 BUY 2@101 taker=#3(1) maker=#2(3) fees=0/0 seq=3
              done #3 Filled filled=2
              bbo MOCK 99x5 / 101x8 seq=4
            > reset 3 tx=100 cash 500
              done #2 Cancelled filled=2
              bbo MOCK 99x5 / - seq=5
              withdrawn 3 tx=100 Shares(MOCK, 98)
              withdrawn 3 tx=101 Cash(10202)
              deposited 3 tx=102 Cash(500)
            > reset 1 tx=100 cash 500
              command-rejected 1 transaction_conflict
            > reset 2 tx=200 cash -1
              command-rejected 2 invalid_quantity
            > reset 9 tx=300 cash 1
              command-rejected 9 unknown_account
            balances:
              1: cash 9303/495; MOCK 2/0
              2: cash 0/0; MOCK 100/0
              3: cash 500/0; MOCK 0/0
        "#]],
    );
}

#[test]
fn an_exit_leg_queued_while_the_market_is_closed_grows_in_its_queue_with_each_close_fill() {
    // A bracket entry rests; the market closes; each close's auction fills part of it, so
    // its exits are placed while closed (queued for the open) and grow with the next fill
    // in their queue, not in a book level they are not in (this panicked the engine).
    check(
        "
        buy 1 #10 MOCK 10 limit 100 tp=#11@110 sl=#12@95
        close MOCK
        sell 2 #1 MOCK 4 limit 100 cls
        eos MOCK
        sell 2 #2 MOCK 3 limit 100 cls
        eos MOCK
        open MOCK
        ",
        expect![[r#"
            > buy 1 #10 MOCK 10 limit 100 tp=#11@110 sl=#12@95
              accepted #10 1 BUY MOCK Limit { price: 100 } qty=10 reserved=1000
              contingent #10 Bracket tp=#11 Limit { price: 110 } sl=#12 Stop { stop_price: 95 }
              bbo MOCK 100x10 / - seq=1
            > close MOCK
              session-closed MOCK
            > sell 2 #1 MOCK 4 limit 100 cls
              accepted #1 2 SELL MOCK Limit { price: 100 } qty=4 reserved=0
            > eos MOCK
              trade t1 SELL 4@100 taker=#1(2) maker=#10(1) fees=0/0 seq=2
              done #1 Filled filled=4
              bbo MOCK 100x6 / - seq=3
              accepted #11 1 SELL MOCK Limit { price: 110 } qty=4 reserved=0
              accepted #12 1 SELL MOCK Stop { stop_price: 95 } qty=4 reserved=0
            > sell 2 #2 MOCK 3 limit 100 cls
              accepted #2 2 SELL MOCK Limit { price: 100 } qty=3 reserved=0
            > eos MOCK
              trade t2 SELL 3@100 taker=#2(2) maker=#10(1) fees=0/0 seq=4
              done #2 Filled filled=3
              bbo MOCK 100x3 / - seq=5
              resized #11 qty=7 filled=0
              resized #12 qty=7 filled=0
            > open MOCK
              session-opened MOCK
              released #11 at the open
              released #12 at the open
              bbo MOCK 100x3 / 110x7 seq=6
            balances:
              1: cash 9000/300; MOCK 0/7
              2: cash 700/0; MOCK 93/0
              3: cash 10000/0; MOCK 100/0
        "#]],
    );
}

#[test]
fn a_trailing_stop_before_the_first_trade_trails_from_the_middle_of_the_quotes() {
    // No trade yet: an empty book gives no price to trail from; one quote, that price (a
    // sell trailing the 101 offer by 3.00 stops at 98); a bid at 99 and the offer at 101,
    // their middle (4 % under 100 is 96). A replaced trail shows the stop it recomputes.
    check(
        "
        sell 2 #3 MOCK 2 trail 2
        sell 3 #1 MOCK 1 limit 101
        sell 2 #4 MOCK 1 trail 2
        replace 2 #4 trail=3
        buy 1 #2 MOCK 1 limit 99
        sell 2 #5 MOCK 1 trail 500bp
        replace 2 #5 trail=400bp
        ",
        expect![[r#"
            > sell 2 #3 MOCK 2 trail 2
              rejected #3 no_reference_price FAILED_OTHER
            > sell 3 #1 MOCK 1 limit 101
              accepted #1 3 SELL MOCK Limit { price: 101 } qty=1 reserved=0
              bbo MOCK - / 101x1 seq=1
            > sell 2 #4 MOCK 1 trail 2
              accepted #4 2 SELL MOCK TrailingStop { trail: Amount(2) } qty=1 reserved=0
            > replace 2 #4 trail=3
              replaced #4 1@market stop=98 priority_kept=false
            > buy 1 #2 MOCK 1 limit 99
              accepted #2 1 BUY MOCK Limit { price: 99 } qty=1 reserved=99
              bbo MOCK 99x1 / 101x1 seq=2
            > sell 2 #5 MOCK 1 trail 500bp
              accepted #5 2 SELL MOCK TrailingStop { trail: Percent { basis_points: 500 } } qty=1 reserved=0
            > replace 2 #5 trail=400bp
              replaced #5 1@market stop=96 priority_kept=false
            balances:
              1: cash 9901/99
              2: cash 0/0; MOCK 98/2
              3: cash 10000/0; MOCK 99/1
        "#]],
    );
}
