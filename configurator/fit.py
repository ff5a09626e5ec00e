"""Measurements to size modules: the valid modules within tolerance of the measurements, nearest
first, with per-measurement deltas, or the nearest ones when none fits.

Example
-------
>>> from configurator import reference_families
>>> from configurator.compiled import CompiledFamily
>>> cf = CompiledFamily(reference_families()["original-spin"])
>>> fit = Fitter(cf).fit({"waist": 33.2, "hip": 41.1}, cf.global_valid)["waist_hip"]
>>> fit.matches[0].value, fit.matches[0].deltas
('W33-H41', {'waist': 0.2, 'hip': 0.1})
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from configurator.compiled import CompiledFamily
from configurator.results import Fit, FitMatch


class Fitter:
    """Module centres and tolerances per size attribute of one compiled family."""

    def __init__(self, cf: CompiledFamily) -> None:
        self.cf = cf
        self.measure_by_attr: dict[int, list[str]] = {}
        self._centre: dict[int, dict[str, np.ndarray]] = {}
        self._tol: dict[int, dict[str, np.ndarray]] = {}
        self._tables: dict[tuple[int, tuple[str, ...]], tuple[np.ndarray, np.ndarray]] = {}
        for m in cf.family.measurements:
            a = cf.index[m.attribute]
            self.measure_by_attr.setdefault(a, []).append(m.name)
            opts = cf.opts[a]
            self._centre.setdefault(a, {})[m.name] = np.array([o.measure[m.name] for o in opts])
            self._tol.setdefault(a, {})[m.name] = np.array([o.tolerance[m.name] for o in opts])

    def fit(self, meas: Mapping[str, float], valid: Mapping[int, np.ndarray]) -> dict[str, Fit]:
        """Per size attribute with a measurement given: the fit among the ``valid`` options."""
        out = {}
        for a, names in self.measure_by_attr.items():
            given = [n for n in names if n in meas]
            if given:
                out[self.cf.names[a]] = self.fit_attr(a, given, meas, valid[a])
        return out

    def masks(self, meas: Mapping[str, float]) -> tuple[dict[int, np.ndarray], dict[str, Fit]]:
        """The modules within tolerance per size attribute (only where some module fits: a
        measurement nothing fits leaves sizes unrestricted), and the fits."""
        cf = self.cf
        masks: dict[int, np.ndarray] = {}
        fits = self.fit(meas, cf.global_valid)
        for a in self.measure_by_attr:
            fit = fits.get(cf.names[a])
            if fit is None:
                continue
            within = np.zeros(cf.sizes[a], bool)
            for mt in fit.matches:
                within[cf.opt_index[a][mt.value]] = True
            if within.any():
                masks[a] = within
        return masks, fits

    def distances(
        self, meas: Mapping[str, float], stated: Mapping[str, float] | None = None
    ) -> dict[int, np.ndarray]:
        """Per size attribute with a measurement given: each module's distance (in
        tolerances) to the measurements. ``stated`` measurements (the customer's answers)
        count for the size attributes the request gives no measurement of."""
        dist: dict[int, np.ndarray] = {}
        for a, names in self.measure_by_attr.items():
            given = [n for n in names if n in meas]
            if not given and stated:
                meas = {**meas, **{n: stated[n] for n in names if n in stated}}
                given = [n for n in names if n in stated]
            if given:
                dist[a] = np.sqrt(
                    sum(((meas[n] - self._centre[a][n]) / self._tol[a][n]) ** 2 for n in given)
                )
        return dist

    def fit_attr(
        self, a: int, names: list[str], meas: Mapping[str, float], valid: np.ndarray
    ) -> Fit:
        """The fit of size attribute ``a`` to the measurements ``names`` among ``valid``."""
        cf = self.cf
        opts = cf.opts[a]
        key = (a, tuple(names))
        if key not in self._tables:  # a handful of measurement subsets per family
            self._tables[key] = (
                np.stack([self._centre[a][n] for n in names], axis=1),
                np.stack([self._tol[a][n] for n in names], axis=1),
            )
        centre, tol = self._tables[key]
        x = np.array([meas[n] for n in names])
        delta = x[None, :] - centre
        within = (np.abs(delta) <= tol + 1e-9).all(axis=1) & valid
        dist = np.sqrt(((delta / tol) ** 2).sum(axis=1))

        def match(j: int) -> FitMatch:
            return FitMatch(
                opts[j].value,
                {n: round(float(d), 4) for n, d in zip(names, delta[j], strict=True)},
                round(float(dist[j]), 4),
                bool(within[j]),
            )

        def nearest(idx: np.ndarray) -> np.ndarray:  # by distance, then option order
            return idx[np.lexsort((idx, dist[idx]))]

        matches = [match(int(j)) for j in nearest(np.flatnonzero(within))]
        attr = cf.names[a]
        given = ", ".join(f"{n} {meas[n]:g}" for n in names)
        if matches:
            return Fit(attr, matches, [], f"{len(matches)} {attr} modules fit {given}")
        near = [match(int(j)) for j in nearest(np.flatnonzero(valid))[:3]]
        if near:
            d = ", ".join(f"{k} {v:+g}" for k, v in near[0].deltas.items())
            msg = (
                f"no {attr} module fits {given} within tolerance; the nearest is "
                f"{near[0].value} (measurement minus module: {d})"
            )
        else:
            msg = f"no {attr} module is available"
        return Fit(attr, [], near, msg)
