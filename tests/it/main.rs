//! Integration tests: the real `keywarden` binary, the real embedded store, over HTTP.

mod abuse;
mod admin_api;
mod admin_portal;
mod backup;
mod bad_input;
mod browser;
mod client_api;
mod cluster;
mod concurrency;
mod conformance;
mod cql;
mod customer_portal;
mod durability;
mod faults;
mod grafana;
mod helpers;
mod jobs;
mod migrate;
mod observability;
mod prometheus;
mod security;
mod security_more;
mod signatures;
mod startup;
mod web;
