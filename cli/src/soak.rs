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
    /// The client's deadline for every request, ms: generous, so that a
    /// loaded machine is never mistaken for a fault.
    #[arg(long, default_value_t = 10_000)]
    timeout_ms: u64,
    /// The deadline of a request the simulator stalls, ms (the stall
    /// itself lasts ten times longer): only that request is cut short.
    #[arg(long, default_value_t = 100)]
    stall_timeout_ms: u64,
}

/// The faults drawn, by name; `none` is a clean flow. `reconcile-fails`:
/// psd050 is stored but its reply lost (502), then the reconciling psd052
/// fails 1 to 3 times (500), each time ending the register in
/// `safra.boleto.outcome_unknown`; the soak registers the same boleto again
/// as any caller would, until a psd052 finds it.
const FAULTS: [&str; 9] = [
    "none",
    "expire-key",
    "answer-480",
    "store-then-502",
    "store-then-drop",
    "stall",
    "answer-550",
    "500-plain",
    "reconcile-fails",
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

/// The simulator faults for `name` aimed at `service`.
fn faults(name: &str, service: &str, stall_ms: u64, times: usize) -> Vec<Fault> {
    let svc = Some(service.to_string());
    match name {
        "expire-key" => vec![Fault::ExpireKey],
        "answer-480" => vec![Fault::Answer480],
        "answer-550" => vec![Fault::Answer550],
        "store-then-502" => vec![Fault::StoreThen502],
        "store-then-drop" => vec![Fault::StoreThenDrop],
        "stall" => vec![Fault::Stall {
            ms: stall_ms,
            service: svc,
        }],
        "500-plain" => vec![Fault::Plain500 { service: svc }],
        "reconcile-fails" => std::iter::once(Fault::StoreThen502)
            .chain(std::iter::repeat_n(
                Fault::Plain500 {
                    service: Some("psd052".into()),
                },
                times,
            ))
            .collect(),
        _ => vec![],
    }
}

/// How one step ended: the reply, or the error's code.
type Ended = Result<Option<Reply>, String>;

/// What fault `name`, aimed at step `at` (0 authenticate, 1 register, 2
/// query), must produce; `register_tries` holds every register attempt.
/// `Err` says what differed.
fn expected(
    name: &str,
    at: usize,
    times: usize,
    steps: &[Ended],
    register_tries: &[Ended],
) -> Result<(), String> {
    let ok = |e: &Ended| e.is_ok();
    let reconciled = |e: &Ended| matches!(e, Ok(Some(Reply::BoletoRegistered(r))) if r.reconciled);
    let code = |e: &Ended| e.as_ref().err().cloned().unwrap_or_else(|| "ok".into());
    match name {
        "answer-550" => {
            // The bank's business refusal ends that step; those before pass.
            if steps.len() != at + 1 || !steps.iter().take(at).all(ok) {
                return Err(format!("steps {steps:?}"));
            }
            match steps.get(at).map(code).as_deref() {
                Some("safra.bank.business") => Ok(()),
                other => Err(format!(
                    "step {at}: expected safra.bank.business, found {other:?}"
                )),
            }
        }
        "store-then-502" | "store-then-drop" => {
            if steps.len() == 3 && steps.iter().all(ok) && steps.get(1).is_some_and(reconciled) {
                Ok(())
            } else {
                Err(format!(
                    "expected every step to pass and psd050 to be reconciled: {steps:?}"
                ))
            }
        }
        "reconcile-fails" => {
            let unknown = register_tries
                .iter()
                .take_while(|e| code(e) == "safra.boleto.outcome_unknown")
                .count();
            if unknown == times
                && register_tries.len() == times + 1
                && register_tries.last().is_some_and(reconciled)
                && steps.len() == 3
                && steps.iter().all(ok)
            {
                Ok(())
            } else {
                Err(format!(
                    "expected {times} × safra.boleto.outcome_unknown, then a reconciled registration: {:?}",
                    register_tries.iter().map(code).collect::<Vec<_>>()
                ))
            }
        }
        // Recovered from without the host noticing: every step passes.
        _ => {
            if steps.len() == 3 && steps.iter().all(ok) {
                Ok(())
            } else {
                Err(format!(
                    "expected every step to pass: {:?}",
                    steps.iter().map(code).collect::<Vec<_>>()
                ))
            }
        }
    }
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
    let stall = std::time::Duration::from_millis(a.stall_timeout_ms);
    let stall_ms = a.stall_timeout_ms.saturating_mul(10);
    let (mut ok, mut typed_errors, mut reconciled) = (0u32, 0u32, 0u32);
    let mut unexpected: Vec<String> = Vec::new();
    let mut by_fault: BTreeMap<&str, u32> = BTreeMap::new();
    let mut reconciled_numbers = Vec::new();
    for i in 0..a.flows {
        let name = FAULTS
            .get(draws.below(FAULTS.len()))
            .copied()
            .unwrap_or("none");
        // Faults only a psd050 can take are aimed at the register step.
        let at = if name.starts_with("store-then") || name == "reconcile-fails" {
            1
        } else {
            draws.below(3)
        };
        let times = draws.below(3) + 1;
        *by_fault.entry(name).or_default() += 1;
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
        let mut ended: Vec<Ended> = Vec::new();
        let mut register_tries: Vec<Ended> = Vec::new();
        for (n, (step_name, service, op)) in steps.iter().enumerate() {
            if n == at {
                for f in faults(name, service, stall_ms, times) {
                    sim.inject(f)
                        .map_err(|e| CliError::step("cli.sim.fault", e))?;
                }
                if name == "stall" {
                    flow.deadline_for_next(service, stall);
                }
            }
            // A register whose outcome is unknown is registered again, as
            // any caller does after an error: the session queries first.
            let tries = if n == 1 && name == "reconcile-fails" {
                times + 1
            } else {
                1
            };
            let mut last: Ended = Ok(None);
            for _ in 0..tries {
                let (step, reply) = flow.run(step_name, op).await;
                last = match step.error {
                    None => Ok(reply),
                    Some(e) => Err(e.code),
                };
                if n == 1 {
                    register_tries.push(last.clone());
                }
                if last.is_ok() {
                    break;
                }
            }
            if let Ok(Some(Reply::BoletoRegistered(r))) = &last
                && r.reconciled
            {
                reconciled += 1;
                reconciled_numbers.push(boleto.documento.nosso_numero);
            }
            let failed = last.is_err();
            ended.push(last);
            if failed {
                break;
            }
        }
        if ended.iter().all(Result::is_ok) {
            ok += 1;
        } else {
            typed_errors += 1;
        }
        if let Err(why) = expected(name, at, times, &ended, &register_tries) {
            unexpected.push(format!("flow {i} ({name} at step {at}): {why}"));
        }
    }
    // The session runs a clean operation after all of that, and keeps no
    // promise open: every unknown registration was reconciled.
    let (last, _) = flow.run("authenticate", &Operation::Authenticate).await;
    let open: Vec<u64> = flow
        .session()
        .unresolved_registrations()
        .map(|u| u.nosso_numero)
        .collect();
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
        "soak: {} flows, {ok} ok, {typed_errors} typed errors, {} unexpected, {duplicates} duplicates",
        a.flows,
        unexpected.len()
    );
    if json {
        crate::output::out_json(&serde_json::json!({
            "ok": duplicates == 0 && unexpected.is_empty() && missing.is_empty() && open.is_empty() && last.error.is_none(),
            "seed": seed,
            "flows": a.flows,
            "succeeded": ok,
            "typed_errors": typed_errors,
            "duplicates": duplicates,
            "reconciled": reconciled,
            "faults": by_fault,
            "unexpected": unexpected,
        }));
    } else {
        println!("{line}");
        println!("soak: {reconciled} psd050 reconciled by psd052; flows by fault: {by_fault:?}");
        for u in unexpected.iter().take(20) {
            println!("soak: unexpected: {u}");
        }
    }
    if duplicates > 0 {
        return Err(CliError::step(
            "cli.soak.duplicates",
            format!("{duplicates} boletos reached psd050 twice (seed {seed})"),
        ));
    }
    if !unexpected.is_empty() {
        return Err(CliError::step(
            "cli.soak.unexpected",
            format!(
                "{} flows did not end as their fault must make them (seed {seed}); first: {}",
                unexpected.len(),
                unexpected.first().map_or("", String::as_str)
            ),
        ));
    }
    if !missing.is_empty() {
        return Err(CliError::step(
            "cli.soak.reconciled_missing",
            format!("reconciled boletos the bank does not have (seed {seed}): {missing:?}"),
        ));
    }
    if !open.is_empty() {
        return Err(CliError::step(
            "cli.soak.unresolved",
            format!("registrations left unresolved (seed {seed}): {open:?}"),
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
