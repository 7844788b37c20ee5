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
