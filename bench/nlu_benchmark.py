"""Understanding benchmark: the project's pipeline against Rasa's stock one.

Trains (or reuses) both on the same training data in the same run, serves
each with the real engine, sends every held-out message through the live
normalisation and `/model/parse` one at a time, and prints per language and
per subset (own script, Zawgyi, Latin letters): accuracy, macro-F1 and parse
latency p50/p99. The figures of the last run are written to
`docs/nlu-benchmark.md`.

    .venv/bin/python bench/nlu_benchmark.py [--heldout DIR] [--config FILE]
    .venv/bin/python bench/nlu_benchmark.py --seeds 7,11,23

A single run's figures move by a few hundredths with DIET's random seed
alone. `--seeds` trains the project's pipeline once per seed (NLU only, the
stock pipeline is not trained), and reports each group's macro-F1 per seed,
its mean and its spread; the section it adds to `docs/nlu-benchmark.md` is
dropped again by the next default run, which rewrites the file.

    .venv/bin/python bench/nlu_benchmark.py --dev-split [--config FILE] [--seeds N,N]

`--dev-split` is for choosing settings without looking at the held-out set:
it holds back a fixed 15% of `nlu/data` (per intent and language, chosen by
a hash of each example, so the same every run), trains the pipeline on the
rest (NLU only) and measures on what was held back. Rasa's training cache
makes a second run that changes only the last components quick. It writes
no docs.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import evaluation  # noqa: E402
from tests.support import free_port  # noqa: E402

ENGINE_PYTHON = ROOT / ".venv-engine" / "bin" / "python"
ENVIRONMENT = {
    **os.environ,
    "PYTHONPATH": str(ROOT),
    "RASA_TELEMETRY_ENABLED": "false",
    "TF_CPP_MIN_LOG_LEVEL": "2",
}


@dataclass
class Result:
    name: str
    training_seconds: float | None
    predictions: list[evaluation.Prediction]


DEV_FRACTION = 0.15
# `[shown text]{"entity": ...}` or `[shown text](entity)` in an example.
ANNOTATION = re.compile(r"\[([^\]]+)\](?:\{[^}]*\}|\([^)]*\))")


def _example_lines(block: str) -> list[str]:
    return [line[2:].strip() for line in block.splitlines() if line.startswith("- ")]


def _is_latin_typing(text: str, lang: str) -> bool:
    letters = [char for char in text if char.isalpha()]
    return lang != "en" and bool(letters) and all(ord(char) < 0x250 for char in letters)


def dev_split(data: Path, target: Path) -> list[evaluation.Example]:
    """Write `data` less a fixed share per intent and language to `target`.

    Returns the held-back examples (annotations removed). Files outside the
    language folders (patterns, lookups) and synonyms are kept whole.
    """
    kept: list[dict[str, object]] = []
    held: list[evaluation.Example] = []
    for file in sorted(data.rglob("*.yml")):
        lang = file.parent.name if file.parent != data else None
        items = yaml.safe_load(file.read_text(encoding="utf-8")).get("nlu") or []
        if lang is None:
            kept.extend(items)
            continue
        by_intent: dict[str, list[str]] = {}
        for item in items:
            if "intent" in item:
                by_intent.setdefault(item["intent"], []).extend(_example_lines(item["examples"]))
            else:
                kept.append(item)
        for intent, lines in by_intent.items():
            ordered = sorted(lines, key=lambda line: hashlib.sha1(line.encode()).hexdigest())
            count = max(1, round(len(ordered) * DEV_FRACTION)) if len(ordered) >= 4 else 0
            for line in ordered[:count]:
                text = ANNOTATION.sub(r"\1", line)
                subset = "latin" if _is_latin_typing(text, lang) else None
                held.append(evaluation.Example(text=text, intent=intent, lang=lang, subset=subset))
            rest = ordered[count:]
            kept.append({"intent": intent, "examples": "".join(f"- {line}\n" for line in rest)})
    # An example written the same way elsewhere in the data is not held out.
    trained = {
        ANNOTATION.sub(r"\1", line).lower()
        for item in kept
        if "intent" in item
        for line in _example_lines(str(item["examples"]))
    }
    held = [example for example in held if example.text.lower() not in trained]
    target.write_text(
        yaml.safe_dump({"version": "3.1", "nlu": kept}, allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    return held


def train_nlu(
    config: Path, workdir: Path, name: str, data: Path = ROOT / "nlu" / "data"
) -> tuple[Path, float]:
    print(f"training {name} ({config})...", flush=True)
    started = time.monotonic()
    subprocess.run(
        [
            str(ENGINE_PYTHON),
            "-m",
            "rasa",
            "train",
            "nlu",
            "--config",
            str(config),
            "--nlu",
            str(data),
            "--out",
            str(workdir),
            "--fixed-model-name",
            name,
        ],
        cwd=ROOT,
        env=ENVIRONMENT,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return workdir / f"{name}.tar.gz", time.monotonic() - started


def project_model() -> Path:
    result = subprocess.run(
        [str(ENGINE_PYTHON), str(ROOT / "scripts" / "model.py"), "path"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(result.stdout.strip().splitlines()[-1])


@contextmanager
def serving(model: Path, log: Path) -> Iterator[str]:
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(ENGINE_PYTHON),
                "-m",
                "rasa",
                "run",
                "--enable-api",
                "--interface",
                "127.0.0.1",
                "--port",
                str(port),
                "--model",
                str(model),
            ],
            cwd=ROOT,
            env=ENVIRONMENT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the engine stopped; see {log}")
            try:
                if httpx.post(f"{url}/model/parse", json={"text": "hi"}, timeout=5).is_success:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=60)


def with_seed(config: Path, seed: int, workdir: Path) -> Path:
    """A copy of the pipeline with DIET's random seed set to `seed`."""
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    for component in data["pipeline"]:
        if component.get("name") == "DIETClassifier":
            component["random_seed"] = seed
    path = workdir / f"config-seed-{seed}.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))
    return ordered[index]


def groups(predictions: list[evaluation.Prediction]) -> dict[str, list[evaluation.Prediction]]:
    result: dict[str, list[evaluation.Prediction]] = {}
    for prediction in predictions:
        example = prediction.example
        result.setdefault(example.lang, []).append(prediction)
        result.setdefault(f"{example.lang}-{example.subset or 'script'}", []).append(prediction)
        if example.subset == "latin":
            result.setdefault("latin (my, km, lo, th)", []).append(prediction)
        result.setdefault("overall", []).append(prediction)
    return result


def table(results: list[Result]) -> tuple[str, dict[str, object]]:
    grouped = [groups(result.predictions) for result in results]
    names = sorted(grouped[0], key=lambda name: (name == "overall", "-" in name, name))
    header = "| group | n | " + " | ".join(
        f"{r.name} acc | {r.name} F1 | {r.name} p50 ms | {r.name} p99 ms" for r in results
    )
    lines = [header + " |", "|" + "---|" * (2 + 4 * len(results))]
    figures: dict[str, object] = {}
    for name in names:
        cells = [name, str(len(grouped[0][name]))]
        figures[name] = {}
        for result, group in zip(results, grouped, strict=True):
            score = evaluation.scores(group[name])
            latencies = [p.latency_ms for p in group[name]]
            p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
            cells += [f"{score.accuracy:.3f}", f"{score.macro_f1:.3f}", f"{p50:.0f}", f"{p99:.0f}"]
            figures[name][result.name] = {  # type: ignore[index]
                **score.as_dict(),
                "p50_ms": round(p50, 1),
                "p99_ms": round(p99, 1),
            }
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines), figures


SEEDS_HEADING = "## Spread over DIET random seeds"


def seeds_table(runs: list[Result]) -> tuple[str, dict[str, object]]:
    grouped = [groups(run.predictions) for run in runs]
    names = sorted(grouped[0], key=lambda name: (name == "overall", "-" in name, name))
    header = "| group | n | " + " | ".join(f"F1 {run.name}" for run in runs)
    lines = [
        header + " | mean F1 | min | max | sd |",
        "|" + "---|" * (6 + len(runs)),
    ]
    figures: dict[str, object] = {}
    for name in names:
        values = [evaluation.scores(group[name]).macro_f1 for group in grouped]
        mean = statistics.fmean(values)
        spread = statistics.pstdev(values)
        lines.append(
            "| "
            + " | ".join(
                [name, str(len(grouped[0][name]))]
                + [f"{value:.3f}" for value in values]
                + [f"{mean:.3f}", f"{min(values):.3f}", f"{max(values):.3f}", f"{spread:.3f}"]
            )
            + " |"
        )
        figures[name] = {
            "count": len(grouped[0][name]),
            "macro_f1": {
                run.name: round(value, 4) for run, value in zip(runs, values, strict=True)
            },
            "mean": round(mean, 4),
            "min": round(min(values), 4),
            "max": round(max(values), 4),
            "sd": round(spread, 4),
        }
    return "\n".join(lines), figures


def run_seeds(arguments: argparse.Namespace, examples: list[evaluation.Example]) -> None:
    seeds = [int(seed) for seed in arguments.seeds.split(",") if seed.strip()]
    base = (arguments.config or ROOT / "nlu" / "config.yml").resolve()
    runs: list[Result] = []
    with tempfile.TemporaryDirectory() as temporary:
        workdir = Path(temporary)
        for seed in seeds:
            name = f"seed {seed}"
            model, seconds = train_nlu(with_seed(base, seed, workdir), workdir, f"seed-{seed}")
            with serving(model, workdir / f"seed-{seed}.log") as url:
                predictions = asyncio.run(
                    evaluation.predict(examples, engine_url=url, token=None, concurrency=1)
                )
            runs.append(Result(name=name, training_seconds=seconds, predictions=predictions))
            print(f"{name}: trained in {seconds:.0f} s", flush=True)

    text, figures = seeds_table(runs)
    print(text)
    if arguments.no_docs or arguments.config is not None:
        return
    docs = ROOT / "docs" / "nlu-benchmark.md"
    kept = docs.read_text(encoding="utf-8").split("\n" + SEEDS_HEADING, 1)[0].rstrip("\n")
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    trained = ", ".join(f"{run.name} {run.training_seconds:.0f} s" for run in runs)
    docs.write_text(
        kept
        + "\n\n"
        + SEEDS_HEADING
        + "\n\n"
        + f"Written by `bench/nlu_benchmark.py --seeds` on {stamp}: the project's "
        "pipeline trained (NLU only) once per DIET random seed on the same data, "
        f"macro-F1 on the same held-out set; sd is the population standard "
        f"deviation. Training on this machine: {trained}.\n\n"
        + text
        + "\n\n```json\n"
        + json.dumps(figures, indent=1)
        + "\n```\n",
        encoding="utf-8",
    )


def run_dev_split(arguments: argparse.Namespace) -> None:
    base = (arguments.config or ROOT / "nlu" / "config.yml").resolve()
    seeds = [int(seed) for seed in (arguments.seeds or "").split(",") if seed.strip()]
    runs: list[Result] = []
    with tempfile.TemporaryDirectory() as temporary:
        workdir = Path(temporary)
        data = workdir / "dev-split-training.yml"
        examples = dev_split(ROOT / "nlu" / "data", data)
        print(f"dev split: {len(examples)} examples held back from nlu/data", flush=True)
        choices: list[int | None] = [*seeds] or [None]
        for seed in choices:
            name = "dev" if seed is None else f"seed {seed}"
            config = base if seed is None else with_seed(base, seed, workdir)
            model, seconds = train_nlu(config, workdir, name.replace(" ", "-"), data)
            with serving(model, workdir / f"{name.replace(' ', '-')}.log") as url:
                predictions = asyncio.run(
                    evaluation.predict(examples, engine_url=url, token=None, concurrency=1)
                )
            runs.append(Result(name=name, training_seconds=seconds, predictions=predictions))
            print(f"{name}: trained in {seconds:.0f} s", flush=True)
    if len(runs) > 1:
        print(seeds_table(runs)[0])
    else:
        print(table(runs)[0])
    for run in runs:
        print(f"\n{run.name}, most frequent confusions:")
        print(evaluation.format_report(evaluation.report(run.predictions)).split("\n\n", 1)[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heldout", type=Path, default=ROOT / "tests" / "data" / "heldout")
    parser.add_argument("--config", type=Path, help="train this pipeline instead of the project's")
    parser.add_argument("--skip-stock", action="store_true")
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite the docs")
    parser.add_argument(
        "--seeds",
        metavar="N,N,...",
        help="train the project's pipeline once per DIET random seed and report the mean and "
        "spread of macro-F1 (adds a section to the docs)",
    )
    parser.add_argument(
        "--dev-split",
        action="store_true",
        help="train on nlu/data less a fixed 15%% per intent and language and measure on that "
        "15%% instead of the held-out set (writes no docs)",
    )
    arguments = parser.parse_args()

    if arguments.dev_split:
        run_dev_split(arguments)
        return

    examples = evaluation.load_examples([arguments.heldout])
    if arguments.seeds:
        run_seeds(arguments, examples)
        return
    results: list[Result] = []
    with tempfile.TemporaryDirectory() as temporary:
        workdir = Path(temporary)
        candidates: list[tuple[str, Path | None]] = [("project", arguments.config)]
        if not arguments.skip_stock:
            candidates.append(("stock", ROOT / "bench" / "stock_config.yml"))
        for name, config in candidates:
            if config is None:
                model, seconds = project_model(), None
            else:
                model, seconds = train_nlu(config.resolve(), workdir, name)
            with serving(model, workdir / f"{name}.log") as url:
                predictions = asyncio.run(
                    evaluation.predict(examples, engine_url=url, token=None, concurrency=1)
                )
            results.append(Result(name=name, training_seconds=seconds, predictions=predictions))

    text, figures = table(results)
    print(text)
    for result in results:
        if result.training_seconds is not None:
            print(f"{result.name}: trained in {result.training_seconds:.0f} s")
    project = evaluation.report(results[0].predictions)
    print("\nproject pipeline, most frequent confusions:")
    print(evaluation.format_report(project).split("\n\n", 1)[-1])

    if not arguments.no_docs and arguments.config is None:
        stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        (ROOT / "docs" / "nlu-benchmark.md").write_text(
            "# Understanding benchmark: last run\n\n"
            f"Written by `bench/nlu_benchmark.py` on {stamp}, on the held-out set "
            f"`{arguments.heldout.relative_to(ROOT)}` ({len(examples)} messages, never "
            "trained on). project = `nlu/config.yml`; stock = `bench/stock_config.yml` "
            "(WhitespaceTokenizer, word CountVectors, DIET), trained on the same data in "
            "the same run. Latency: `/model/parse`, one request at a time, on this "
            "machine (2 cores).\n\n"
            + text
            + "\n\n```json\n"
            + json.dumps(figures, indent=1)
            + "\n```\n",
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
