//! # selo
//!
//! A sans-I/O core for the bespoke API security schemes of Brazilian banks:
//!
//! - [`safra`]: Banco Safra PSD — RSA handshake (psd001), AES-256-CTR body
//!   envelopes, authentication and token renewal (psd005/psd007), boleto
//!   registration and query (psd050/psd052), and the session state machine.
//! - [`ofb`]: Open Finance Brasil signed messages (JWS PS256).
//! - [`bmp`]: BMP HMAC-SHA512 signatures over exact JSON body bytes.
//! - [`br`]: Brazilian identifiers (CPF, CNPJ, boletos, ISPB, Pix keys).
//! - [`shared`]: the Redis protocol many instances share state through
//!   (key names, sealed Safra credentials, lease and fencing Lua scripts).
//!
//! Both roles (client and bank side) of every protocol live here. The crate
//! never opens a socket, reads a file, a clock or an environment variable:
//! time (`now`) and randomness ([`rng`]) come in as parameters, HTTP requests
//! go out as plain data ([`http::PreparedRequest`]) and responses come back
//! as plain data ([`http::ReceivedResponse`]).
//!
//! Every error carries a stable dotted code ([`error::all_codes`]) shared by
//! every language binding; the few codes only the host-language layers raise
//! (HTTP drivers, loaders) are listed in [`error::HOST_CODES`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod error;

pub mod bmp;
pub mod br;
pub mod crypto;
pub mod encoding;
pub mod http;
pub mod keys;
pub mod ofb;
pub mod rng;
pub mod safra;
pub mod shared;

pub use error::{Error, HOST_CODES, HostCode, HostLayer, all_codes, host_codes};
