"""``atelier train`` and ``atelier evaluate``: fit a model version, compare models offline.

Examples
--------
``atelier train --tenant acme --publish`` (events collected by the service), or
``atelier train --events lines.csv.gz --map customer_id=CustomerID,item_id=StockCode,``
``timestamp=InvoiceDate,quantity=Quantity --tenant acme --model auto``;
``atelier evaluate --dataset ml-100k`` (Microsoft Recommenders' protocol) or
``atelier evaluate --dataset online-retail`` (temporal: cut 2011-11-09, test to 2011-12-09);
the data set's defaults are ``training.datasets.PROTOCOLS``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli.common import event_file_arguments, json_argument, print_json, read_options

if TYPE_CHECKING:
    from recommender.interactions import InteractionWeights


RETRAIN_HELP = """\
Train a candidate on the tenant's events (or --events FILE), score it and the active version
on the same fresh validation slice (events neither has seen), publish it with that comparison,
and activate it per --promote. Prints one JSON summary on stdout.

exit codes:
  0  promoted: the candidate is the active version now
  3  kept: the candidate is published, the active version did not change
  1  failed: nothing was published (the summary says why)
  4  busy: another retrain of this tenant is running; nothing was done
  5  experiment: the candidate is published and an A/B test against the active
     version started (--experiment SHARE) instead of a promotion
"""


def _weights(args: argparse.Namespace) -> InteractionWeights:
    from recommender.interactions import InteractionWeights

    base: dict[str, Any] = {}
    if args.weights:
        where = args.weights if Path(args.weights).is_file() else "the --weights text"
        text = Path(args.weights).read_text() if Path(args.weights).is_file() else args.weights
        try:
            base = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"--weights: {where} is not JSON ({exc})") from None
    if args.binary:
        base["binary"] = True
    if args.half_life_days is not None:
        base["half_life_days"] = args.half_life_days
    return InteractionWeights.from_dict(base)


def _weights_given(args: argparse.Namespace) -> bool:
    """Whether the weighting was set by flags (then it is used as given, not searched)."""
    return bool(args.weights or args.binary or args.half_life_days is not None)


def _params(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--param {item!r} is not name=value")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def _artifacts_root(args: argparse.Namespace) -> Path:
    if args.artifacts:
        return Path(args.artifacts)
    if os.environ.get("ATELIER_MODELS_DIR"):
        return Path(os.environ["ATELIER_MODELS_DIR"])
    from settings import Settings

    return Path(Settings().models_dir)


def _file_frame(args: argparse.Namespace) -> Any:
    """The events of ``--events``, read as ``atelier import events`` reads them."""
    from events.files import FileMapping, read_frame

    if not args.mapping:
        raise ValueError("--events needs --map (at least customer_id=Column)")
    frame, stats = read_frame(args.events, FileMapping.parse(args.mapping), read_options(args))
    print(
        f"{args.events}: {stats.valid} events of {stats.rows} rows "
        f"({sum(stats.rejected.values())} rejected, {stats.excluded} excluded)",
        file=sys.stderr,
    )
    return frame


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--events", type=Path, help="train on a CSV / .csv.gz / Parquet file")
    event_file_arguments(p, map_required=False)
    p.add_argument("--weights", help="InteractionWeights as JSON (or a JSON file)")
    p.add_argument("--binary", action="store_true", help="binary interaction matrix")
    p.add_argument("--half-life-days", type=float, default=None, help="time decay")
    p.add_argument(
        "--search", choices=("grid", "optuna"), default="grid", help="how parameters are searched"
    )
    p.add_argument("--trials", type=int, default=20, help="optuna trials")
    p.add_argument(
        "--validation-days", type=float, default=30.0, help="days held out to validate on"
    )
    p.add_argument("--budget", type=float, default=90.0, help="seconds of model search (auto)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def _warn(meta: dict[str, Any]) -> None:
    for text in meta.get("warnings", []):
        print(f"warning: {text}", file=sys.stderr)


def cmd_train(args: argparse.Namespace) -> int:
    from training.train import TrainConfig, train_from_frame

    config = TrainConfig(
        model=args.model,
        params=_params(args.param),
        weights=_weights(args),
        search=args.search,
        trials=args.trials,
        validation_days=args.validation_days,
        search_weights=not _weights_given(args),
        positive_rating=args.positive_rating,
        budget_s=args.budget,
        progress=not args.no_progress,
    )
    root = _artifacts_root(args)
    outcome: dict[str, Any] = {"published": False, "activated": False}
    if args.events is not None:
        if args.publish:
            raise ValueError("--publish needs the service's events (--tenant without --events)")
        folder = train_from_frame(_file_frame(args), config, root, args.tenant)
    else:
        from settings import Settings
        from store import open_configured_store

        store = open_configured_store(Settings())
        try:
            frame = store.events_frame(args.tenant)
            # Cold start within a segment: customers' "segment" attribute labels them.
            segments = {
                c.customer_id: str(c.attributes["segment"])
                for c in store.iter_customers(args.tenant)
                if c.attributes.get("segment") is not None
            }
            current = store.active_model(args.tenant)
            serving = root / args.tenant / current if current else None
            folder = train_from_frame(
                frame,
                config,
                root,
                args.tenant,
                segments=segments or None,
                active=serving if serving is not None and serving.is_dir() else None,
            )
            meta = json.loads((folder / "meta.json").read_text())
            _warn(meta)
            if args.publish:
                before = store.active_model(args.tenant)
                if meta.get("validation", {}).get("degenerate") and not args.force:
                    raise ValueError(
                        f"not published: the validation of {folder.name} is degenerate "
                        "(see the warnings); --force publishes it anyway"
                    )
                store.publish_model(args.tenant, folder.name, meta.get("metrics", {}))
                active = store.active_model(args.tenant)
                # Say what happened: the store activates a version only when none was active.
                outcome = {
                    "published": True,
                    "activated": active == folder.name and before != folder.name,
                    "active": active,
                }
        finally:
            store.close()
    meta = json.loads((folder / "meta.json").read_text())
    if args.events is not None:
        _warn(meta)
    print(
        json.dumps(
            {
                "version": folder.name,
                "folder": str(folder),
                "family": meta["family"],
                "params": meta["params"],
                "weights": meta["weights"],
                "validation": meta.get("validation", {}),
                "metrics": meta["metrics"],
                "seconds": meta["seconds"],
                **outcome,
            },
            indent=2,
        )
    )
    if args.publish and not outcome["activated"]:
        print(
            f"published {folder.name}; not activated (the active version is {outcome['active']};"
            f" activate with: atelier publish --tenant {args.tenant} --version {folder.name}"
            " --activate, or use atelier retrain to compare and promote)",
            file=sys.stderr,
        )
    return 0


def cmd_retrain(args: argparse.Namespace) -> int:
    """``atelier retrain``: exit 0 promoted, 3 kept, 1 failed, 4 another run holds the lock,
    5 an experiment started."""
    from training.evaluate import parse_date
    from training.retrain import (
        EXIT_BUSY,
        EXIT_FAILED,
        RetrainBusy,
        RetrainOptions,
        retrain,
        summary_of_failure,
    )
    from training.train import TrainConfig

    try:
        config = TrainConfig(
            model=args.model,
            params=_params(args.param),
            weights=_weights(args),
            search=args.search,
            trials=args.trials,
            validation_days=args.validation_days,
            search_weights=not _weights_given(args),
            budget_s=args.budget,
            progress=not args.no_progress,
        )
        options = RetrainOptions(
            promote=args.promote,
            margin=args.margin,
            since=parse_date(args.since) if args.since else None,
            until=parse_date(args.until) if args.until else None,
            lock_ttl_s=args.lock_ttl,
            experiment=args.experiment,
        )
    except ValueError as exc:
        print(json.dumps(summary_of_failure(args.tenant, exc), indent=2))
        return EXIT_FAILED
    from settings import Settings
    from store import open_configured_store

    code = EXIT_FAILED
    try:
        frame = _file_frame(args) if args.events is not None else None
        store = open_configured_store(Settings())
        try:
            result = retrain(
                store, _artifacts_root(args), args.tenant, config, options, frame=frame
            )
        finally:
            store.close()
        summary: Any = result.to_dict()
        code = result.exit_code
    except RetrainBusy as exc:
        summary, code = {**summary_of_failure(args.tenant, exc), "status": "busy"}, EXIT_BUSY
    except Exception as exc:  # a scheduler needs the summary and the code, whatever failed
        summary = summary_of_failure(args.tenant, exc)
    print(json.dumps(summary, indent=2, default=str))
    return code


def cmd_evaluate(args: argparse.Namespace) -> int:
    from training import datasets
    from training.evaluate import evaluate_command, parse_date

    defaults = datasets.DatasetProtocol("temporal")
    if args.dataset is not None:
        frame = datasets.load(args.dataset, args.data_dir)
        defaults = datasets.PROTOCOLS[args.dataset]
    elif args.events is not None:
        frame = _file_frame(args)
    else:
        raise SystemExit("atelier evaluate: give --dataset or --events")
    protocol = args.protocol or defaults.protocol
    # the data set's documented cut dates apply to its own protocol only
    own = protocol == defaults.protocol
    cut = args.cut or (defaults.cut if own else None)
    end = args.end or (defaults.end if own else None)
    if protocol == "temporal" and cut is None:
        raise SystemExit("atelier evaluate: the temporal protocol needs --cut YYYY-MM-DD")
    payload = evaluate_command(
        frame,
        protocol,
        [m.strip() for m in args.models.split(",") if m.strip()],
        _weights(args) if _weights_given(args) else None,
        cut=parse_date(cut) if cut else None,
        end=parse_date(end) if end else None,
        k=args.k,
        validation_days=args.validation_days,
        search_method=args.search,
        trials=args.trials,
        budget_s=args.budget,
        out=args.out,
        progress=not args.no_progress and not args.json,
        table=not args.json,
    )
    if args.json:
        print_json(payload)
    return 0


def register(subparsers: Any) -> None:
    """Add ``train`` and ``evaluate`` to the ``atelier`` command."""
    p = subparsers.add_parser("train", help="train a recommendation model version")
    p.add_argument("--tenant", required=True, help="the tenant (1-64 letters, digits, _ . -)")
    p.add_argument(
        "--publish",
        action="store_true",
        help="register the version in the store (activates it if none is active)",
    )
    p.add_argument("--model", default="auto", help="auto, als, bpr, itemknn, ease, popularity")
    p.add_argument("--param", action="append", default=[], help="name=value (JSON value)")
    p.add_argument("--artifacts", help="artifact root (default: the service's models dir)")
    p.add_argument(
        "--force", action="store_true", help="publish even when the validation is degenerate"
    )
    p.add_argument(
        "--positive-rating",
        type=float,
        default=None,
        help="lowest rating that counts as a validation target (default: every rating)",
    )
    _common(p)
    json_argument(p, already=True)
    p.set_defaults(handler=cmd_train)

    r = subparsers.add_parser(
        "retrain",
        help="train, compare with the active version, publish, promote if better",
        description=RETRAIN_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    r.add_argument("--tenant", required=True, help="the tenant (1-64 letters, digits, _ . -)")
    r.add_argument("--model", default="auto", help="auto, als, bpr, itemknn, ease, popularity")
    r.add_argument("--param", action="append", default=[], help="name=value (JSON value)")
    r.add_argument("--artifacts", help="artifact root (default: the service's models dir)")
    r.add_argument(
        "--promote",
        choices=("always", "if-better", "never"),
        default="if-better",
        help="activate the candidate always, only if it beats the active one, or never",
    )
    r.add_argument(
        "--margin",
        type=float,
        default=0.01,
        help="if-better: relative gain in nDCG@10 needed (0.01 = 1%% better)",
    )
    r.add_argument(
        "--experiment",
        type=float,
        metavar="SHARE",
        help="start an A/B test giving the candidate this share of customers (0.1 = 10%%) "
        "against the active version, instead of promoting it",
    )
    r.add_argument("--since", help="train on events from this date (YYYY-MM-DD or ISO 8601)")
    r.add_argument("--until", help="... and before this one")
    r.add_argument(
        "--lock-ttl",
        type=float,
        default=6 * 3600.0,
        help="Redis: seconds after which a crashed run's lock expires",
    )
    _common(r)
    json_argument(r, already=True)
    r.set_defaults(handler=cmd_retrain)

    e = subparsers.add_parser("evaluate", help="offline evaluation of model families")
    e.add_argument(
        "--dataset",
        choices=("ml-100k", "online-retail"),
        help="ml-100k: Microsoft Recommenders protocol; online-retail: temporal, cut 2011-11-09,"
        " test to 2011-12-09 (both overridable)",
    )
    e.add_argument(
        "--data-dir",
        type=Path,
        help="folder laid out as ../shared/data (default: $ATELIER_SHARED_DATA or ../shared/data)",
    )
    e.add_argument(
        "--protocol",
        choices=("temporal", "ms"),
        help="default: the data set's own (temporal for --events)",
    )
    e.add_argument("--cut", help="temporal: first test day (YYYY-MM-DD)")
    e.add_argument("--end", help="temporal: end of the test window (exclusive)")
    e.add_argument(
        "--models",
        default="popularity,itemknn,als,ease,auto",
        help="comma-separated model families to compare",
    )
    e.add_argument("--k", type=int, default=10, help="cut-off of the ranking metrics (@k)")
    e.add_argument("--out", help="write the results as JSON")
    _common(e)
    json_argument(e)
    e.set_defaults(handler=cmd_evaluate)
