//! Speaking to Ollama: model names ([`name`]), HTTP wire types ([`api`]), the HTTP client
//! ([`client`]) and what its environment variables mean ([`env`](mod@env)).

pub(crate) mod api;
pub(crate) mod cli;
pub(crate) mod client;
pub(crate) mod env;
pub(crate) mod goquote;
pub(crate) mod log;
pub(crate) mod name;
pub(crate) mod show;
