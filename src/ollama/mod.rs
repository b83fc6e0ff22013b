//! Speaking to Ollama: model names ([`name`]); more to come (`api` wire types, `client`).

pub mod name;
