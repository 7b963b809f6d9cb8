"""The portal operator's public information (the company that runs the ERP)."""

COMPANY = {
    "name": "Contoso Entertainment Systems",
    "tagline": "Audio, video and stage equipment for retailers and installers in the US and Europe.",
    "address": "123 Coffman Street, Redmond, WA 98052, USA",
    "phone": "+1 425 555 0100",
    "email": "orders@contoso.example",
    "hours": "Customer service: Monday to Friday, 8:00 to 18:00 (your local office time)",
    "offices": (
        ("USMF", "Contoso Entertainment Systems USA", "Redmond, United States", "USD"),
        ("DEMF", "Contoso Entertainment Systems Deutschland", "Frankfurt am Main, Germany", "EUR"),
        ("GBSI", "Contoso Europe Ltd", "London, United Kingdom", "GBP"),
    ),
}
