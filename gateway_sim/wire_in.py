"""Field-order maps for the write requests ib_async sends (placeOrder, cancelOrder)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

from gateway_sim.protocol import parse_decimal, parse_int

Parsed = dict[str, str]
Predicate = Callable[[int, Parsed], bool]


class UnsupportedOrderError(ValueError):
    """The order is well-formed but uses a feature the simulator does not model."""


@dataclass(frozen=True)
class Fields:
    """Names read in order when the predicate holds for (server version, fields so far)."""

    names: tuple[str, ...]
    when: Predicate = lambda _v, _p: True


@dataclass(frozen=True)
class Repeat:
    """A count field followed by that many groups of names (kept as name.i entries)."""

    count: str
    names: tuple[str, ...]
    when: Predicate = lambda _v, _p: True


Step = Fields | Repeat

_CONTRACT = (
    "con_id", "symbol", "sec_type", "last_trade_date", "strike", "right", "multiplier",
    "exchange", "primary_exchange", "currency", "local_symbol", "trading_class",
)  # fmt: skip


def _is_bag(_v: int, p: Parsed) -> bool:
    return p["sec_type"] == "BAG"


def _scale_increment_set(_v: int, p: Parsed) -> bool:
    value = parse_decimal(p["scale_price_increment"])
    return value is not None and value > 0


def _order_type_in(*types: str) -> Predicate:
    return lambda _v, p: p["order_type"] in types


def _since(version: int) -> Predicate:
    return lambda v, _p: v >= version


# Mirrors ib_async 2.1.0 Client.placeOrder line by line; a drift makes the exact-length
# check in parse_place_order fail loudly instead of silently mis-assigning fields.
PLACE_ORDER_LAYOUT: tuple[Step, ...] = (
    Fields(("order_id", *_CONTRACT, "sec_id_type", "sec_id", "action", "total_quantity",
            "order_type", "lmt_price", "aux_price", "tif", "oca_group", "account", "open_close",
            "origin", "order_ref", "transmit", "parent_id", "block_order", "sweep_to_fill",
            "display_size", "trigger_method", "outside_rth", "hidden")),
    Repeat("num_combo_legs", ("leg_con_id", "leg_ratio", "leg_action", "leg_exchange",
                              "leg_open_close", "leg_short_sale_slot",
                              "leg_designated_location", "leg_exempt_code"), _is_bag),
    Repeat("num_order_combo_legs", ("leg_price",), _is_bag),
    Repeat("num_smart_combo_routing_params", ("tag", "value"), _is_bag),
    Fields(("shares_allocation", "discretionary_amt", "good_after_time", "good_till_date",
            "fa_group", "fa_method", "fa_percentage")),
    Fields(("fa_profile",), lambda v, _p: v < 177),
    Fields(("model_code", "short_sale_slot", "designated_location", "exempt_code", "oca_type",
            "rule80a", "settling_firm", "all_or_none", "min_qty", "percent_offset",
            "e_trade_only", "firm_quote_only", "nbbo_price_cap", "auction_strategy",
            "starting_price", "stock_ref_price", "delta", "stock_range_lower",
            "stock_range_upper", "override_percentage_constraints", "volatility",
            "volatility_type", "delta_neutral_order_type", "delta_neutral_aux_price")),
    Fields(("dn_con_id", "dn_settling_firm", "dn_clearing_account", "dn_clearing_intent",
            "dn_open_close", "dn_short_sale", "dn_short_sale_slot", "dn_designated_location"),
           lambda _v, p: p["delta_neutral_order_type"] != ""),
    Fields(("continuous_update", "reference_price_type", "trail_stop_price", "trailing_percent",
            "scale_init_level_size", "scale_subs_level_size", "scale_price_increment")),
    Fields(("scale_price_adjust_value", "scale_price_adjust_interval", "scale_profit_offset",
            "scale_auto_reset", "scale_init_position", "scale_init_fill_qty",
            "scale_random_percent"), _scale_increment_set),
    Fields(("scale_table", "active_start_time", "active_stop_time", "hedge_type")),
    Fields(("hedge_param",), lambda _v, p: p["hedge_type"] != ""),
    Fields(("opt_out_smart_routing", "clearing_account", "clearing_intent", "not_held",
            "dnc_present")),
    Fields(("dnc_con_id", "dnc_delta", "dnc_price"), lambda _v, p: p["dnc_present"] == "1"),
    Fields(("algo_strategy",)),
    Repeat("num_algo_params", ("tag", "value"), lambda _v, p: p["algo_strategy"] != ""),
    Fields(("algo_id", "what_if", "order_misc_options", "solicited", "randomize_size",
            "randomize_price")),
    Fields(("reference_contract_id", "is_pegged_change_amount_decrease",
            "pegged_change_amount", "reference_change_amount", "reference_exchange_id"),
           _order_type_in("PEG BENCH", "PEGBENCH")),
    Fields(("num_conditions",)),
    Fields(("adjusted_order_type", "trigger_price", "lmt_price_offset", "adjusted_stop_price",
            "adjusted_stop_limit_price", "adjusted_trailing_amount",
            "adjustable_trailing_unit", "ext_operator", "soft_dollar_tier_name",
            "soft_dollar_tier_value", "cash_qty", "mifid2_decision_maker",
            "mifid2_decision_algo", "mifid2_execution_trader", "mifid2_execution_algo",
            "dont_use_auto_price_for_hedge", "is_oms_container",
            "discretionary_up_to_limit_price", "use_price_mgmt_algo")),
    Fields(("duration",), _since(158)),
    Fields(("post_to_ats",), _since(160)),
    Fields(("auto_cancel_parent",), _since(162)),
    Fields(("advanced_error_override",), _since(166)),
    Fields(("manual_order_time",), _since(169)),
    Fields(("min_trade_qty",), lambda v, p: v >= 170 and p["exchange"] == "IBKRATS"),
    Fields(("min_compete_size", "compete_against_best_offset"),
           lambda v, p: v >= 170 and p["order_type"] in ("PEG BEST", "PEGBEST")),
    Fields(("mid_offset_at_whole", "mid_offset_at_half"),
           lambda v, p: v >= 170 and p["order_type"] in ("PEG BEST", "PEGBEST")
           and p["compete_against_best_offset"] == "Infinite"),
    Fields(("mid_offset_at_whole", "mid_offset_at_half"),
           lambda v, p: v >= 170 and p["order_type"] in ("PEG MID", "PEGMID")),
)  # fmt: skip

MAX_REPEAT = 64

# The layout as (when, names, ends_with_conditions_count, repeat) rows, worked out once: this
# runs for every placeOrder. Exactly one of names / repeat is set.
_PLAN: tuple[tuple[Predicate, tuple[str, ...] | None, bool, Repeat | None], ...] = tuple(
    (step.when, step.names, "num_conditions" in step.names, None)
    if isinstance(step, Fields)
    else (step.when, None, False, step)
    for step in PLACE_ORDER_LAYOUT
)


def parse_place_order(fields: list[str], version: int) -> Parsed:
    """Map a PLACE_ORDER message (fields[0] == '3') to named fields for the given version."""
    parsed: Parsed = {}
    pos = 1
    for when, names, has_conditions, repeat in _PLAN:
        if not when(version, parsed):
            continue
        if repeat is not None:
            pos = _take_repeat(fields, version, parsed, pos, repeat)
            continue
        assert names is not None
        # A whole step at once; same result and error as taking its names one by one.
        end = pos + len(names)
        if end > len(fields):
            _ended_before(names[len(fields) - pos], version)
        parsed.update(zip(names, fields[pos:end], strict=False))  # same length: checked above
        pos = end
        if has_conditions and parse_int(parsed["num_conditions"]) > 0:
            raise UnsupportedOrderError("order conditions are not simulated")
    if pos != len(fields):
        raise ValueError(
            f"placeOrder has {len(fields) - pos} unexpected trailing fields (v{version})"
        )
    return parsed


def _take_repeat(fields: list[str], version: int, parsed: Parsed, pos: int, step: Repeat) -> int:
    """Read a count field and that many groups of step's names; returns the next position."""
    names = [step.count]
    if pos < len(fields):
        count = parse_int(fields[pos])
        if not 0 <= count <= MAX_REPEAT:
            raise ValueError(f"{step.count}={count} out of range")
        names += [f"{step.count}.{i}.{name}" for i in range(count) for name in step.names]
    for name in names:
        if pos >= len(fields):
            _ended_before(name, version)
        parsed[name] = fields[pos]
        pos += 1
    return pos


def _ended_before(name: str, version: int) -> NoReturn:
    raise ValueError(f"placeOrder ended before field {name!r} (v{version})")


def parse_cancel_order(fields: list[str], version: int) -> tuple[int, str]:
    """Return (order_id, manual_cancel_order_time) from a CANCEL_ORDER message."""
    expected = 4 if version >= 169 else 3
    if len(fields) != expected:
        raise ValueError(f"cancelOrder has {len(fields)} fields, expected {expected}")
    return parse_int(fields[2]), fields[3] if version >= 169 else ""
