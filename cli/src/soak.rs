//! `selo safra soak`: many complete Safra flows (psd005 → psd050 → psd052)
//! through one session against an in-process simulator that injects, at
//! random (seeded, printed), the faults a real bank and its gateways
//! produce. Every flow must end in success or a typed error, no boleto may
//! reach the bank's register logic twice, and the session must run a clean
//! operation at the end.

use crate::error::CliError;
use crate::http::{Http, HttpOptions};
use crate::safra_flow::{FlowOptions, SafraFlow, sample_boleto};
use clap::Args;
use selo::safra::boleto::{BoletoQuery, BoletoRequest};
use selo::safra::{BaseUrl, Operation, Reply, SafraProfile};
use selo_sim::Fault;
use std::collections::BTreeMap;

/// Arguments of `selo safra soak`.
#[derive(Args, Debug)]
pub struct SoakArgs {
    /// How many complete flows.
    #[arg(long, default_value_t = 1000)]
    flows: u32,
    /// Seed of the fault draws (printed; random when absent).
    #[arg(long)]
    seed: Option<u64>,
    /// The client's per-request timeout, ms (stalls last longer).
    #[arg(long, default_value_t = 200)]
    timeout_ms: u64,
}

/// The faults drawn, by name; `None` is a clean flow.
const FAULTS: [&str; 8] = [
    "none",
    "expire-key",
    "answer-480",
    "store-then-502",
    "store-then-drop",
    "stall",
    "answer-550",
    "500-plain",
];

/// splitmix64: a tiny deterministic generator for the draws (the flows'
/// own randomness comes from the system RNG, as in production).
struct Draws(u64);

impl Draws {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }
}

/// The fault `name` aimed at the step whose service is `service`.
fn fault(name: &str, service: &str, stall_ms: u64) -> Option<Fault> {
    let svc = Some(service.to_string());
    match name {
        "expire-key" => Some(Fault::ExpireKey),
        "answer-480" => Some(Fault::Answer480),
        "answer-550" => Some(Fault::Answer550),
        "store-then-502" => Some(Fault::StoreThen502),
        "store-then-drop" => Some(Fault::StoreThenDrop),
        "stall" => Some(Fault::Stall {
            ms: stall_ms,
            service: svc,
        }),
        "500-plain" => Some(Fault::Plain500 { service: svc }),
        _ => None,
    }
}

fn typed(code: &str) -> bool {
    code.starts_with("cli.net.") || selo::all_codes().contains(&code)
}

pub async fn run(a: SoakArgs, json: bool) -> Result<(), CliError> {
    let mut rng = selo::rng::system();
    let seed = a.seed.unwrap_or_else(|| {
        let mut b = [0u8; 8];
        let r: &mut dyn selo::rng::CryptoRng = &mut rng;
        r.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    });
    eprintln!("soak: seed {seed} (replay with --seed {seed})");
    let sim = selo_sim::safra::start(selo_sim::safra::SafraConfig::default())
        .await
        .map_err(|e| CliError::io("cli.sim.start", e.to_string()))?;
    let http = Http::new(&HttpOptions {
        timeout_ms: a.timeout_ms,
        ..HttpOptions::default()
    })?;
    let template = sample_boleto(&mut rng)?;
    let opts = FlowOptions {
        base_url: BaseUrl::parse(&sim.base_url()),
        cliente: "SOAK0001".into(),
        profile: SafraProfile::default(),
        boleto: template.clone(),
        client_key: None,
    };
    let mut flow = SafraFlow::new(&opts, http)?;
    let mut draws = Draws(seed);
    let stall_ms = a.timeout_ms.saturating_mul(3);
    let (mut ok, mut typed_errors, mut reconciled) = (0u32, 0u32, 0u32);
    let mut untyped: Vec<String> = Vec::new();
    let mut by_code: BTreeMap<String, u32> = BTreeMap::new();
    let mut reconciled_numbers = Vec::new();
    for i in 0..a.flows {
        let name = FAULTS
            .get(draws.below(FAULTS.len()))
            .copied()
            .unwrap_or("none");
        let at = draws.below(3);
        let mut boleto: BoletoRequest = template.clone();
        boleto.documento.nosso_numero = 100_000_000 + u64::from(i);
        let steps = [
            ("authenticate", "psd005", Operation::Authenticate),
            (
                "register",
                "psd050",
                Operation::RegisterBoleto(boleto.clone()),
            ),
            (
                "query",
                "psd052",
                Operation::QueryBoleto(BoletoQuery {
                    nosso_numero: boleto.documento.nosso_numero.to_string(),
                    seu_numero: boleto.documento.seu_numero.clone(),
                }),
            ),
        ];
        // Faults that only a psd050 can take are aimed at the register step.
        let at = if name.starts_with("store-then") {
            1
        } else {
            at
        };
        let mut failed: Option<String> = None;
        for (n, (step_name, service, op)) in steps.iter().enumerate() {
            if n == at
                && let Some(f) = fault(name, service, stall_ms)
            {
                sim.inject(f)
                    .map_err(|e| CliError::step("cli.sim.fault", e))?;
            }
            let (step, reply) = flow.run(step_name, op).await;
            match (step.error, reply) {
                (None, Some(Reply::BoletoRegistered(r))) => {
                    if r.reconciled {
                        reconciled += 1;
                        reconciled_numbers.push(boleto.documento.nosso_numero);
                    }
                }
                (None, _) => {}
                (Some(e), _) => {
                    failed = Some(e.code);
                    break;
                }
            }
        }
        match failed {
            None => ok += 1,
            Some(code) if typed(&code) => {
                typed_errors += 1;
                *by_code.entry(format!("{name}→{code}")).or_default() += 1;
            }
            Some(code) => untyped.push(format!("flow {i} ({name}): {code}")),
        }
    }
    // The session runs a clean operation after all of that.
    let (last, _) = flow.run("authenticate", &Operation::Authenticate).await;
    let stored: Vec<String> = sim
        .protocol()
        .boletos()
        .into_iter()
        .map(|b| b.nosso_numero)
        .collect();
    let missing: Vec<u64> = reconciled_numbers
        .iter()
        .copied()
        .filter(|n| !stored.contains(&format!("{n:015}")))
        .collect();
    let duplicates = sim.protocol().duplicates();
    let line = format!(
        "soak: {} flows, {ok} ok, {typed_errors} typed errors, {duplicates} duplicates",
        a.flows
    );
    if json {
        crate::output::out_json(&serde_json::json!({
            "ok": duplicates == 0 && untyped.is_empty() && missing.is_empty() && last.error.is_none(),
            "seed": seed,
            "flows": a.flows,
            "succeeded": ok,
            "typed_errors": typed_errors,
            "duplicates": duplicates,
            "reconciled": reconciled,
            "errors": by_code,
            "untyped": untyped,
        }));
    } else {
        println!("{line}");
        println!(
            "soak: {reconciled} psd050 reconciled by psd052; errors by fault→code: {by_code:?}"
        );
    }
    if duplicates > 0 {
        return Err(CliError::step(
            "cli.soak.duplicates",
            format!("{duplicates} boletos reached psd050 twice (seed {seed})"),
        ));
    }
    if !untyped.is_empty() {
        return Err(CliError::step(
            "cli.soak.untyped",
            format!("flows ended without a typed result (seed {seed}): {untyped:?}"),
        ));
    }
    if !missing.is_empty() {
        return Err(CliError::step(
            "cli.soak.reconciled_missing",
            format!("reconciled boletos the bank does not have (seed {seed}): {missing:?}"),
        ));
    }
    if let Some(e) = last.error {
        return Err(CliError::step(
            "cli.soak.wedged",
            format!("the session could not authenticate after the soak (seed {seed}): {e}"),
        ));
    }
    Ok(())
}
