"""Model selection on a validation slice carved out of the *training* data only.

``--model auto`` compares families (and each family's hyperparameters) on that slice, by
nDCG@k unless told otherwise, and refits the winner on all the training data. The default,
:func:`search_auto`, also chooses the interaction weighting (:func:`weighting_candidates`) within
a time budget; :func:`search` compares families on one fixed weighting, by the documented grid
(:data:`GRIDS`) or optuna's TPE over :func:`_suggest` spaces. Regularisation is searched
relative to the data (:func:`resolve_params`). Every function here is public for the jobs that
build on it (``atelier train``, ``atelier evaluate``, retraining).

Examples
--------
>>> import scipy.sparse as sp
>>> from training.evaluation import Split
>>> X = sp.csr_matrix(np.eye(4, dtype=np.float32))
>>> split = Split(X, X, np.arange(4).astype(str), np.arange(4).astype(str))
>>> result = search(split, ["popularity"], progress=False)
>>> result.family
'popularity'
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import scipy.sparse as sp
from tqdm.auto import tqdm

from core.errors import MissingExtra
from recommender.interactions import DEFAULT_TYPE_WEIGHTS, InteractionWeights
from recommender.models import FAMILIES, Recommender
from recommender.models.neighbours import EASE, DenseScorer, spd_inverse
from training.evaluation import Split, evaluate_model
from training.validation import Validation, mean_metrics

#: The grid searched per family (bounded: the machine is shared). Regularisation is relative
#: to the data (:func:`resolve_params`): ``l2_rel`` times the mean item support (the mean of
#: ``diag(XᵀX)``), ALS's ``alpha_rel`` divided by the mean cell weight, so the same grid fits
#: weights of 1 per purchase or 4, and a catalog of any size.
GRIDS: dict[str, dict[str, list[Any]]] = {
    "popularity": {},
    "itemknn": {"kind": ["bm25", "cosine"], "K": [50, 200]},
    "ease": {"l2_rel": [3.0, 10.0, 30.0]},
    "dlae": {"l2_rel": [3.0, 10.0, 30.0], "dropout": [0.33, 0.67]},
    "als": {
        "factors": [64, 128],
        "alpha_rel": [1.0, 10.0],
        "regularization": [0.1],
        "iterations": [15],
    },
    "bpr": {"factors": [64], "learning_rate": [0.05], "iterations": [100]},
}
#: One point per family, tried on every interaction weighting to choose each family's weighting.
PROBES: dict[str, dict[str, Any]] = {
    "popularity": {},
    "itemknn": {"kind": "bm25", "K": 100},
    "ease": {"l2_rel": 10.0},
    "dlae": {"l2_rel": 3.0, "dropout": 0.67},
    "als": {"factors": 64, "alpha_rel": 5.0, "regularization": 0.1, "iterations": 15},
    "bpr": {"factors": 64, "learning_rate": 0.05, "iterations": 100},
}
#: EASE and DLAE both: DLAE wins on ML-100K and Online Retail, EASE on MovieLens latest-small
#: (a sparser catalog where the dropout penalty, proportional to item support, does little).
AUTO_FAMILIES: tuple[str, ...] = ("popularity", "itemknn", "ease", "dlae", "als")
DENSE_FAMILIES: frozenset[str] = frozenset({"ease", "dlae"})
#: Above this many items the dense families are not searched (their item x item weights alone
#: take ``4 * items**2`` bytes, and serving scores a dense row per request).
EASE_MAX_ITEMS = 10000
#: Catalogs this small are always solved whole: one inverse takes seconds at most, and a timing
#: taken on a busy machine must not cut a catalog the size of ML-100K's.
DENSE_WHOLE_ITEMS = 4000


def mean_support(matrix: sp.csr_matrix) -> float:
    """Mean of ``diag(XᵀX)`` over the items with any interaction (1.0 for an empty matrix)."""
    x = sp.csr_matrix(matrix)
    diag = np.asarray(x.multiply(x).sum(axis=0)).ravel()
    diag = diag[diag > 0]
    return float(diag.mean()) if len(diag) else 1.0


def mean_cell(matrix: sp.csr_matrix) -> float:
    """Mean non-zero cell weight (1.0 for an empty matrix)."""
    data = sp.csr_matrix(matrix).data
    return float(data.mean()) if len(data) else 1.0


def resolve_params(params: dict[str, Any], matrix: sp.csr_matrix) -> dict[str, Any]:
    """A family's constructor arguments from searched ones, relative parameters made absolute on
    ``matrix`` (``l2_rel`` -> ``l2``, ``alpha_rel`` -> ``alpha``): refitting on all the data
    resolves them again, so the penalty keeps its size relative to the data.

    >>> import scipy.sparse as sp
    >>> resolve_params({"l2_rel": 2.0}, sp.csr_matrix(np.array([[1.0, 1], [1, 0]])))
    {'l2': 3.0}
    """
    out = dict(params)
    if "l2_rel" in out:
        out["l2"] = float(f"{out.pop('l2_rel') * mean_support(matrix):.4g}")
    if "alpha_rel" in out:
        out["alpha"] = float(f"{out.pop('alpha_rel') / mean_cell(matrix):.4g}")
    return out


def refit_params(params: dict[str, Any], validation_train: sp.csr_matrix) -> dict[str, Any]:
    """The constructor arguments the chosen candidate is refitted on all the data with: its
    relative parameters resolved on the validation's training matrix, where they were chosen.

    A ridge penalty is the strength of a prior on the weights: the right one does not grow with
    the rows the refit adds (the Gram matrix does), so the absolute penalty found on the
    validation rows carries over, where re-resolving ``l2_rel`` on all the rows would scale it
    up with them. Weighting the data differently still scales it (it is resolved on a matrix of
    the chosen weighting), so the search stays free of the weights' arbitrary scale.
    """
    return resolve_params(params, validation_train)


_INVERSE_SECONDS_PER_CUBE: list[float] = []


def inverse_seconds(n: int) -> float:
    """Measured cost model of the dense families: seconds of one ``n x n`` inverse here,
    extrapolated as ``n³`` from the fastest of three timed 1000 x 1000 inverses by the solver
    the dense families use (measured once per process; the fastest, because the machine's other
    load only ever adds time)."""
    if not _INVERSE_SECONDS_PER_CUBE:
        a = np.random.default_rng(0).random((1000, 1000))
        g = (a @ a.T + 1000.0 * np.eye(1000)).astype(np.float32)  # the families' precision
        best = float("inf")
        for _ in range(3):
            work = g.copy()
            start = time.perf_counter()
            spd_inverse(work)
            best = min(best, time.perf_counter() - start)
        _INVERSE_SECONDS_PER_CUBE.append(best / 1000.0**3)
    return _INVERSE_SECONDS_PER_CUBE[0] * float(n) ** 3


def dense_head(n_items: int, seconds: float) -> int | None:
    """Items the dense solve keeps so that one fit costs about ``seconds`` (None: all; always
    all up to :data:`DENSE_WHOLE_ITEMS`)."""
    if n_items <= DENSE_WHOLE_ITEMS or inverse_seconds(n_items) <= seconds:
        return None
    return max(DENSE_WHOLE_ITEMS, int((seconds / inverse_seconds(1)) ** (1.0 / 3.0)))


@dataclass
class SearchResult:
    """The best family/params on validation and every trial (params, metrics, seconds).

    ``params`` are the searched ones (relative: resolve them with :func:`resolve_params` on the
    matrix the model is fitted on); ``weights`` the interaction weighting they were chosen with.
    """

    family: str
    params: dict[str, Any]
    metrics: dict[str, float]
    trials: list[dict[str, Any]] = field(default_factory=list)
    weights: InteractionWeights | None = None
    weighting: str = ""
    baseline: dict[str, float] = field(default_factory=dict)
    skipped: list[dict[str, Any]] = field(default_factory=list)


def grid_candidates(families: Sequence[str], n_items: int) -> list[tuple[str, dict[str, Any]]]:
    """Every (family, params) of :data:`GRIDS` for ``families`` (dense ones skipped above
    :data:`EASE_MAX_ITEMS` items)."""
    out: list[tuple[str, dict[str, Any]]] = []
    for fam in families:
        if fam not in FAMILIES:
            raise ValueError(f"unknown model family {fam!r}; choose from {sorted(FAMILIES)}")
        if fam in DENSE_FAMILIES and n_items > EASE_MAX_ITEMS:
            continue
        grid = GRIDS.get(fam, {})
        keys = list(grid)
        for values in itertools.product(*(grid[k] for k in keys)):
            out.append((fam, dict(zip(keys, values, strict=True))))
    return out


def _suggest(trial: Any, family: str) -> dict[str, Any]:
    if family in DENSE_FAMILIES:
        out = {"l2_rel": trial.suggest_float("l2_rel", 0.3, 100.0, log=True)}
        if family == "dlae":
            out["dropout"] = trial.suggest_float("dropout", 0.1, 0.9)
        return out
    if family == "als":
        return {
            "factors": trial.suggest_categorical("factors", [32, 64, 128]),
            "alpha_rel": trial.suggest_float("alpha_rel", 0.5, 40.0, log=True),
            "regularization": trial.suggest_float("regularization", 0.01, 10.0, log=True),
            "iterations": 15,
        }
    if family == "itemknn":
        return {
            "kind": trial.suggest_categorical("kind", ["bm25", "cosine"]),
            "K": trial.suggest_int("K", 10, 400, log=True),
        }
    if family == "bpr":
        return {
            "factors": trial.suggest_categorical("factors", [32, 64, 128]),
            "learning_rate": trial.suggest_float("learning_rate", 0.005, 0.1, log=True),
            "iterations": 100,
        }
    return {}


def fit_family(
    family: str, params: dict[str, Any], matrix: sp.csr_matrix, *, scorer: bool = False
) -> Recommender:
    """Fit ``family`` with searched ``params`` (relative ones resolved on ``matrix``);
    ``scorer``: for the dense families, a :class:`~recommender.models.neighbours.DenseScorer`
    (the same scores, never forming ``B``: the search's candidates)."""
    model: Recommender = FAMILIES[family](**resolve_params(params, matrix))
    if scorer and isinstance(model, EASE):
        return DenseScorer(model).fit(matrix)
    return model.fit(matrix)


def _trial(
    splits: Split | Sequence[Split], family: str, params: dict[str, Any], k: int
) -> dict[str, Any]:
    """Fit and score one candidate on each fold; metrics are the folds' mean."""
    folds = [splits] if isinstance(splits, Split) else list(splits)
    start = time.perf_counter()
    per_fold = [
        evaluate_model(fit_family(family, params, s.fit_rows, scorer=True), s, k=k) for s in folds
    ]
    return {
        "family": family,
        "params": params,
        "fitted_params": resolve_params(params, folds[0].train),
        "metrics": mean_metrics(per_fold),
        "per_fold": per_fold,
        "seconds": round(time.perf_counter() - start, 3),
    }


def _best(trials: list[dict[str, Any]], metric: str) -> dict[str, Any]:
    return max(trials, key=lambda t: (t["metrics"][metric], -t["seconds"]))


def search(
    split: Split,
    families: Sequence[str] = AUTO_FAMILIES,
    *,
    method: str = "grid",
    n_trials: int = 20,
    metric: str = "ndcg@10",
    k: int = 10,
    seed: int = 42,
    progress: bool = True,
) -> SearchResult:
    """Fit every candidate on ``split.train``, score on ``split.test``, keep the best (one
    fixed weighting: :func:`search_auto` also searches the weighting)."""
    trials: list[dict[str, Any]] = []
    if method == "grid":
        candidates = grid_candidates(families, split.train.shape[1])
        for fam, params in tqdm(candidates, desc="model search", disable=not progress):
            trials.append(_trial(split, fam, params, k))
            trials[-1].pop("per_fold")
    elif method == "optuna":
        optuna = _optuna()

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        n_items = split.train.shape[1]
        fams = [f for f in families if not (f in DENSE_FAMILIES and n_items > EASE_MAX_ITEMS)]

        def objective(trial: Any) -> float:
            fam = trial.suggest_categorical("family", fams)
            result = _trial(split, fam, _suggest(trial, fam), k)
            result.pop("per_fold")
            trials.append(result)
            return float(result["metrics"][metric])

        study = optuna.create_study(
            direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed)
        )
        study.optimize(objective, n_trials=n_trials, show_progress_bar=progress)
    else:
        raise ValueError(f"search method must be 'grid' or 'optuna', not {method!r}")
    if not trials:
        raise ValueError("no candidate model to search")
    best = _best(trials, metric)
    return SearchResult(best["family"], best["params"], best["metrics"], trials)


def _optuna() -> Any:
    """optuna, which only the TPE search uses: an optional extra, not a serving dependency."""
    try:
        import optuna
    except ImportError as exc:
        raise MissingExtra(
            "the optuna search needs optuna, which is not installed: pip install 'atelier[tune]'"
            " (make .venv/.installed installs it), or use --search grid"
        ) from exc
    return optuna


def weighting_candidates(frame: Any) -> list[tuple[str, InteractionWeights]]:
    """The interaction weightings the default search tries, from what the events hold.

    Always counted (the service's weights) and binary; with ratings, ``rating^0.5`` (stars
    counted with their gaps shrunk), binary above the median and the upper-quartile rating;
    with several positive types, purchase-heavy type weights; over at least 90 days, a
    half-life of a sixth of the span with cells capped at one purchase's weight, and at three.

    >>> from core.records import Event, EventFrame
    >>> f = EventFrame.from_events([Event(str(i), "c", "rating", 0.0, item_id="i", value=v)
    ...                             for i, v in enumerate([1.0, 3.0, 4.0, 5.0])])
    >>> [name for name, _ in weighting_candidates(f)]
    ['counted', 'binary', 'rating^0.5', 'rating>=3.5', 'rating>=4.25']
    """
    out = [("counted", InteractionWeights()), ("binary", InteractionWeights(binary=True))]
    types = frame.type.astype(str)
    values = np.asarray(frame.value, dtype=np.float64)
    ratings = values[(types == "rating") & ~np.isnan(values)]
    if len(ratings):
        out.append(("rating^0.5", InteractionWeights(rating_power=0.5)))
        for q in (0.5, 0.75):
            t = float(np.quantile(ratings, q))
            if t > float(ratings.min()) and all(f"rating>={t:g}" != n for n, _ in out):
                out.append(
                    (f"rating>={t:g}", InteractionWeights(binary=True, rating_offset=t - 1e-3))
                )
    kinds = set(types.tolist()) & {"view", "click", "add_to_cart", "purchase"}
    if len(kinds) >= 2:
        heavy = dict(DEFAULT_TYPE_WEIGHTS, view=0.5, click=0.5, add_to_cart=2.0, purchase=8.0)
        out.append(("purchase-heavy", InteractionWeights(type_weights=heavy)))
    ts = np.asarray(frame.timestamp, dtype=np.float64)
    span_days = float(ts.max() - ts.min()) / 86400.0 if len(ts) else 0.0
    if span_days >= 90.0:
        half = float(f"{span_days / 6.0:.2g}")
        cap = 3.0 * DEFAULT_TYPE_WEIGHTS["purchase"]
        # "binary" would undo the decay (every positive cell becomes 1): cap at one purchase
        # instead, so a recent purchase weighs one purchase and an old one less
        one = DEFAULT_TYPE_WEIGHTS["purchase"]
        out.append(
            (
                f"capped at one purchase, half-life {half:g} d",
                InteractionWeights(max_weight=one, half_life_days=half),
            )
        )
        out.append(
            (
                f"counted, capped, half-life {half:g} d",
                InteractionWeights(max_weight=cap, half_life_days=half),
            )
        )
    return out


def _probe_order(families: Sequence[str]) -> list[str]:
    cheap_first = ["popularity", "itemknn", "ease", "dlae", "als", "bpr"]
    return sorted(families, key=lambda f: cheap_first.index(f) if f in cheap_first else 99)


#: A family whose probe on the service's weighting scores below this share of the best one's
#: is not searched further: the budget goes to the families that can win.
KEEP_SHARE = 0.9


def _pooled(
    mean: dict[str, float], n_mean: int, more: Sequence[dict[str, float]]
) -> dict[str, float]:
    """Metrics over all folds from the mean of ``n_mean`` folds and ``more`` folds' own.

    >>> _pooled({"ndcg@10": 0.2, "users": 6}, 2, [{"ndcg@10": 0.5, "users": 3}])
    {'ndcg@10': 0.3, 'users': 9}
    """
    n = n_mean + len(more)
    out: dict[str, float] = {}
    for key, value in mean.items():
        extra = [m[key] for m in more]
        if key == "users":
            out[key] = value + sum(extra)
        else:
            out[key] = round((value * n_mean + sum(extra)) / n, 12)
    return out


class _Budgeted:
    """Runs trials on a validation plan until the time budget is spent (the bookkeeping of
    :func:`search_auto`): a trial whose family's slowest fit so far no longer fits is skipped
    and listed."""

    def __init__(
        self,
        validation: Validation,
        weightings: Sequence[tuple[str, InteractionWeights]],
        k: int,
        budget_s: float,
        head: int | None,
        progress: bool,
        metric: str = "ndcg@10",
    ) -> None:
        self.validation, self.weightings, self.k = validation, dict(weightings), k
        self.metric = metric
        self.budget_s, self.head = budget_s, head
        self.start = time.perf_counter()
        self.trials: list[dict[str, Any]] = []
        self.skipped: list[dict[str, Any]] = []
        #: the slowest fold of each family so far (what the budget expects a fold to cost)
        self.fold_s: dict[str, float] = {}
        self.bar = tqdm(desc="model search", disable=not progress)

    def run(
        self, stage: str, fam: str, params: dict[str, Any], wname: str, folds: int | None = None
    ) -> None:
        """One trial on the plan's search folds (or its first ``folds``), appended to
        :attr:`trials` with each fold's score (``fold_scores``), or skipped when its expected
        cost (its family's slowest fold so far, times the folds) no longer fits the budget."""
        splits = self.validation.splits(self.weightings[wname], folds)
        screen = next(
            (
                t
                for t in self.trials
                if t["stage"] == "screen"
                and (t["family"], t["params"], t["weighting"]) == (fam, params, wname)
            ),
            None,
        )
        done = screen["folds"] if screen is not None and len(splits) > screen["folds"] else 0
        expected = self.fold_s.get(fam, 0.0) * (len(splits) - done)
        if time.perf_counter() - self.start + expected > self.budget_s and self.trials:
            self.skipped.append(
                {"family": fam, "params": params, "weighting": wname, "stage": stage}
            )
            return
        head = self.head if fam in DENSE_FAMILIES else None
        fit_params = dict(params, head=head) if head else params
        result = _trial(splits[done:], fam, fit_params, self.k)
        # the head is how the search affords a trial, not a parameter of the model it chooses:
        # the chosen one is refitted on the whole catalog
        per_fold = result.pop("per_fold")
        if screen is not None and done:  # a screened candidate goes on: only its other folds
            screen.update(
                stage=stage,
                folds=len(splits),
                metrics=_pooled(screen["metrics"], done, per_fold),
                seconds=round(screen["seconds"] + result["seconds"], 3),
                fold_scores=screen["fold_scores"]
                + [round(float(m[self.metric]), 6) for m in per_fold],
            )
            per = result["seconds"] / len(per_fold)
            self.fold_s[fam] = max(self.fold_s.get(fam, 0.0), per)
            self.bar.update(1)
            return
        result.update(
            params=params,
            weighting=wname,
            stage=stage,
            folds=len(splits),
            fold_scores=[round(float(m[self.metric]), 6) for m in per_fold],
        )
        if head:
            result["head"] = head
        self.trials.append(result)
        per = result["seconds"] / len(splits)
        self.fold_s[fam] = max(self.fold_s.get(fam, 0.0), per)
        self.bar.update(1)

    def full(self) -> list[dict[str, Any]]:
        """The trials scored on every search fold (not the one-fold screens)."""
        return [t for t in self.trials if t["stage"] != "screen"]

    def confirm(self, metric: str, top: int = 3) -> dict[str, Any]:
        """The best trial after scoring the ``top`` ones on the plan's confirmation folds too
        (their ``confirmed`` metrics are the mean over every fold): the search's maximum over
        many close candidates flatters its winner, fresh folds do not. Within the budget, else
        the search's best."""
        ranked = sorted(self.full(), key=lambda t: -t["metrics"][metric])[:top]
        n, searched = self.validation.n_folds, self.validation.search_folds
        if n <= searched or len(ranked) < 2:
            return ranked[0]
        spent = time.perf_counter() - self.start
        expected = sum(self.fold_s.get(t["family"], 0.0) * (n - searched) for t in ranked)
        if spent + expected > self.budget_s * 1.25:
            return ranked[0]
        for trial in ranked:
            splits = self.validation.splits(self.weightings[trial["weighting"]], n)[searched:]
            head = self.head if trial["family"] in DENSE_FAMILIES else None
            params = dict(trial["params"], head=head) if head else trial["params"]
            fresh = _trial(splits, trial["family"], params, self.k)["per_fold"]
            trial["confirmed"] = _pooled(trial["metrics"], searched, fresh)
        return max(ranked, key=lambda t: t["confirmed"][metric])

    def best_of(self, fam: str, metric: str) -> dict[str, Any] | None:
        done = [t for t in self.full() if t["family"] == fam]
        return _best(done, metric) if done else None


def search_auto(
    validation: Validation,
    families: Sequence[str] = AUTO_FAMILIES,
    weightings: Sequence[tuple[str, InteractionWeights]] | None = None,
    *,
    metric: str = "ndcg@10",
    k: int = 10,
    budget_s: float = 90.0,
    progress: bool = True,
) -> SearchResult:
    """The default search: family, parameters *and* interaction weighting, within a time budget.

    Stage 0 fits each family's :data:`PROBES` point on the first weighting (the service's own);
    families below :data:`KEEP_SHARE` of the best are dropped. Stage 1 screens every other
    weighting, and the visits variants of the best two, with the best family's probe on the
    first fold only (:func:`_screen_weightings`); the screen's best goes on to every fold and
    the other kept families probe the weighting the leader then ranks best; each family keeps
    its best weighting; stage 2 runs the :data:`GRIDS` of the kept families on it, best family
    first. Every trial is averaged over the plan's folds. Dense families are skipped
    above :data:`EASE_MAX_ITEMS` items and fitted on the head of the catalog that makes one fit
    cost about a fifteenth of ``budget_s`` (:func:`dense_head`, measured here; the chosen one is
    refitted whole). A candidate whose expected cost (its family's slowest fit) no longer fits
    the budget is skipped and listed in ``skipped``. Popularity's metrics on the same slice are
    the ``baseline``. Stage 3 (:func:`_refine`) spends what is left of the budget around the
    two leading families. The three best candidates are scored on the confirmation folds too
    (:meth:`_Budgeted.confirm`) before one is chosen; the chosen one is refitted with
    :func:`refit_params`.
    """
    weightings = list(weightings or weighting_candidates(validation.frame))
    for fam in families:
        if fam not in FAMILIES:
            raise ValueError(f"unknown model family {fam!r}; choose from {sorted(FAMILIES)}")
    n_items = validation.split(weightings[0][1]).train.shape[1]
    runner = _Budgeted(
        validation, weightings, k, budget_s, dense_head(n_items, budget_s / 15.0), progress
    )
    searched = []
    for fam in _probe_order(families):
        if fam in DENSE_FAMILIES and n_items > EASE_MAX_ITEMS:
            runner.skipped.append({"family": fam, "reason": f"{n_items} items > {EASE_MAX_ITEMS}"})
            continue
        runner.run("probe", fam, dict(PROBES.get(fam, {})), weightings[0][0])
        searched.append(fam)
    kept = _kept_families(runner, searched, metric)
    names = [name for name, _ in weightings]
    if kept and len(names) > 3:
        names = _screen_weightings(runner, kept[0], names)
    for i, fam in enumerate(kept):  # the others probe the weighting the leader ranked best
        if i == 1:
            lead = [t for t in runner.full() if t["family"] == kept[0]]
            lead.sort(key=lambda t: -t["metrics"][metric])
            names = [names[0], *[t["weighting"] for t in lead if t["weighting"] != names[0]][:1]]
        for wname in names[1:]:
            runner.run("probe", fam, dict(PROBES.get(fam, {})), wname)
    for fam in sorted(kept, key=lambda f: -_score(runner.best_of(f, metric), metric)):
        best = runner.best_of(fam, metric)
        for cand_fam, params in grid_candidates([fam], n_items):
            if best is not None and params != PROBES.get(cand_fam):
                runner.run("grid", cand_fam, params, best["weighting"])
    # the leaders after the grids (the probe's leader may have lost its lead)
    _refine(
        runner,
        sorted(kept, key=lambda f: -_score(runner.best_of(f, metric), metric)),
        n_items,
        metric,
    )
    runner.bar.close()
    if not runner.trials:
        raise ValueError("no candidate model to search")
    best = runner.confirm(metric)
    baseline: dict[str, float] = next(
        (t["metrics"] for t in runner.trials if t["family"] == "popularity"), {}
    )
    return SearchResult(
        best["family"],
        best["params"],
        best["metrics"],
        runner.trials,
        weights=runner.weightings[best["weighting"]],
        weighting=best["weighting"],
        baseline=baseline,
        skipped=runner.skipped,
    )


#: The share of co-occurrence a weighting's visits variant takes from within visits
#: (:func:`recommender.interactions.with_sessions`): half, on ML-100K and latest-small alike.
VISIT_SHARE = 0.5


def _screen_weightings(runner: _Budgeted, lead: str, names: list[str]) -> list[str]:
    """The first weighting and the one that the ``lead`` family's probe scores best on the
    first fold alone, among the others and the best two's visits variants (a screen: what
    loses there by a wide margin is not worth every fold; the one chosen is probed on all).
    """
    params = dict(PROBES.get(lead, {}))

    def screened() -> list[dict[str, Any]]:
        done = [t for t in runner.trials if t["family"] == lead and t["params"] == params]
        return sorted(done, key=lambda t: -t["fold_scores"][0])

    for wname in names[1:]:
        runner.run("screen", lead, params, wname, folds=1)
    for trial in screened()[:2]:
        visits = _visits_variant(runner, trial["weighting"])
        if visits is not None:
            runner.run("screen", lead, params, visits, folds=1)
    others = [t["weighting"] for t in screened() if t["weighting"] != names[0]]
    return [names[0], *others[:1]]


def _visits_variant(runner: _Budgeted, wname: str) -> str | None:
    """Register ``wname`` with :data:`VISIT_SHARE` of its co-occurrence from within visits, and
    return its name; None when the events hold no visit with two items (nothing to learn)."""
    base = runner.weightings[wname]
    if base.session_share > 0:
        return None
    weights = replace(base, session_share=VISIT_SHARE)
    split = runner.validation.split(weights)
    fit = split.fit_matrix
    if fit is None or not (np.diff(fit.indptr)[split.train.shape[0] :] >= 2).any():
        return None
    name = f"{wname} + visits"
    runner.weightings[name] = weights
    return name


#: The relative penalties :func:`_refine` bisects (geometrically) between grid points.
_REFINED = ("l2_rel", "alpha_rel")


def _refine(runner: _Budgeted, families: Sequence[str], n_items: int, metric: str) -> None:
    """Stage 3, while the budget lasts, for the two leading ``families`` (best first): each
    one's grid on its runner-up weighting (one probe point ranks weightings that are a few
    thousandths apart), then the geometric midpoints between the best two trials' relative
    penalty and its neighbours in their family's grid (the optimum seldom sits on a point of
    a grid spaced about 3x)."""
    done = {(t["family"], repr(sorted(t["params"].items())), t["weighting"]) for t in runner.trials}

    def run(fam: str, params: dict[str, Any], wname: str) -> None:
        key = (fam, repr(sorted(params.items())), wname)
        if key not in done:
            done.add(key)
            runner.run("refine", fam, params, wname)

    leaders = list(families)[:2]
    for fam in leaders:
        probes = [t for t in runner.trials if t["family"] == fam and t["stage"] == "probe"]
        probes.sort(key=lambda t: -t["metrics"][metric])
        if len(probes) > 1:
            for _, params in grid_candidates([fam], n_items):
                run(fam, params, probes[1]["weighting"])
    ranked = sorted(
        (t for t in runner.full() if t["family"] in leaders), key=lambda t: -t["metrics"][metric]
    )
    for trial in ranked[:2]:
        fam = trial["family"]
        for name in _REFINED:
            value = trial["params"].get(name)
            grid = sorted(set(GRIDS.get(fam, {}).get(name, [])))
            if value is None or value not in grid:
                continue
            at = grid.index(value)
            for other in grid[max(at - 1, 0) : at] + grid[at + 1 : at + 2]:
                mid = float(f"{(value * other) ** 0.5:.3g}")
                run(fam, dict(trial["params"], **{name: mid}), trial["weighting"])


def _score(trial: dict[str, Any] | None, metric: str) -> float:
    return float(trial["metrics"][metric]) if trial is not None else 0.0


def _kept_families(runner: _Budgeted, searched: Sequence[str], metric: str) -> list[str]:
    """The searched families (not popularity) worth more trials, best probe first; the others
    are listed in ``runner.skipped`` with the reason."""
    scores = {f: _score(runner.best_of(f, metric), metric) for f in searched}
    top = max(scores.values(), default=0.0)
    kept = []
    for fam in sorted(scores, key=lambda f: -scores[f]):
        if fam == "popularity":
            continue
        if scores[fam] >= KEEP_SHARE * top:
            kept.append(fam)
        else:
            runner.skipped.append(
                {
                    "family": fam,
                    "reason": f"probe {metric} {scores[fam]:.4f} < {KEEP_SHARE:g} x best {top:.4f}",
                }
            )
    return kept
