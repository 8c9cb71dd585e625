"""Fault soak (issue 11): complete flows psd005 -> psd050 -> psd052 through
the Python drivers against ONE Safra simulator (`selo sim safra`), with one
fault drawn at random per flow and injected just before a random step.

Every flow must end in success or a typed `selo.SeloError`; the bank must
never see a boleto registered twice; every reconciled boleto must exist at
the bank; the session must run a clean operation after every flow.

One fault is a sequence: "reconcile-fails" (store-then-502, then N = 1..3
plain 500s on psd052) — the psd050 is stored but its reply lost, and the
reconciling psd052 fails N times. The flow re-registers the same boleto as
a caller would after `safra.boleto.outcome_unknown`: exactly N such errors
(the boleto listed by `Session.unresolved_registrations()` after each),
then a reconciled registration, and the bank saw psd050 once.

The seed is printed; SELO_SOAK_SEED replays a run. SELO_SOAK_FLOWS and
SELO_SOAK_ASYNC_FLOWS raise the flow counts (default and minimum 200 each:
asking for fewer fails the test)."""

import json
import os
import random
import sys
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple, Union

import httpx

import selo
from selo import safra
from conftest import Sim, vec_text

BOLETO = json.loads(vec_text("safra/boleto-sample.json"))

FAULTS = ["none", "expire-key", "answer-480", "store-then-502", "store-then-drop", "stall", "answer-550",
          "500-plain", "reconcile-fails"]
STEPS = ["psd005", "psd050", "psd052"]
# Faults the simulator applies to psd050 only: injected before psd005 they
# still land on this flow's psd050; before psd052 they would land on the next
# flow's, so they are drawn before psd005 or psd050.
PSD050_ONLY = {"store-then-502", "store-then-drop", "reconcile-fails"}
# "reconcile-fails": store-then-502, then N plain 500s on psd052, N in 1..3.
RECONCILE_FAILS = (1, 2, 3)
# The fewest flows a soak runs, whatever the environment asks.
MIN_FLOWS = 200
OUTCOME_UNKNOWN = "safra.boleto.outcome_unknown"

STALL_MS = 600  # the simulator holds a stalled request this long, unprocessed
STALL_TIMEOUT = 0.2  # the client's per-request timeout for a step with a stall
TIMEOUT = 10.0  # everything else (a loaded 2-core machine must not time out)

AnyClient = Union[safra.Client, safra.AsyncClient]


def boleto(nosso: int, seu: str) -> dict:
    b = json.loads(json.dumps(BOLETO))
    b["documento"]["nossoNumero"] = nosso
    b["documento"]["seuNumero"] = seu
    return b


@dataclass
class Plan:
    i: int
    fault: str
    step: str
    nosso: int
    seu: str
    n: int = 0  # "reconcile-fails": how many reconciling psd052 fail

    def fault_json(self) -> Optional[List[dict]]:
        """The faults to queue before ``step`` (None: none)."""
        one = self._fault()
        if one is None:
            return None
        if self.fault == "reconcile-fails":
            return [one] + [{"fault": "500-plain", "service": "psd052"}] * self.n
        return [one]

    def _fault(self) -> Optional[dict]:
        if self.fault == "none":
            return None
        if self.fault == "reconcile-fails":
            return {"fault": "store-then-502"}
        if self.fault == "stall":
            return {"fault": "stall", "ms": STALL_MS, "service": self.step}
        if self.fault == "500-plain":
            return {"fault": "500-plain", "service": self.step}
        return {"fault": self.fault}

    def timeout(self, step: str) -> float:
        return STALL_TIMEOUT if self.fault == "stall" and step == self.step else TIMEOUT


def plans(rng: random.Random, n: int, base: int) -> List[Plan]:
    out = []
    for i in range(n):
        fault = rng.choice(FAULTS)
        step = rng.choice(STEPS[:2] if fault in PSD050_ONLY else STEPS)
        n = rng.choice(RECONCILE_FAILS) if fault == "reconcile-fails" else 0
        out.append(Plan(i, fault, step, base + i, f"S{base + i:09d}", n))
    return out


def seed_of(default_rng: random.Random) -> int:
    env = os.environ.get("SELO_SOAK_SEED")
    return int(env) if env else default_rng.randrange(2**32)


@dataclass
class Tally:
    ok: int = 0
    errors: Dict[str, int] = field(default_factory=dict)
    registered: Dict[int, bool] = field(default_factory=dict)  # nossoNumero -> reconciled
    refused: List[int] = field(default_factory=list)  # nossoNumero whose psd050 got a 550
    unknown: int = 0  # outcome_unknown errors later reconciled by registering again

    @property
    def typed(self) -> int:
        return sum(self.errors.values())


@dataclass
class Result:
    """What one flow did: the error that ended it (or None), and the replies."""

    error: Optional[selo.SeloError] = None
    failed_step: Optional[str] = None
    register: Optional[safra.BoletoReply] = None
    query: Optional[safra.BoletoReply] = None
    recoveries: List[str] = field(default_factory=list)
    # outcome_unknown errors of the register before it succeeded, each
    # with the unresolved registrations the session listed right after
    unknown: List[Tuple[selo.SeloError, List[safra.Unresolved]]] = field(default_factory=list)
    unresolved_after: Optional[List[safra.Unresolved]] = None  # after the flow


def check_flow(p: Plan, r: Result, tally: Tally) -> None:
    """The outcome each single fault must have: one fault never defeats a flow
    except a 550, which is the bank's (typed) refusal."""
    where = f"flow {p.i} ({p.fault} before {p.step}): {r.error!r}, recoveries {r.recoveries}"
    if p.fault == "answer-550":
        assert isinstance(r.error, selo.SafraBusinessError), where
        assert r.failed_step == p.step and r.error.status is not None and r.error.status.codigo is not None, where
    else:
        assert r.error is None, where
    # only "reconcile-fails" leaves a registration unknown: exactly N times,
    # each naming the boleto, which the session keeps until a psd052 answers
    assert len(r.unknown) == p.n, where
    for e, unresolved in r.unknown:
        assert e.code == OUTCOME_UNKNOWN and str(p.nosso) in e.message, where
        assert [(u.nosso_numero, u.seu_numero) for u in unresolved] == [(p.nosso, p.seu)], (where, unresolved)
    assert r.unresolved_after == [], (where, r.unresolved_after)
    tally.unknown += len(r.unknown)
    if r.error is not None:
        tally.errors[r.error.code] = tally.errors.get(r.error.code, 0) + 1
        if r.failed_step == "psd050":
            tally.refused.append(p.nosso)
        return
    tally.ok += 1
    assert r.register is not None and r.register.documento is not None, where
    assert r.register.documento.nosso_numero is not None and int(r.register.documento.nosso_numero) == p.nosso, where
    if r.register.reconciled:  # the bank's psd052 answer for the boleto it stored
        assert r.register.documento.registrado_cip == "S", where
    else:  # the bank's psd050 answer
        assert selo.br.is_valid_barcode(r.register.documento.codigo_barras), where
    assert r.query is not None and r.query.documento is not None, where
    assert r.query.documento.nosso_numero is not None and int(r.query.documento.nosso_numero) == p.nosso, where
    assert r.query.documento.registrado_cip == "S" and r.query.reconciled is False, where
    # stored-then-lost replies are reconciled (found), never resent
    assert r.register.reconciled is (p.fault in PSD050_ONLY), where
    tally.registered[p.nosso] = r.register.reconciled
    expected = {
        "none": None,
        "expire-key": "rehandshake",
        "answer-480": "rehandshake",
        "store-then-502": "reconcile",
        "store-then-drop": "reconcile",
        "stall": "reconcile" if p.step == "psd050" else "retry",
        "500-plain": "reconcile" if p.step == "psd050" else "retry",
        # the later registers start with psd052 (no recovery): one in all
        "reconcile-fails": "reconcile",
    }[p.fault]
    assert r.recoveries == ([] if expected is None else [expected]) or (
        # a not-found reconcile goes on to send psd050 again: 'retry' follows
        expected == "reconcile" and p.fault not in PSD050_ONLY and r.recoveries == ["reconcile", "retry"]
    ), where


def check_bank(sim: Sim, tally: Tally, flows: int) -> int:
    state = httpx.get(sim.origin + "/_control/state").json()["protocol"]
    counts = {int(k): v for k, v in state["psd050_counts"].items()}
    stored = {int(b["nossoNumero"]) for b in state["boletos"]}
    for nosso, reconciled in tally.registered.items():
        assert nosso in stored, (nosso, reconciled)
        assert counts.get(nosso) == 1, (nosso, counts.get(nosso))
    for nosso in tally.refused:
        assert nosso not in stored, nosso
    assert tally.ok + tally.typed == flows
    assert max(counts.values()) == 1, {k: v for k, v in counts.items() if v > 1}
    assert state["duplicates"] == 0, state["duplicates"]
    return state["duplicates"]


def report(capsys, flows: int, tally: Tally, duplicates: int, seed: int, label: str) -> None:
    with capsys.disabled():
        print(f"\n{label}: seed {seed} (SELO_SOAK_SEED={seed} replays it); typed errors {tally.errors}",
              file=sys.stderr)
        print(f"soak: {flows} flows, {tally.ok} ok, {tally.typed} typed errors, {duplicates} duplicates, "
              f"{tally.unknown} outcome_unknown then reconciled", file=sys.stderr)


def coverage(ps: List[Plan]) -> None:
    """The draw must exercise every fault, and "reconcile-fails" with every
    N (a seed that does not is a bad run)."""
    assert {p.fault for p in ps} == set(FAULTS), sorted({p.fault for p in ps})
    assert {p.n for p in ps if p.fault == "reconcile-fails"} == set(RECONCILE_FAILS), "every N drawn"


def flow_count(flows_var: str) -> int:
    """$``flows_var`` flows, or MIN_FLOWS; never fewer: asking for fewer fails."""
    n = int(os.environ.get(flows_var) or MIN_FLOWS)
    assert n >= MIN_FLOWS, f"{flows_var}={n}: a soak runs at least {MIN_FLOWS} flows"
    return n


def draw(label: str, salt: int, flows_var: str, nosso_base: int) -> Tuple[int, int, List[Plan]]:
    """A soak's seed (printed; its rng is the seed xor ``salt``), its flow
    count (:func:`flow_count`) and its plans, every fault drawn."""
    seed = seed_of(random.Random())
    print(f"{label} seed {seed}", file=sys.stderr)
    rng = random.Random(seed ^ salt)
    n = flow_count(flows_var)
    ps = plans(rng, n, nosso_base + rng.randrange(10_000) * 1000)
    coverage(ps)
    return seed, n, ps


def flow_done(c: AnyClient, p: Plan, r: Result, tally: Tally) -> None:
    """Checks a flow with the recoveries it took, then clears them for the
    clean operation that follows."""
    r.recoveries = list(c.recoveries)
    check_flow(p, r, tally)
    c.recoveries.clear()


def check_clean(c: AnyClient, p: Plan, anchor: safra.BoletoReply, q: safra.BoletoReply) -> None:
    """The clean query after flow ``p`` found the anchor boleto, with no recovery."""
    assert anchor.documento is not None  # as the test asserted when it registered the anchor
    assert q.documento is not None and q.documento.nosso_numero == anchor.documento.nosso_numero
    assert c.recoveries == [], (p, c.recoveries)


def step_op(p: "Plan", step: str) -> "safra.Operation":
    """The operation a flow's step runs (both drivers)."""
    if step == "psd005":
        return safra.Operation.authenticate()
    if step == "psd050":
        return safra.Operation.register_boleto(boleto(p.nosso, p.seu))
    return safra.Operation.query_boleto(p.nosso, p.seu)


def unknown(c: AnyClient, r: "Result", step: str, e: selo.SeloError) -> bool:
    """After ``e`` ended ``step``: a caller registers the same boleto again
    after ``outcome_unknown`` (True: run the step again), up to a bound."""
    if step != "psd050" or e.code != OUTCOME_UNKNOWN or len(r.unknown) >= max(RECONCILE_FAILS) + 2:
        return False
    r.unknown.append((e, c.session.unresolved_registrations()))
    return True


def record(r: "Result", step: str, reply: object) -> None:
    """Keeps a flow's register and query results for check_flow."""
    done = safra._finish(reply)  # type: ignore[arg-type]
    if step == "psd050":
        r.register = done  # type: ignore[assignment]
    elif step == "psd052":
        r.query = done  # type: ignore[assignment]


def test_soak_sync_driver(capsys):
    seed, n, ps = draw("soak", 0, "SELO_SOAK_FLOWS", 100_000_000)
    sim = Sim("safra", "--token-lifetime", "3600")
    tally = Tally()
    try:
        with safra.Client(sim.url, "CLIENTE01", timeout=TIMEOUT) as c:
            # a boleto every clean follow-up operation queries
            anchor = c.register_boleto(boleto(99_000_000 + seed % 1_000_000, "ANCHOR"))
            assert anchor.documento is not None and anchor.documento.nosso_numero is not None
            for p in ps:
                c.recoveries.clear()
                r = Result()
                for step in STEPS:
                    faults = p.fault_json() if step == p.step else None
                    if faults is not None:
                        sim.fault(*faults)
                    while True:
                        try:
                            record(r, step, c.run(step_op(p, step), timeout=p.timeout(step)))
                        except selo.SeloError as e:  # anything else fails the test
                            if unknown(c, r, step, e):
                                continue
                            r.error, r.failed_step = e, step
                        break
                    if r.error is not None:
                        break
                r.unresolved_after = c.session.unresolved_registrations()
                flow_done(c, p, r, tally)
                # the session never wedges: a clean operation right after
                check_clean(c, p, anchor, c.query_boleto(anchor.documento.nosso_numero, "ANCHOR"))
        dup = check_bank(sim, tally, n)
    finally:
        sim.close()
    report(capsys, n, tally, dup, seed, "sync soak")


async def test_soak_async_driver(capsys):
    seed, n, ps = draw("async soak", 0xA5A5, "SELO_SOAK_ASYNC_FLOWS", 200_000_000)
    sim = Sim("safra", "--token-lifetime", "3600")
    tally = Tally()
    try:
        async with safra.AsyncClient(sim.url, "CLIENTE01", timeout=TIMEOUT) as c:
            anchor = await c.register_boleto(boleto(98_000_000 + seed % 1_000_000, "ANCHOR"))
            assert anchor.documento is not None and anchor.documento.nosso_numero is not None
            for p in ps:
                c.recoveries.clear()
                r = Result()
                for step in STEPS:
                    faults = p.fault_json() if step == p.step else None
                    if faults is not None:
                        async with httpx.AsyncClient() as ctl:
                            resp = await ctl.post(sim.origin + "/_control/fault", json=faults)
                            assert resp.status_code < 300, resp.text
                    while True:
                        try:
                            record(r, step, await c.run(step_op(p, step), timeout=p.timeout(step)))
                        except selo.SeloError as e:
                            if unknown(c, r, step, e):
                                continue
                            r.error, r.failed_step = e, step
                        break
                    if r.error is not None:
                        break
                r.unresolved_after = c.session.unresolved_registrations()
                flow_done(c, p, r, tally)
                check_clean(c, p, anchor, await c.query_boleto(anchor.documento.nosso_numero, "ANCHOR"))
        dup = check_bank(sim, tally, n)
    finally:
        sim.close()
    report(capsys, n, tally, dup, seed, "async soak")
