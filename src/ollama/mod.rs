//! Speaking to Ollama: model names ([`name`]) and HTTP wire types ([`api`]); more to come
//! (`client`).

pub mod api;
pub mod cli;
pub mod client;
pub mod name;
