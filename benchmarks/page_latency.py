"""How quickly the page answers while the machine works: page events' latency with N clients polling the live
status once a second, while nothing runs, while a training run goes, and while a probe (the label-efficiency
table) and a UMAP map are computed for another client.

    python benchmarks/page_latency.py [--clients 10] [--seconds 30]

The app is launched in this process on a free port of 127.0.0.1, as the page's tests launch it; each client is
a gradio_client in its own thread, calling the endpoint the page's timer calls (/status). Goal (issue 9):
p95 ≤ 300 ms with ten clients while training.
"""

import argparse
import socket
import statistics
import tempfile
import threading
import time

from gradio_client import Client

from workbench.ui.app import serve


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def poll(url: str, seconds: float, latencies: list, stop: threading.Event):
    """One page's timer: /status once a second, for `seconds`."""
    client = Client(url, verbose=False)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not stop.is_set():
        began = time.perf_counter()
        client.predict(api_name="/status")
        latencies.append(time.perf_counter() - began)
        time.sleep(max(0.0, 1.0 - (time.perf_counter() - began)))
    client.close()


def measure(url: str, clients: int, seconds: float) -> list[float]:
    latencies, stop = [], threading.Event()
    threads = [threading.Thread(target=poll, args=(url, seconds, latencies, stop)) for _ in range(clients)]
    for thread in threads:
        thread.start()
        time.sleep(1.0 / clients)  # spread the pages' timers over the second, as real pages are
    for thread in threads:
        thread.join()
    return latencies


def report(what: str, latencies: list[float]):
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    print(f"| {what} | {len(ordered)} | {1000 * statistics.median(ordered):.0f} | {1000 * p95:.0f} | "
          f"{1000 * ordered[-1]:.0f} |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    port = free_port()
    demo = serve(port=port, runs_root=tempfile.mkdtemp(prefix="latency-runs-"), block=False)
    url = f"http://127.0.0.1:{port}/"
    control = Client(url, verbose=False)
    time.sleep(5)  # the UMAP warm-up starts with the app, as it does for a user
    print(f"| while | requests | median ms | p95 ms | max ms |\n|---|---|---|---|---|", flush=True)
    report(f"idle, {args.clients} clients", measure(url, args.clients, args.seconds))

    control.predict(api_name="/start")  # the page's default run
    report(f"training, {args.clients} clients", measure(url, args.clients, args.seconds))
    control.predict(api_name="/stop")
    while "STOPPED" not in control.predict(api_name="/status")[0]:
        time.sleep(1)

    def inspect():
        control.predict("", None, [0.01, 0.1], 1, 50, api_name="/label_efficiency")
        control.predict("", None, "trained", "label", 2, 15, 0.1, "cosine", 5000, api_name="/map")

    worker = threading.Thread(target=inspect)
    worker.start()
    report(f"label efficiency + a 5,000-point map, {args.clients} clients",
           measure(url, args.clients, args.seconds))
    worker.join()
    control.close()
    demo.close()


if __name__ == "__main__":
    main()
