"""The portal operator's public information (the company that runs the ERP)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Office:
    code: str
    name: str
    city: str
    currency: str


@dataclass(frozen=True)
class Company:
    name: str
    tagline: str
    address: str
    phone: str
    email: str
    hours: str
    offices: tuple[Office, ...]


COMPANY = Company(
    name="Contoso Entertainment Systems",
    tagline="Audio, video and stage equipment for retailers and installers in the US and Europe.",
    address="123 Coffman Street, Redmond, WA 98052, USA",
    phone="+1 425 555 0100",
    email="orders@contoso.example",
    hours="Customer service: Monday to Friday, 8:00 to 18:00 (your local office time)",
    offices=(
        Office("USMF", "Contoso Entertainment Systems USA", "Redmond, United States", "USD"),
        Office("DEMF", "Contoso Entertainment Systems Deutschland", "Frankfurt am Main, Germany", "EUR"),
        Office("GBSI", "Contoso Europe Ltd", "London, United Kingdom", "GBP"),
    ),
)
