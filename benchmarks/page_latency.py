"""How quickly the page answers while the machine works: page events' latency with N clients polling the live
status once a second, while nothing runs, while a training run goes, while a queue of runs trains one after
another (a lesson prepared in step 6), and while a probe (the label-efficiency table) and a UMAP map are computed
for another client.

    python benchmarks/page_latency.py [--clients 10] [--seconds 30]

The app is launched in this process on a free port of 127.0.0.1, as the page's tests launch it; each client is
a gradio_client in a process of its own, calling the endpoint the page's timer calls (/status). Goal (issue 9):
p95 ≤ 300 ms with ten clients while training. The table also goes to
benchmarks/results/page_latency-shapes-MACHINE-PRECISION.csv (the page's default run: Shapes).
"""

import argparse
import multiprocessing
import re
import socket
import statistics
import tempfile
import threading
import time

from gradio_client import Client



def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def poll(url: str, start_at: float, seconds: float, results):
    """One page's timer, in a process of its own as a browser tab is: /status once a second (twice as often as
    the page's own timer asks) for `seconds`,
    from the wall-clock time `start_at` on."""
    client = Client(url, verbose=False)
    time.sleep(max(0.0, start_at - time.time()))
    latencies, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        began = time.perf_counter()
        client.predict(api_name="/status")
        latencies.append(time.perf_counter() - began)
        time.sleep(max(0.0, 1.0 - (time.perf_counter() - began)))
    client.close()
    results.put(latencies)


def measure(url: str, clients: int, seconds: float) -> list[float]:
    """Answer times of `clients` pages polling at once, their timers spread over the second as real pages' are.
    The clients are processes, not threads of this one: they must not take the server's interpreter lock."""
    spawn = multiprocessing.get_context("spawn")
    results = spawn.Queue()
    start_at = time.time() + 8  # the clients' imports and connections first
    workers = [spawn.Process(target=poll, args=(url, start_at + i / clients, seconds, results))
               for i in range(clients)]
    for worker in workers:
        worker.start()
    latencies = [value for _ in workers for value in results.get()]
    for worker in workers:
        worker.join()
    return latencies


def report(what: str, clients: int, latencies: list[float]) -> dict:
    """Print the Markdown row of one situation and return it as a CSV row."""
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    median, p95, most = (1000 * seconds for seconds in (statistics.median(ordered), p95, ordered[-1]))
    print(f"| {what}, {clients} clients | {len(ordered)} | {median:.0f} | {p95:.0f} | {most:.0f} |", flush=True)
    return {"while": what, "clients": clients, "requests": len(ordered), "median_ms": f"{median:.0f}",
            "p95_ms": f"{p95:.0f}", "max_ms": f"{most:.0f}"}


def stop(control: Client):
    """Stop the run going, and wait until it has."""
    control.predict(api_name="/stop")
    while re.search("RUNNING|PAUSED|STARTING", control.predict(api_name="/status")[0]):
        time.sleep(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    # Here, not at the top: the client processes import this file too, and must not pay for torch.
    from csv_results import measured_by, results_path, save_rows
    from workbench.engine.settings import resolve_device, resolve_precision
    from workbench.evaluation.umap import umap_ready
    from workbench.ui.app import serve

    port = free_port()
    demo = serve(port=port, runs_root=tempfile.mkdtemp(prefix="latency-runs-"), block=False)
    url = f"http://127.0.0.1:{port}/"
    control = Client(url, verbose=False)
    while not umap_ready():  # the UMAP warm-up starts with the app; idle means after it
        time.sleep(0.5)
    print("| while | requests | median ms | p95 ms | max ms |\n|---|---|---|---|---|", flush=True)
    rows = [report("idle", args.clients, measure(url, args.clients, args.seconds))]

    control.predict(api_name="/start")  # the page's default run
    rows.append(report("training", args.clients, measure(url, args.clients, args.seconds)))
    stop(control)

    # Three methods queued, 15 s each: the measurement spans the end of one run and the start of the next.
    control.predict(["rotation", "simclr", "byol"], 0.25, "shapes", 32, False, 0.2, api_name="/queue")
    rows.append(report("a queue of three runs", args.clients, measure(url, args.clients, args.seconds)))
    control.predict(api_name="/clear_queue")
    stop(control)

    def inspect():
        control.predict("", None, [0.01, 0.1], 1, 50, api_name="/label_efficiency")
        control.predict("", None, "trained", "label", 2, 15, 0.1, "cosine", 5000, api_name="/map")

    worker = threading.Thread(target=inspect)
    worker.start()
    rows.append(report("label efficiency + a 5,000-point map", args.clients,
                       measure(url, args.clients, args.seconds)))
    worker.join()
    control.close()
    demo.close()
    source, device = measured_by("page_latency.py"), resolve_device("auto")  # the page's run's device
    save_rows(results_path("page_latency", "shapes", device, resolve_precision("auto", device)),
              [{**row, "source": source} for row in rows], key=("while", "clients"))


if __name__ == "__main__":
    main()  # under the `if`: the client processes are spawned and import this file
