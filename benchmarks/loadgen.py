"""A small closed-loop HTTP load generator: one thread and one keep-alive connection per client.

Bounded in clients and in time, loopback only, standard library only (so `make bench` runs on a
fresh clone). With `processes > 1` the clients are spread over that many processes, so the
generator's own interpreter lock does not become the bottleneck under 50 clients.
"""

from __future__ import annotations

import http.client
import ipaddress
import multiprocessing
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field

from benchmarks.report import median, percentile

MAX_CLIENTS = 200
MAX_SECONDS = 120.0
CONNECT_TIMEOUT = 10.0
START_LEAD = 0.3  # seconds between handing out the work and the synchronised start
KEPT_ERROR_SAMPLES = 5


@dataclass(frozen=True)
class Target:
    """One client: where it sends its GETs, with which headers (cookies)."""

    host: str
    port: int
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass
class LoadResult:
    requests: int = 0  # answered with the expected status inside the window
    errors: int = 0  # anything else: another status, a reset, a timeout
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def median_ms(self) -> float:
        return median(self.latencies) * 1000

    @property
    def p90_ms(self) -> float:
        return percentile(self.latencies, 0.9) * 1000

    def merge(self, other: LoadResult) -> None:
        self.requests += other.requests
        self.errors += other.errors
        self.seconds = max(self.seconds, other.seconds)
        self.latencies.extend(other.latencies)
        room = KEPT_ERROR_SAMPLES - len(self.error_samples)
        self.error_samples.extend(other.error_samples[: max(0, room)])


def _check(targets: Sequence[Target], duration: float) -> None:
    if not 0 < len(targets) <= MAX_CLIENTS:
        raise ValueError(f"between 1 and {MAX_CLIENTS} clients")
    if not 0 < duration <= MAX_SECONDS:
        raise ValueError(f"a run lasts between 0 and {MAX_SECONDS} seconds")
    for target in targets:
        if not ipaddress.ip_address(target.host).is_loopback:
            raise ValueError("the load generator only talks to loopback addresses")


def _client(
    target: Target,
    *,
    start: float,
    warmup: float,
    duration: float,
    expect: int,
    out: LoadResult,
    lock: threading.Lock,
) -> None:
    """Runs in its own thread; `start` is on this process's perf_counter clock."""
    mine = LoadResult(seconds=duration)
    window_start, window_end = start + warmup, start + warmup + duration
    connection = http.client.HTTPConnection(target.host, target.port, timeout=CONNECT_TIMEOUT)
    headers = dict(target.headers)
    while (now := time.perf_counter()) < start:
        time.sleep(min(0.01, start - now))
    while True:
        sent = time.perf_counter()
        if sent >= window_end:
            break
        problem = ""
        try:
            connection.request("GET", target.path, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status != expect:
                problem = f"HTTP {response.status} from {target.port}{target.path}"
        except (OSError, http.client.HTTPException) as error:
            problem = f"{type(error).__name__} from {target.port}{target.path}: {error}"
            connection.close()
            time.sleep(0.01)
        done = time.perf_counter()
        if sent < window_start or done > window_end:
            continue
        if problem:
            mine.errors += 1
            if len(mine.error_samples) < KEPT_ERROR_SAMPLES:
                mine.error_samples.append(problem)
        else:
            mine.requests += 1
            mine.latencies.append(done - sent)
    connection.close()
    with lock:
        out.merge(mine)


def _run_here(
    targets: Sequence[Target], start_wall: float, warmup: float, duration: float, expect: int
) -> LoadResult:
    start = time.perf_counter() + (start_wall - time.time())
    result = LoadResult(seconds=duration)
    lock = threading.Lock()
    threads = [
        threading.Thread(
            target=_client,
            args=(target,),
            kwargs={
                "start": start,
                "warmup": warmup,
                "duration": duration,
                "expect": expect,
                "out": result,
                "lock": lock,
            },
            daemon=True,
        )
        for target in targets
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=warmup + duration + CONNECT_TIMEOUT + 5)
    return result


class LoadGenerator:
    """Reusable across runs (the worker processes are started once)."""

    def __init__(self, processes: int = 1) -> None:
        self.processes = max(1, processes)
        self._pool: Executor | None = None

    def __enter__(self) -> LoadGenerator:
        if self.processes > 1:
            self._pool = ProcessPoolExecutor(
                max_workers=self.processes, mp_context=multiprocessing.get_context("spawn")
            )
            # Start the workers now, so that start-up is not part of the first run.
            for future in [self._pool.submit(time.sleep, 0) for _ in range(self.processes)]:
                future.result()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def run(
        self,
        targets: Sequence[Target],
        *,
        duration: float,
        warmup: float = 0.5,
        expect: int = 200,
    ) -> LoadResult:
        """Every target is one client in a closed loop for `warmup + duration` seconds; only
        the `duration` window counts."""
        _check(targets, duration)
        start_wall = time.time() + START_LEAD
        if self._pool is None:
            return _run_here(targets, start_wall, warmup, duration, expect)
        shares = [list(targets[i :: self.processes]) for i in range(self.processes)]
        futures = [
            self._pool.submit(_run_here, share, start_wall, warmup, duration, expect)
            for share in shares
            if share
        ]
        total = LoadResult(seconds=duration)
        for future in futures:
            total.merge(future.result())
        return total
