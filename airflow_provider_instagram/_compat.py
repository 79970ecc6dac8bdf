"""Small shims over the standard library."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")


class cached_property(Generic[T]):
    """``functools.cached_property`` without the lock Python 3.11 holds around every first computation.

    That lock belongs to the class attribute, so on 3.11 it serialises all instances: threads each building
    their own hook waited for one another (3.12 removed it). A race on one instance only computes twice.
    """

    def __init__(self, func: Callable[[Any], T]) -> None:
        self.func = func
        self.attrname = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.attrname = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> cached_property[T]: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T: ...

    def __get__(self, instance: object | None, owner: type | None = None) -> T | cached_property[T]:
        if instance is None:
            return self
        value = self.func(instance)
        instance.__dict__[self.attrname] = value  # an instance attribute now shadows this non-data descriptor
        return value
