//! The TradeCraft library: the exchange assembled from its crates, started by one call
//! (`server::start`) with one typed configuration.

pub mod cache;
pub mod cluster;
pub mod server;
