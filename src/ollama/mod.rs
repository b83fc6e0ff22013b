//! Speaking to Ollama: model names ([`name`]), HTTP wire types ([`api`]), the HTTP client
//! ([`client`]) and what its environment variables mean ([`env`](mod@env)).

pub(crate) mod api;
pub(crate) mod cli;
pub(crate) mod client;
pub(crate) mod env;
pub(crate) mod goquote;
pub(crate) mod log;
pub(crate) mod name;
#[cfg_attr(
    not(test),
    expect(
        dead_code,
        reason = "read by issue 13's observe and plan, wired in after the reshaping"
    )
)]
pub(crate) mod show;
