"""The made-to-measure configurator: product families as data, compiled once to a decision
diagram (SAT fallback), answering valid options, explanations, conflicts, suggestions, fit,
price, lead time and variant codes.

>>> from configurator import get_configurator, reference_families
>>> cfg = get_configurator(reference_families()["original-spin"])
>>> cfg.configure({"leg_opening": "skinny"}).remaining_variants < cfg.variant_count
True
"""

from configurator.backend import Backend, Costs
from configurator.codes import parse_code
from configurator.compiler import BDDBackend, CompileBudgetExceeded
from configurator.engine import Configurator, get_configurator
from configurator.errors import (
    ConfiguratorError,
    FamilyError,
    InputError,
    InvalidVariant,
    MalformedCode,
    UnknownCode,
    UnknownProduct,
)
from configurator.family import ProductFamily, load_family, reference_families
from configurator.preferences import learn_preferences
from configurator.results import (
    ConfigureResult,
    Conflict,
    DecodedVariant,
    Fit,
    FitMatch,
    OptionState,
    Variant,
)
from configurator.sat import SATBackend

__all__ = [
    "BDDBackend",
    "Backend",
    "CompileBudgetExceeded",
    "Configurator",
    "ConfiguratorError",
    "ConfigureResult",
    "Conflict",
    "Costs",
    "DecodedVariant",
    "FamilyError",
    "Fit",
    "FitMatch",
    "InputError",
    "InvalidVariant",
    "MalformedCode",
    "OptionState",
    "ProductFamily",
    "SATBackend",
    "UnknownCode",
    "UnknownProduct",
    "Variant",
    "get_configurator",
    "learn_preferences",
    "load_family",
    "parse_code",
    "reference_families",
]
