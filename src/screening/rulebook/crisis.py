"""Crisis contacts: the numbers a participant's copy gives when their answers report harm.

Data, not code (rules/crisis-contacts.yaml), so a program or practice picks the locale its
participants live in. Each number names its source page and says whether it was read there;
the file is validated with the rulebook, so a copy never prints a number without a source.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import Problem

__all__ = ["CRISIS_FILE", "CrisisLine", "CrisisContacts", "CrisisFile", "parse_crisis_file"]

CRISIS_FILE = "crisis-contacts.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CrisisLine(_Strict):
    name: str = Field(min_length=2, description="The service, as it names itself.")
    number: str = Field(pattern=r"^[0-9][0-9 -]*[0-9]$", description="The number to call, as written locally.")
    how: str = Field(min_length=5, description="How and when it can be reached, in plain words.")
    source: str = Field(pattern=r"^https?://\S+$", description="The page the number comes from.")
    verified: bool = Field(description="Whether the number was read on that (primary) page.")
    note: str = Field(min_length=10, description="Where the number was read, or why it was not.")


class CrisisContacts(_Strict):
    locale: str = Field(description="The locale's key in rules/crisis-contacts.yaml.")
    name: str = Field(min_length=2, description="Where these numbers apply, as the copy says it.")
    contacts: list[CrisisLine] = Field(min_length=1)


class _Locale(_Strict):
    name: str = Field(min_length=2)
    contacts: list[CrisisLine] = Field(min_length=1)


class CrisisFile(_Strict):
    default_locale: str
    locales: dict[str, _Locale] = Field(min_length=1)

    @field_validator("locales")
    @classmethod
    def _keys(cls, value: dict[str, _Locale]) -> dict[str, _Locale]:
        bad = [key for key in value if not key.replace("-", "").isalnum() or key != key.lower()]
        if bad:
            raise ValueError(f"locale keys are lower-case words (such as nl, us, gb): {', '.join(bad)}")
        return value

    def contacts_for(self, locale: str | None) -> CrisisContacts:
        """The contacts of ``locale`` (a program's ``crisis_locale``), or of the default locale."""
        key = locale or self.default_locale
        entry = self.locales[key]
        return CrisisContacts(locale=key, name=entry.name, contacts=entry.contacts)


def parse_crisis_file(data: Any, problems: list[Problem]) -> CrisisFile | None:
    """The validated crisis-contacts file, or None with its problems added."""
    try:
        parsed = CrisisFile.model_validate(data)
    except ValidationError as error:
        for item in error.errors():
            where = ".".join(str(p) for p in item["loc"])
            problems.append(Problem(CRISIS_FILE, None, f"{where}: {item['msg']}"))
        return None
    if parsed.default_locale not in parsed.locales:
        problems.append(Problem(CRISIS_FILE, None, f"default_locale {parsed.default_locale!r} is not one of the locales listed"))
        return None
    return parsed
