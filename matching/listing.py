"""The facts of one listing as the analysis sees them, whatever channel brought them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Listing:
    """A listing to analyse: the text a reporter saw plus what they told us about it.

    Every field but `text` is optional; an empty string means "not given". Country codes
    are ISO 3166-1 alpha-2, upper case, already validated by the caller.
    """

    text: str = ""
    title: str = ""
    url: str = ""
    seller: str = ""
    seller_location: str = ""
    ships_to: str = ""
    price: str = ""
    currency: str = ""
    reporter_country: str = ""

    @property
    def full_text(self) -> str:
        """Title and body together, as a reader of the listing sees them: the parts given,
        one a line (a conditional concatenation, several times faster than a join of a
        generator; it is read several times per listing)."""
        if self.title and self.text:
            return self.title + "\n" + self.text
        return self.title or self.text
