"""The sample data the tests use, built in the repo: no test depends on ../shared being checked out.

`products_csv()` is the seeded generator of ../shared/data/products_2k.csv (make_products.py, with the
seed that file was made with), so the same 2,000 rows come out byte for byte; `reddit_threads_csv()`
is the studio's own demo data set (studio/demo). `sample_dir()` writes both where a path is needed.
"""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path

DEMO_CSV = Path(__file__).resolve().parents[1] / "studio" / "demo" / "reddit_threads_sample.csv"  # studio.demo.CSV

PRODUCTS_2K_SHA256 = "2b0cfb022453b651f50f2b5bbb0dd0d3def6f7682bf2c30d1869a52db5feec33"

ADJ = ["Classic", "Ultra", "Pro", "Lite", "Vintage", "Smart", "Eco", "Urban", "Trail",
       "Premium", "Compact", "Deluxe", "Everyday", "Nordic", "Retro", "Café"]
NOUN = {
    "shoes": ["Running Shoe", "Trail Runner", "Leather Boot", "Sneaker", "Sandal", "Hiking Boot"],
    "electronics": ["Headphones", "Bluetooth Speaker", "Smartwatch", "E-Reader", "Webcam", "Drone"],
    "books": ["Cookbook", "Travel Guide", "Graphic Novel", "Poetry Collection", "Atlas"],
    "home": ["Espresso Machine", "Weißbier Glass Set", "Desk Lamp", "Air Purifier", "Rug"],
    "toys": ["Puzzle", "Building Kit", "Plush Bear", "Board Game", "RC Car"],
    "outdoor": ["Tent", "Sleeping Bag", "Backpack", "Camping Stove", "Kayak Paddle"],
}
CATS = list(NOUN)
BRANDS = ["Acme", "Northwind", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli",
          "Vandelay", "Soylent", "Tyrell", "Cyberdyne", "Müller & Söhne"]
CITIES = ["New York", "Los Angeles", "Chicago", "Houston", "Phoenix", "Seattle", "Denver",
          "Boston", "Austin", "Portland", "London", "Berlin", "Zürich", "São Paulo",
          "Kraków", "Malmö", "Toronto", "Sydney", "Dublin", "Lisbon"]
WORDS = ("durable lightweight comfortable waterproof breathable stylish reliable compact "
         "powerful quiet ergonomic handcrafted sustainable versatile premium affordable "
         "designed for everyday use with a modern look and long lasting battery grip "
         "the perfect gift that your family will love all year round").split()
SELLERS = ["deal_hunter", "shopkeeper42", "gadgetguru", "sole_mate", "bookworm", "outdoorsy",
           "homebody", "toybox", "the_curator", "bargainbin"]


def products_csv(n: int = 2000, seed: int = 7) -> bytes:
    """The product listings; n=2000, seed=7 is products_2k.csv byte for byte (PRODUCTS_2K_SHA256)."""
    rng = random.Random(seed)
    pool: list[list[object]] = []  # recent rows for duplicates
    f = io.StringIO(newline="")
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["id", "product_name", "brand", "category", "price", "city", "description",
                "rating", "stock", "seller", "url", "created_at"])
    for i in range(n):
        if pool and rng.random() < 0.03:
            row = list(rng.choice(pool))
        else:
            cat = rng.choice(CATS)
            name = f"{rng.choice(ADJ)} {rng.choice(NOUN[cat])}"
            if rng.random() < 0.3:
                name += f" {rng.randint(2, 9)}{rng.choice(['00', 'X', 'S', ''])}"
            brand = rng.choice(BRANDS) if rng.random() >= 0.10 else ""
            price = f"{min(2000.0, rng.lognormvariate(4.6, 0.8)):.2f}"
            city = rng.choice(CITIES) if rng.random() >= 0.08 else ""
            if rng.random() < 0.03:
                desc = ""
            else:
                k = rng.randint(6, 26)
                desc = " ".join(rng.choice(WORDS) for _ in range(k)).capitalize() + "."
            rating = f"{rng.randint(10, 50) / 10:.1f}" if rng.random() >= 0.15 else ""
            stock = str(rng.choice([0, 0, rng.randint(1, 500)])) if rng.random() >= 0.04 else ""
            seller = rng.choice(SELLERS) if rng.random() >= 0.05 else ""
            slug = name.lower().replace(" ", "-")
            url = f"https://shop.example.com/{cat}/{slug}-{rng.randint(1000, 99999)}"
            if rng.random() < 0.02:
                cat = ""
            created = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            row = [name, brand, cat, price, city, desc, rating, stock, seller, url, created]
            if len(pool) < 1000:
                pool.append(row)
            elif rng.random() < 0.01:
                pool[rng.randrange(1000)] = row
        w.writerow([i + 1] + row)
    return f.getvalue().encode("utf-8")


def reddit_threads_csv() -> bytes:
    return DEMO_CSV.read_bytes()


def sample_dir(where: Path) -> Path:
    """products_2k.csv and reddit_threads_sample.csv in `where` (for tests that hand a browser a file)."""
    where.mkdir(parents=True, exist_ok=True)
    (where / "products_2k.csv").write_bytes(products_csv())
    (where / "reddit_threads_sample.csv").write_bytes(reddit_threads_csv())
    return where
