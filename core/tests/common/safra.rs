//! The Safra client role against the bank role, in memory: one `Session`
//! and one `Bank` sharing a seeded RNG and a clock, the fixture keys, and
//! the pumping of a request to the bank. Each test file adds its own
//! `exchange`/`run` (what happens on the wire, what it logs) in an `impl`
//! of its `World<L>`.

use selo::http::{PreparedRequest, ReceivedResponse};
use selo::keys::RsaPrivateKey;
use selo::rng::seeded;
use selo::safra::bank::{Bank, BankConfig};
use selo::safra::boleto::BoletoRequest;
use selo::safra::{BaseUrl, Operation, Outcome, Reply, RequestId, SafraProfile, Session};

/// Where the client sends its requests; the bank sees the path after it.
pub const BANK_ORIGIN: &str = "http://bank.test";

/// A fixture key, `tests/vectors/external/keys/<name>.pem`.
pub fn key(name: &str) -> RsaPrivateKey {
    RsaPrivateKey::import(super::vector_text(&format!("external/keys/{name}.pem")).as_bytes())
        .unwrap()
}

/// The sample boleto, `tests/vectors/safra/boleto-sample.json`.
pub fn boleto_sample() -> BoletoRequest {
    BoletoRequest::from_json(&super::vector_text("safra/boleto-sample.json")).unwrap()
}

/// A bank with `profile`, the `rsa1024-bank` key and 600 s tokens.
pub fn bank(profile: SafraProfile, rng: &mut chacha20::ChaCha20Rng) -> Bank {
    Bank::new(
        BankConfig {
            profile,
            bank_key: key("rsa1024-bank"),
            token_lifetime: 600,
        },
        rng,
    )
    .unwrap()
}

/// A client and a bank, the RNG and clock they share, and a log of
/// `(service, L)` per exchange (what `L` says is up to the test file).
pub struct World<L> {
    pub session: Session,
    pub bank: Bank,
    pub rng: chacha20::ChaCha20Rng,
    pub now: u64,
    pub log: Vec<(String, L)>,
}

/// A request the client prepared, with the path the bank sees and the
/// service it names (`psd001`, `psd050`, …).
pub struct Sent {
    pub id: RequestId,
    pub request: PreparedRequest,
    pub path: String,
    pub service: String,
}

impl<L: std::fmt::Display + std::fmt::Debug> World<L> {
    /// Client `CLIENTE01` (key `rsa1024-client`, at [`BANK_ORIGIN`]) with
    /// `client`, a [`bank`] with `bank`, the RNG seeded with `[seed; 32]`,
    /// the clock at 1 800 000 000.
    pub fn start(client: SafraProfile, bank: SafraProfile, seed: u8) -> Self {
        let mut rng = seeded([seed; 32]);
        let mut session = Session::new(
            client,
            BaseUrl::parse(&format!("{BANK_ORIGIN}/psd")),
            "CLIENTE01",
        )
        .unwrap();
        session.set_client_key(key("rsa1024-client"));
        let bank = self::bank(bank, &mut rng);
        World {
            session,
            bank,
            rng,
            now: 1_800_000_000,
            log: vec![],
        }
    }

    /// The next request `op` needs, now.
    pub fn prepare(&mut self, op: &Operation) -> Result<Sent, selo::safra::Error> {
        let (id, request) = self.session.prepare_next(op, self.now, &mut self.rng)?;
        let path = request.url.trim_start_matches(BANK_ORIGIN).to_string();
        let service = path.rsplit('/').next().unwrap().to_string();
        Ok(Sent {
            id,
            request,
            path,
            service,
        })
    }

    /// The bank's answer to `sent`, now.
    pub fn deliver(&mut self, sent: &Sent) -> ReceivedResponse {
        let r = &sent.request;
        self.bank
            .handle(&sent.path, &r.headers, &r.body, self.now, &mut self.rng)
    }

    /// Repeats `exchange` until the operation is done, at most `max` times.
    pub fn run_until_done(
        &mut self,
        max: usize,
        mut exchange: impl FnMut(&mut Self) -> Result<Outcome, selo::safra::Error>,
    ) -> Result<Reply, selo::safra::Error> {
        for _ in 0..max {
            if let Outcome::Done(r) = exchange(self)? {
                return Ok(r);
            }
        }
        panic!("no result after {max} exchanges: {:?}", self.log);
    }

    /// The log as `service:what` lines.
    pub fn services(&self) -> Vec<String> {
        self.log.iter().map(|(s, w)| format!("{s}:{w}")).collect()
    }
}
