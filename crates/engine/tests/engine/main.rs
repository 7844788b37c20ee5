//! Engine tests: scenario scripts, property tests over random command streams, determinism.

mod determinism;
mod generator;
mod property_tests;
mod scenarios;
mod script;
