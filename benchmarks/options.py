"""Sizes of every benchmark, with the defaults of `make bench` and of `--quick`."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass, fields, replace

BENCHMARKS = ("gate", "signin", "scale", "instances", "page", "reports", "faults", "forward")


@dataclass(frozen=True)
class Options:
    # 1. gate overhead
    gate_rounds: int = 12  # A/B pairs, alternating order (ABBA)
    gate_seconds: float = 2.0  # counted seconds per run
    gate_clients: int = 8
    # One worker: gunicorn hands each new connection to whichever worker accepts it first, so
    # with several workers every run gets a different split, and that (not the gate) decided
    # the throughput of a run (per-pair ratios from 0.5 to 1.5 with two workers).
    gate_workers: int = 1
    gate_inprocess_samples: int = 1_000  # in-process requests per path (CPU time)
    # 2. sign-in cost
    signins: int = 20  # per variant, at each added provider latency
    signin_delay_ms: float = 20.0  # a second pass with this latency added to each API call
    signin_server: int = 20  # sign-ins under aidial-portal serve (server CPU)
    signin_profile: int = 10  # sign-ins under cProfile
    # 3. scale in accounts
    scale_small: int = 1_000
    scale_large: int = 100_000
    scale_events_per_account: int = 3
    scale_samples: int = 200  # Settings renders and event writes, each, per size
    # 4. instances
    instance_rounds: int = 3
    instance_seconds: float = 5.0
    instance_clients: int = 50
    # 5. page limit
    page_samples: int = 300  # sequential requests per page (server CPU)
    page_inprocess_samples: int = 500  # in-process requests per handler
    page_clients: int = 8
    page_rounds: int = 4
    page_seconds: float = 2.0
    # 6. reports at scale (PostgreSQL)
    reports_small: int = 1_000
    reports_small_events: int = 10_000
    # The full size (1,000,000 / 10,000,000) takes about 8 minutes to populate on
    # 2 shared cores, beyond `make bench`'s budget: pass it explicitly.
    reports_large: int = 100_000
    reports_large_events: int = 1_000_000
    reports_samples: int = 20
    reports_export_query: str = "?role=client_staff"  # a fifth of the accounts
    reports_plans: int = 1  # print the EXPLAIN plans
    # 7. faults under load
    fault_clients: int = 50
    fault_outage: float = 5.0  # seconds each service stays down
    fault_steady: float = 5.0  # seconds before, between and after the outages
    # 8. forward auth
    forward_samples: int = 300  # sequential requests per path (server CPU)
    # servers and load generator (1 and 4)
    workers: int = 2
    threads: int = 4
    load_processes: int = 2
    warmup: float = 0.3
    work_dir: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Options:
        return cls(**json.loads(text))


QUICK = Options(
    gate_rounds=2,
    gate_seconds=1.5,
    gate_inprocess_samples=200,
    signins=5,
    signin_server=5,
    signin_profile=3,
    scale_small=200,
    scale_large=5_000,
    scale_samples=40,
    instance_rounds=1,
    instance_seconds=2.0,
    page_samples=60,
    page_inprocess_samples=100,
    page_rounds=2,
    page_seconds=1.0,
    fault_steady=3.0,
    reports_large=50_000,
    reports_large_events=500_000,
    reports_samples=6,
    forward_samples=60,
)


def add_size_arguments(parser: argparse.ArgumentParser) -> None:
    for field in fields(Options):
        if field.name == "work_dir":
            continue
        flag = "--" + field.name.replace("_", "-")
        kind = type(field.default)
        parser.add_argument(flag, type=kind, default=None, help=f"default {field.default}")


def from_arguments(namespace: argparse.Namespace) -> Options:
    base = QUICK if namespace.quick else Options()
    changes = {
        field.name: getattr(namespace, field.name)
        for field in fields(Options)
        if getattr(namespace, field.name, None) is not None
    }
    return replace(base, **changes)
