"""`okxbot optimize --param PATH=SPEC`: which config values vary, over which values, and the configs
they make. Every refusal names the parameter and says what to write instead.

SPEC forms:
    grid.levels=5..30              integers 5, 6, ..., 30 (an int setting: step 1)
    grid.lower=60000..61000        a Decimal setting: the step is the finest digit written in the
                                   bounds (60000..61000 -> 1; 0.001..0.01 -> 0.001), so every value
                                   is an exact Decimal a config could hold
    grid.lower=60000..61000:50     an explicit step: 60000, 60050, ..., 61000
    ma_cross.bar=1m,5m,15m         a list of choices (any setting, also true,false)
A value is LOW + k x STEP <= HIGH. PATH is a setting of the config: the table of its strategy (grid.*,
dca.*, ma_cross.*), risk.* and, for a strategy file, params.* (the keys the config sets).
"""

from __future__ import annotations

import tomllib
import types
import typing
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, TypeAdapter, ValidationError

from okxbot.trading.config import BotConfig

NUMERIC = ("int", "decimal", "float")


class SearchSpaceError(Exception):
    """A --param that cannot be used; str() is the problem, then the fix."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(f"{problem}\n  Fix: {fix}")
        self.problem, self.fix = problem, fix


class InvalidCombination(Exception):
    """Values that are each valid but not together (grid.lower >= grid.upper, fast >= slow)."""


@dataclass(frozen=True)
class ParamSpec:
    path: str  # grid.levels
    kind: str  # int | decimal | float | choice
    low: Decimal | None = None
    high: Decimal | None = None
    step: Decimal | None = None
    choices: tuple[Any, ...] = ()

    @property
    def count(self) -> int:
        """How many values the parameter can take."""
        if self.kind == "choice":
            return len(self.choices)
        assert self.low is not None and self.high is not None and self.step is not None
        return int((self.high - self.low) // self.step) + 1

    def value(self, index: int) -> Any:
        """The index-th value (0 = low / the first choice), typed as the config holds it."""
        if self.kind == "choice":
            return self.choices[index]
        assert self.low is not None and self.step is not None
        exact = self.low + self.step * index
        if self.kind == "int":
            return int(exact)
        return float(exact) if self.kind == "float" else exact

    def describe(self) -> str:
        if self.kind == "choice":
            return ",".join(str(c) for c in self.choices)
        return f"{self.low}..{self.high} step {self.step} ({self.count} values)"


@dataclass(frozen=True)
class _Setting:
    kind: str  # int | decimal | float | bool | literal | str | any
    adapter: TypeAdapter[Any] | None  # the field's own checks (ge, gt, ...), not the model's
    literals: tuple[Any, ...] = ()


def _leaf_kind(annotation: Any) -> tuple[str, tuple[Any, ...]]:
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _leaf_kind(inner[0]) if len(inner) == 1 else ("any", ())
    if typing.get_origin(annotation) is Literal:
        return "literal", args
    if typing.get_origin(annotation) is typing.Annotated:
        return _leaf_kind(args[0])
    if annotation is bool:
        return "bool", ()
    if annotation is int:
        return "int", ()
    if annotation is float:
        return "float", ()
    if annotation is Decimal:
        return "decimal", ()
    if annotation is str:
        return "str", ()
    return "other", ()


def _model_of(annotation: Any) -> type[BaseModel] | None:
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def settings(config: BotConfig) -> dict[str, _Setting]:
    """Every setting --param may vary in this config, by path."""
    found: dict[str, _Setting] = {}
    sections = [config.strategy] if config.strategy in ("grid", "dca", "ma_cross") else []
    for section in [*sections, "risk"]:
        model = _model_of(BotConfig.model_fields[section].annotation)
        assert model is not None
        for name, field in model.model_fields.items():
            kind, literals = _leaf_kind(field.annotation)
            if kind in ("other", "str", "any"):
                continue  # dicts, lists, free text: not a searchable value
            annotated = (
                typing.Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation
            )
            adapter = TypeAdapter(annotated)
            found[f"{section}.{name}"] = _Setting(kind, adapter, literals)
    for key, value in config.params.items():
        kind = _value_kind(value)
        if kind != "other":
            found[f"params.{key}"] = _Setting(kind, None)
    return found


def _value_kind(value: Any) -> str:
    """A strategy file's own setting: typed by the value the config gives it."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        try:
            Decimal(value)
            return "decimal"  # numbers written as strings, as okxbot's configs do for money
        except InvalidOperation:
            return "str"
    return "other"


def _number(text: str, path: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise SearchSpaceError(
            f"--param {path}: {text.strip()!r} is not a number", f"write it as {path}=LOW..HIGH, e.g. 5..30"
        )
    return value


def _finest_step(*values: Decimal) -> Decimal:
    exponent = min(int(v.as_tuple().exponent) for v in values)  # type: ignore[arg-type]
    return Decimal(1).scaleb(min(exponent, 0))


def parse_param(text: str, config: BotConfig) -> ParamSpec:
    """One --param PATH=SPEC, checked against the config's settings and each setting's own limits."""
    if "=" not in text:
        raise SearchSpaceError(
            f"--param {text!r} has no '='", "write --param PATH=LOW..HIGH, e.g. --param grid.levels=5..30"
        )
    path, spec = (part.strip() for part in text.split("=", 1))
    known = settings(config)
    if path not in known:
        listed = ", ".join(sorted(known)) or "(none)"
        raise SearchSpaceError(
            f"--param {path}: this config has no setting {path!r} to vary", f"use one of: {listed}"
        )
    setting = known[path]
    if ".." in spec:
        param = _range(path, spec, setting)
        ends = [param.value(0), param.value(param.count - 1)]
    else:
        choices = tuple(_choice(path, c.strip(), setting) for c in spec.split(",") if c.strip())
        if not choices:
            raise SearchSpaceError(
                f"--param {path}: no values given", f"write {path}=LOW..HIGH or {path}=A,B,C"
            )
        param, ends = ParamSpec(path, "choice", choices=choices), list(choices)
    if setting.adapter is not None:
        for value in ends:
            try:
                setting.adapter.validate_python(value)
            except ValidationError as err:
                raise SearchSpaceError(
                    f"--param {path}: {value} is not allowed ({err.errors()[0]['msg']})",
                    f"keep the range of {path} inside what the setting accepts",
                ) from None
    return param


def _range(path: str, spec: str, setting: _Setting) -> ParamSpec:
    if setting.kind not in NUMERIC:
        raise SearchSpaceError(
            f"--param {path}: a range needs a number setting, {path} is {setting.kind}",
            f"list its values instead: {path}="
            + ",".join(str(v) for v in setting.literals or ("true", "false")),
        )
    bounds, _, step_text = spec.partition(":")
    low_text, _, high_text = bounds.partition("..")
    low, high = _number(low_text, path), _number(high_text, path)
    if low > high:
        raise SearchSpaceError(
            f"--param {path}: {low}..{high} is empty (low above high)", f"write {path}={high}..{low}"
        )
    step = _number(step_text, path) if step_text else None
    if step is not None and step <= 0:
        raise SearchSpaceError(f"--param {path}: step {step} must be above 0", f"e.g. {path}={low}..{high}:1")
    if setting.kind == "int":
        if any(v != v.to_integral_value() for v in (low, high, step or Decimal(1))):
            raise SearchSpaceError(
                f"--param {path}: {path} is a whole number, {spec} is not", f"e.g. {path}=5..30 or 5..30:5"
            )
        step = step or Decimal(1)
    step = step or _finest_step(low, high)
    return ParamSpec(path, setting.kind, low, high, step)


def _choice(path: str, text: str, setting: _Setting) -> Any:
    kind = setting.kind
    if kind == "bool":
        if text.lower() not in ("true", "false"):
            raise SearchSpaceError(
                f"--param {path}: {text!r} is not true or false", f"write {path}=true,false"
            )
        return text.lower() == "true"
    if kind == "literal":
        if text not in [str(v) for v in setting.literals]:
            allowed = ",".join(str(v) for v in setting.literals)
            raise SearchSpaceError(
                f"--param {path}: {text!r} is not one of {allowed}", f"choose from {allowed}"
            )
        return next(v for v in setting.literals if str(v) == text)
    if kind in NUMERIC:
        number = _number(text, path)
        if kind == "int":
            if number != number.to_integral_value():
                raise SearchSpaceError(
                    f"--param {path}: {text} is not a whole number", f"e.g. {path}=5,10,20"
                )
            return int(number)
        return float(number) if kind == "float" else number
    return text


def parse_params(texts: list[str], config: BotConfig) -> list[ParamSpec]:
    if not texts:
        raise SearchSpaceError(
            "no --param given: nothing to search",
            "name what varies, e.g. --param grid.levels=5..30; this config can vary: "
            + ", ".join(sorted(settings(config))),
        )
    specs = [parse_param(t, config) for t in texts]
    seen: set[str] = set()
    for spec in specs:
        if spec.path in seen:
            raise SearchSpaceError(f"--param {spec.path} is given twice", "keep one range per setting")
        seen.add(spec.path)
    return specs


def toml_value(value: Any) -> Any:
    """A value as the config's TOML holds it (Decimals as strings, like okxbot's examples)."""
    return str(value) if isinstance(value, Decimal) else value


def apply(config_text: str, values: dict[str, Any], path: str = "<config>") -> BotConfig:
    """The config with `values` ({"grid.levels": 12, ...}) set; InvalidCombination if they clash."""
    raw = tomllib.loads(config_text)
    for dotted, value in values.items():
        node = raw
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = toml_value(value)
    try:
        return BotConfig.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise InvalidCombination(f"{where}: {message}" if where else message) from None
