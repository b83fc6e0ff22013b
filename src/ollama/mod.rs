//! Speaking to Ollama: model names ([`name`]), HTTP wire types ([`api`]), the HTTP client
//! ([`client`]) and what its environment variables mean ([`env`](mod@env)).

pub mod api;
pub mod cli;
pub mod client;
pub mod env;
pub mod name;
