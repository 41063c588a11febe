"""`tasks`: the catalogue of pretext tasks, one line each or everything as JSON."""

import json
from dataclasses import asdict, fields

from ..tasks import explanation, list_tasks, task_class


def add_to(commands):
    parser = commands.add_parser("tasks", help="list the pretext tasks")
    parser.add_argument("--json", action="store_true", help="machine-readable, with each task's parameters")
    parser.set_defaults(func=handle)


def task_description(name: str) -> dict:
    """Everything the catalogue says about a task: info, card, presets and parameters (for --json)."""
    cls = task_class(name)
    params = [{"name": f.name, "default": f.default, "help": f.metadata["help"], "low": f.metadata["low"],
               "high": f.metadata["high"], "choices": f.metadata["choices"], "collapse_lab": f.metadata["lab"]}
              for f in fields(cls.Params)]
    return {**asdict(cls.info), "card": explanation(name), "encoders": cls.encoders,
            "preset": asdict(cls.preset), "gpu_preset": asdict(cls.gpu_preset),
            "real_data_preset": cls.real_data_preset and asdict(cls.real_data_preset),
            "real_data_params": cls.real_data_params, "params": params}


def handle(args) -> int:
    infos = list_tasks()
    if args.json:
        print(json.dumps([task_description(info.name) for info in infos], indent=1))
    else:
        for info in infos:
            print(f"{info.name:<18} {info.family:<28} {info.summary}")
    return 0
