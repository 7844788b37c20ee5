//! Engine tests: scenario scripts, property tests over random command streams, determinism.
#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is a failed test

mod determinism;
mod generator;
mod keys;
mod property_tests;
mod scenarios;
mod script;
