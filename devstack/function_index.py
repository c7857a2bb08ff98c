"""Reads a `func.FunctionApp` the way the Python worker indexes it and describes what to serve.

Every function becomes a typed descriptor for its trigger. Functions the local host cannot run
(unknown trigger kinds, extra bindings, invalid routes or schedules) are reported and skipped, so
one of them does not stop the others from running, as with the real host.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import azure.functions as func
from azure.functions.decorators.core import Trigger

from devstack.ncrontab import CronSchedule, IntervalSchedule, parse_schedule
from devstack.routing import RouteTemplate, RouteTemplateError

logger = logging.getLogger(__name__)

HTTP_TRIGGER = "httpTrigger"
TIMER_TRIGGER = "timerTrigger"
SERVICE_BUS_TRIGGER = "serviceBusTrigger"
_HTTP_OUTPUT = "http"
_RETURN_BINDING = "$return"


@dataclass(frozen=True)
class HttpFunction:
    name: str
    route: RouteTemplate
    methods: frozenset[str] | None
    auth_level: str
    param_name: str
    callable: Callable[..., Any] = field(repr=False)

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.callable)


@dataclass(frozen=True)
class TimerFunction:
    name: str
    schedule: CronSchedule | IntervalSchedule
    run_on_startup: bool
    param_name: str
    callable: Callable[..., Any] = field(repr=False)

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.callable)


@dataclass(frozen=True)
class ServiceBusQueueFunction:
    name: str
    queue_name: str
    connection: str
    is_sessions_enabled: bool
    param_name: str
    callable: Callable[..., Any] = field(repr=False)

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.callable)


@dataclass(frozen=True)
class SkippedFunction:
    name: str
    reason: str


@dataclass(frozen=True)
class FunctionIndex:
    http: tuple[HttpFunction, ...] = ()
    timers: tuple[TimerFunction, ...] = ()
    service_bus: tuple[ServiceBusQueueFunction, ...] = ()
    skipped: tuple[SkippedFunction, ...] = ()


class UnsupportedFunctionError(ValueError):
    """A function the local host cannot run; the message says why."""


def index_functions(app: func.FunctionApp) -> FunctionIndex:
    """Describe every function of `app`; log and skip those the local host cannot run."""
    # get_functions() remembers the names it has seen and refuses them on a second call, so a second
    # indexing of the same app (tests, restarts) would fail unless that memory is cleared.
    app.functions_bindings = None
    http: list[HttpFunction] = []
    timers: list[TimerFunction] = []
    service_bus: list[ServiceBusQueueFunction] = []
    skipped: list[SkippedFunction] = []
    for function in app.get_functions():
        name = function.get_function_name() or function.get_user_function().__name__
        try:
            descriptor = describe_function(name, function)
        except UnsupportedFunctionError as error:
            logger.error("Function %s is not loaded: %s", name, error)
            skipped.append(SkippedFunction(name, str(error)))
            continue
        if isinstance(descriptor, HttpFunction):
            http.append(descriptor)
        elif isinstance(descriptor, TimerFunction):
            timers.append(descriptor)
        else:
            service_bus.append(descriptor)
    return FunctionIndex(tuple(http), tuple(timers), tuple(service_bus), tuple(skipped))


def describe_function(
    name: str, function: func.Function
) -> HttpFunction | TimerFunction | ServiceBusQueueFunction:
    trigger = function.get_trigger()
    if trigger is None:
        raise UnsupportedFunctionError("it has no trigger")
    user_function = function.get_user_function()
    param_name = str(trigger.name)
    _check_bindings(function, trigger, user_function)
    trigger_type = str(trigger.type)
    if trigger_type == HTTP_TRIGGER:
        return _http_function(name, trigger, param_name, user_function)
    if trigger_type == TIMER_TRIGGER:
        return _timer_function(name, trigger, param_name, user_function)
    if trigger_type == SERVICE_BUS_TRIGGER and _attribute(trigger, "queue_name") is not None:
        return ServiceBusQueueFunction(
            name=name,
            queue_name=_required_text(trigger, "queue_name"),
            connection=_required_text(trigger, "connection"),
            is_sessions_enabled=bool(_attribute(trigger, "is_sessions_enabled")),
            param_name=param_name,
            callable=user_function,
        )
    kind = "serviceBusTrigger on a topic" if trigger_type == SERVICE_BUS_TRIGGER else trigger_type
    raise UnsupportedFunctionError(f"the local host does not run {kind} triggers")


def _http_function(
    name: str, trigger: Trigger, param_name: str, user_function: Callable[..., Any]
) -> HttpFunction:
    route_text = _attribute(trigger, "route")
    try:
        route = RouteTemplate.parse(name if route_text is None else str(route_text))
    except RouteTemplateError as error:
        raise UnsupportedFunctionError(str(error)) from error
    methods = _attribute(trigger, "methods")
    return HttpFunction(
        name=name,
        route=route,
        methods=None if methods is None else frozenset(_text(method).upper() for method in methods),
        auth_level=_text(_attribute(trigger, "auth_level") or func.AuthLevel.FUNCTION),
        param_name=param_name,
        callable=user_function,
    )


def _timer_function(
    name: str, trigger: Trigger, param_name: str, user_function: Callable[..., Any]
) -> TimerFunction:
    try:
        schedule = parse_schedule(_required_text(trigger, "schedule"))
    except ValueError as error:
        raise UnsupportedFunctionError(str(error)) from error
    return TimerFunction(
        name=name,
        schedule=schedule,
        run_on_startup=bool(_attribute(trigger, "run_on_startup")),
        param_name=param_name,
        callable=user_function,
    )


def _check_bindings(function: func.Function, trigger: Trigger, user_function: Callable[..., Any]) -> None:
    for binding in function.get_bindings():
        if binding is trigger:
            continue
        if binding.type == _HTTP_OUTPUT and binding.name == _RETURN_BINDING:
            continue
        raise UnsupportedFunctionError(
            f"binding {binding.name!r} ({binding.type}) is not supported by the local host; "
            "use the SDK clients from shared/ instead of bindings"
        )
    parameters = inspect.signature(user_function).parameters
    if trigger.name not in parameters:
        raise UnsupportedFunctionError(f"it has no parameter named {trigger.name!r} for its trigger")
    others = [
        parameter
        for parameter in parameters.values()
        if parameter.name != trigger.name and parameter.default is inspect.Parameter.empty
    ]
    if others:
        names = ", ".join(parameter.name for parameter in others)
        raise UnsupportedFunctionError(f"parameter(s) {names} have no binding the local host can supply")


def _attribute(trigger: Trigger, name: str) -> Any:
    return getattr(trigger, name, None)


def _required_text(trigger: Trigger, name: str) -> str:
    value = _attribute(trigger, name)
    if value is None or _text(value) == "":
        raise UnsupportedFunctionError(f"its trigger has no {name}")
    return _text(value)


def _text(value: object) -> str:
    """Enum members (HttpMethod, AuthLevel) by their value, anything else as text."""
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)
