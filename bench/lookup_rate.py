"""Request rate of online lookups against the local lookup server (no network).

Runs N lookups by PMID (each one PubMed efetch and one Crossref work request) through one
:class:`~exoref.online.Resolver` against ``tests/fixtures/lookup_server.py`` on 127.0.0.1,
with the default rate limits unless told otherwise (NCBI without an API key: 3 requests a
second; Crossref: 10), and prints for each service the limit, the requests made, the most
requests the server saw within any sliding second, and the mean rate, plus the total time.

The server's own arrival times are used, so the figures are what a service would count.
Figures only, no pass/fail.

Usage: .venv/bin/python bench/lookup_rate.py [--lookups 200] [--threads 1]
                                            [--ncbi-rate 3] [--crossref-rate 10]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from exoref.online import OnlineSettings, Resolver  # noqa: E402
from tests.fixtures.lookup_server import LookupServer  # noqa: E402

PMIDS = ("30769853", "32380908", "30526632")  # the recorded PubMed records


def max_per_window(times: list[float], window: float = 1.0) -> int:
    """The most times within any half-open window [t, t + window)."""
    ordered = sorted(times)
    best = first = 0
    for last, moment in enumerate(ordered):
        while ordered[first] <= moment - window:
            first += 1
        best = max(best, last - first + 1)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lookups", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1)
    defaults = OnlineSettings()
    parser.add_argument("--ncbi-rate", type=float, default=defaults.ncbi_rate)
    parser.add_argument("--crossref-rate", type=float, default=defaults.crossref_rate)
    args = parser.parse_args()

    with LookupServer() as server:
        settings = server.settings(
            ncbi_rate=args.ncbi_rate, crossref_rate=args.crossref_rate,
            connect_timeout=defaults.connect_timeout, read_timeout=defaults.read_timeout,
            max_retries=defaults.max_retries, max_total_time=defaults.max_total_time,
            max_lookup_time=defaults.max_lookup_time)
        failures: list[BaseException] = []
        with Resolver(settings) as resolver:
            per_thread = [args.lookups // args.threads + (i < args.lookups % args.threads)
                          for i in range(args.threads)]

            def work(count: int, offset: int) -> None:
                for i in range(count):
                    try:
                        resolver.lookup(pmid=PMIDS[(offset + i) % len(PMIDS)])
                    except Exception as exc:
                        failures.append(exc)

            started = time.monotonic()
            threads = [threading.Thread(target=work, args=(n, k)) for k, n in
                       enumerate(per_thread)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            total = time.monotonic() - started

        print(f"lookups: {args.lookups} by PMID in {args.threads} thread(s), "
              f"{len(failures)} failed")
        print(f"{'service':<10}{'limit/s':>9}{'requests':>10}{'max in any 1 s':>16}"
              f"{'mean/s':>9}")
        for service, limit in (("pubmed", args.ncbi_rate), ("crossref", args.crossref_rate)):
            times = [r.time for r in server.requests_to(service)]
            span = (max(times) - min(times)) if len(times) > 1 else 0.0
            mean = (len(times) - 1) / span if span else float("nan")
            print(f"{service:<10}{limit:>9g}{len(times):>10}{max_per_window(times):>16}"
                  f"{mean:>9.2f}")
        print(f"total time: {total:.2f} s")
        if failures:
            print(f"first failure: {failures[0]!r}")


if __name__ == "__main__":
    main()
