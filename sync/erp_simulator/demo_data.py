"""Fixed tables behind the demo data: companies, countries, product groups, statuses, demo contacts."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

DEMO_ACCOUNT_A = ("USMF", "US-001")
DEMO_ACCOUNT_B = ("DEMF", "DE-001")


@dataclass(frozen=True)
class DemoContact:
    """A fixed contact the portal's demo sign-ins are made for."""

    email: str
    data_area_id: str
    account: str
    contact_person_id: str
    first_name: str
    last_name: str
    role: str  # "representative" or "user"


DEMO_CONTACTS: tuple[DemoContact, ...] = (
    DemoContact("rep1@portal.demo", "USMF", "US-001", "CP-000001", "Morgan", "Reed", "representative"),
    DemoContact("user1a@portal.demo", "USMF", "US-001", "CP-000002", "Alex", "Carter", "user"),
    DemoContact("user1b@portal.demo", "USMF", "US-001", "CP-000003", "Jamie", "Brooks", "user"),
    DemoContact("rep2@portal.demo", "DEMF", "DE-001", "CP-000004", "Katrin", "Vogel", "representative"),
    DemoContact("user2a@portal.demo", "DEMF", "DE-001", "CP-000005", "Jonas", "Becker", "user"),
)
DEMO_CONTACT_EMAILS: dict[str, str] = {c.email: c.account for c in DEMO_CONTACTS}
#: One account per company has no price list: "missing setup" for readiness demos.
ACCOUNTS_WITHOUT_PRICE_GROUP = (("USMF", "US-030"), ("DEMF", "DE-020"), ("GBSI", "GB-014"))

#: Dual-write processing status -> (SalesOrderStatus, DocumentStatus).
PROCESSING_STATUSES: dict[str, tuple[str, str]] = {
    "Active": ("Backorder", "None"),
    "Confirmed": ("Backorder", "Confirmation"),
    "Picked": ("Backorder", "PickingList"),
    "PartiallyDelivered": ("Backorder", "PackingSlip"),
    "Delivered": ("Delivered", "PackingSlip"),
    "PartiallyInvoiced": ("Delivered", "Invoice"),
    "Invoiced": ("Invoiced", "Invoice"),
    "Canceled": ("Canceled", "None"),
}
#: Processing status -> (status of the lines that moved on, status of the others).
LINE_STATUSES: dict[str, tuple[str, str]] = {
    "Active": ("Backorder", "Backorder"),
    "Confirmed": ("Backorder", "Backorder"),
    "Picked": ("Backorder", "Backorder"),
    "PartiallyDelivered": ("Delivered", "Backorder"),
    "Delivered": ("Delivered", "Delivered"),
    "PartiallyInvoiced": ("Invoiced", "Delivered"),
    "Invoiced": ("Invoiced", "Invoiced"),
    "Canceled": ("Canceled", "Canceled"),
}
PARTIAL_STATUSES = ("PartiallyDelivered", "PartiallyInvoiced")
UNCONFIRMED_STATUSES = ("Active", "Canceled")

HISTORY_DAYS = 730
CHUNK_ORDERS = 5000
CENT = Decimal("0.01")

# fmt: off
LEGAL_ENTITIES = (
    ("USMF", "Contoso Entertainment Systems USA", "USD", "en-us", "USA"),
    ("DEMF", "Contoso Entertainment Systems Deutschland", "EUR", "de", "DEU"),
    ("GBSI", "Contoso Europe Ltd", "GBP", "en-gb", "GBR"),
)
# company -> (account prefix, number of accounts, share of orders, fixed first name, price groups)
COMPANY_SETUP: dict[str, tuple[str, int, float, str, tuple[str, ...]]] = {
    "USMF": ("US-", 30, 0.5, "Forest Wholesales Inc.", ("USD-RETAIL", "USD-WHOLESALE")),
    "DEMF": ("DE-", 20, 0.3, "Alpen Elektronik GmbH", ("EUR-STD",)),
    "GBSI": ("GB-", 14, 0.2, "Thames Trading Ltd", ("GBP-STD",)),
}
PRICE_GROUPS = (
    ("USMF", "USD-RETAIL", "Retail price list USD", "USD", Decimal("1.00")),
    ("USMF", "USD-WHOLESALE", "Wholesale price list USD", "USD", Decimal("0.85")),
    ("DEMF", "EUR-STD", "Standardpreisliste EUR", "EUR", Decimal("0.92")),
    ("GBSI", "GBP-STD", "Standard price list GBP", "GBP", Decimal("0.79")),
)
# country -> (cities with postcode prefixes, streets, name words, name kinds, legal forms, TLD,
#             first names, last names, address descriptions)
COUNTRIES: dict[str, dict[str, tuple[str, ...]]] = {
    "USA": {
        "cities": ("Chicago:606", "Seattle:981", "Austin:787", "Denver:802", "Boston:021",
                   "Atlanta:303", "Phoenix:850", "Portland:972", "Columbus:432", "Minneapolis:554"),
        "streets": ("Main Street", "Oak Avenue", "Maple Drive", "Lake Shore Drive", "Elm Street",
                    "Industrial Parkway", "Commerce Boulevard", "Washington Avenue"),
        "words": ("Lakeside", "Summit", "Pioneer", "Blue Ridge", "Harbor", "Prairie", "Redwood",
                  "Silverline", "Cascade", "Evergreen", "Granite", "Liberty", "Keystone", "Northwind"),
        "kinds": ("Traders", "Electronics", "Supply", "Distribution", "Retail", "Systems", "Audio",
                  "Media", "Outfitters"),
        "forms": ("Inc.", "LLC", "Corp.", "Co."),
        "tld": ("com",),
        "first": ("James", "Mary", "Robert", "Linda", "Michael", "Sarah", "David", "Karen",
                  "Daniel", "Emily", "Kevin", "Laura", "Brian", "Megan", "Jason", "Rachel"),
        "last": ("Smith", "Johnson", "Williams", "Brown", "Miller", "Davis", "Garcia", "Wilson",
                 "Anderson", "Taylor", "Thomas", "Moore", "Martin", "Jackson", "White", "Harris"),
        "places": ("Headquarters", "Warehouse", "Distribution center", "Store"),
    },
    "DEU": {
        "cities": ("Berlin:10", "München:80", "Hamburg:20", "Köln:50", "Frankfurt am Main:60",
                   "Stuttgart:70", "Düsseldorf:40", "Leipzig:04", "Hannover:30", "Nürnberg:90"),
        "streets": ("Hauptstraße", "Bahnhofstraße", "Industriestraße", "Gartenweg", "Lindenallee",
                    "Schillerstraße", "Goethestraße", "Am Markt"),
        "words": ("Rhein", "Nordsee", "Elbe", "Schwarzwald", "Bavaria", "Spree", "Main", "Harz",
                  "Mosel", "Isar", "Donau", "Weser", "Ostsee", "Taunus"),
        "kinds": ("Handel", "Elektronik", "Vertrieb", "Technik", "Medien", "Versand", "Audio",
                  "Systeme"),
        "forms": ("GmbH", "AG", "GmbH & Co. KG", "KG"),
        "tld": ("de",),
        "first": ("Lukas", "Anna", "Felix", "Lena", "Maximilian", "Sophie", "Paul", "Marie",
                  "Tobias", "Julia", "Stefan", "Laura", "Matthias", "Sabine", "Florian", "Katja"),
        "last": ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Schulz",
                 "Hoffmann", "Koch", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Braun"),
        "places": ("Hauptsitz", "Lager", "Verteilzentrum", "Filiale"),
    },
    "GBR": {
        "cities": ("London:EC1A", "Manchester:M1", "Birmingham:B1", "Leeds:LS1", "Bristol:BS1",
                   "Glasgow:G1", "Edinburgh:EH1", "Liverpool:L1", "Sheffield:S1", "Nottingham:NG1"),
        "streets": ("High Street", "Station Road", "Church Lane", "Victoria Road", "Park Road",
                    "Mill Lane", "King Street", "Queens Road"),
        "words": ("Pennine", "Cotswold", "Mersey", "Highland", "Severn", "Windsor", "Kingsway",
                  "Albion", "Cambrian", "Tyne", "Wessex", "Avon", "Chiltern", "Solent"),
        "kinds": ("Trading", "Electronics", "Supplies", "Distribution", "Retail", "Media", "Audio"),
        "forms": ("Ltd", "plc", "Ltd"),
        "tld": ("co.uk",),
        "first": ("Oliver", "Amelia", "Harry", "Isla", "George", "Emily", "Jack", "Sophie",
                  "Charlie", "Grace", "Thomas", "Lucy", "William", "Hannah", "James", "Chloe"),
        "last": ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies",
                 "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green"),
        "places": ("Head office", "Warehouse", "Distribution centre", "Shop"),
    },
}
# group -> (default unit, decimal precision, price range in USD, product kinds, count, extra units)
PRODUCT_GROUPS: dict[str, tuple[str, int, tuple[int, int], tuple[str, ...], int, tuple[int, ...]]] = {
    "TV": ("ea", 0, (299, 2499), ("LED TV 43in", "OLED TV 55in", "QLED TV 65in", "Smart TV 50in",
                                   "4K TV 75in"), 30, (2, 4)),
    "AUDIO": ("ea", 0, (39, 899), ("Bluetooth Speaker", "Soundbar", "Stereo Amplifier",
                                   "Over-Ear Headphones", "Wireless Earbuds", "Subwoofer",
                                   "Turntable", "AV Receiver"), 60, (4, 6, 10, 12)),
    "PROJECTOR": ("ea", 0, (199, 2999), ("Home Cinema Projector", "Portable Projector",
                                         "Projection Screen", "Laser Projector"), 20, (2, 4)),
    "ACCESSORY": ("pcs", 0, (3, 79), ("Wall Mount", "Remote Control", "Battery Pack",
                                      "Power Adapter", "Carrying Case", "Cleaning Cloth", "Stand"),
                  60, (10, 25, 50, 100)),
    "CABLE": ("m", 2, (1, 7), ("HDMI Cable", "Speaker Wire", "Coaxial Cable", "Optical Audio Cable",
                               "Cat6 Network Cable"), 30, (25, 50, 100)),
    "CHEMICAL": ("l", 2, (4, 30), ("Screen Cleaning Fluid", "Contact Cleaner",
                                   "Isopropyl Alcohol"), 20, (6, 12)),
    "MATERIAL": ("kg", 3, (5, 65), ("Packaging Foam", "Thermal Compound", "Solder Wire",
                                    "Damping Granulate"), 20, (5, 10, 25)),
}
BRANDS = ("Contoso", "Fabrikam", "Litware", "Proseware", "Adventure Works", "Northwind",
          "Tailspin", "Wide World")
NOT_RELEASED = {"USMF": 0, "DEMF": 15, "GBSI": 25}
EACH_QUANTITIES = (1, 1, 1, 2, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 50)
LINE_COUNT_WEIGHTS = (10, 14, 18, 20, 16, 12, 10)  # 1..7 lines, mean about 3.9
# (maximum age in days, ((processing status, weight), ...)); older orders use the last row.
STATUS_BY_AGE: tuple[tuple[float, tuple[tuple[str, int], ...]], ...] = (
    (2, (("Active", 45), ("Confirmed", 40), ("Picked", 10), ("Canceled", 5))),
    (5, (("Active", 10), ("Confirmed", 35), ("Picked", 30), ("PartiallyDelivered", 10),
         ("Delivered", 10), ("Canceled", 5))),
    (10, (("Confirmed", 10), ("Picked", 15), ("PartiallyDelivered", 20), ("Delivered", 40),
          ("PartiallyInvoiced", 10), ("Canceled", 5))),
    (30, (("PartiallyDelivered", 5), ("Delivered", 25), ("PartiallyInvoiced", 20),
          ("Invoiced", 44), ("Canceled", 6))),
    (90, (("Delivered", 2), ("PartiallyInvoiced", 3), ("Invoiced", 88), ("Canceled", 7))),
    (float("inf"), (("Invoiced", 93), ("Canceled", 7))),
)
# processing status -> hours from creation to its last change (range)
STATUS_DELAY_HOURS = {
    "Active": (0, 2), "Confirmed": (1, 24), "Picked": (24, 72), "PartiallyDelivered": (48, 168),
    "Delivered": (72, 240), "PartiallyInvoiced": (120, 480), "Invoiced": (168, 720),
    "Canceled": (1, 120),
}
# processing status -> typical age in days, for the few orders forced so every status occurs
FORCED_STATUS_AGES = {
    "Active": 0.5, "Confirmed": 2, "Picked": 4, "PartiallyDelivered": 7, "Canceled": 9,
    "Delivered": 12, "PartiallyInvoiced": 20, "Invoiced": 35,
}
# demo e-mail -> (share of all orders, minimum number of portal orders)
DEMO_ORDER_QUOTAS = {
    "user1a@portal.demo": (1 / 200, 12), "user1b@portal.demo": (1 / 400, 12),
    "user2a@portal.demo": (1 / 300, 12), "rep1@portal.demo": (1 / 2000, 3),
    "rep2@portal.demo": (1 / 2000, 3),
}
ORDERS_PER_EXTRA_ACCOUNT = 500  # large stores get thousands of accounts
US001_SHARE = 0.03  # of the orders not reserved for demo contacts
# fmt: on
