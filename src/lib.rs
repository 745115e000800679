//! Keywarden: a license-key server. See docs/ARCHITECTURE.md for the map.

pub mod api;
pub mod app;
pub mod attempts;
pub mod backup;
pub mod config;
pub mod crypto;
pub mod csv_out;
pub mod demo;
pub mod domain;
pub mod engine;
pub mod error;
pub mod layers;
pub mod metrics;
pub mod portal;
pub mod private_files;
pub mod startup;
pub mod store;
pub mod telemetry;
