"""The real CDNOW transactions (../shared/data/cdnow) as an orders landing."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

log = logging.getLogger(__name__)

DEFAULT_CDNOW_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "cdnow"


def read_cdnow_master(path: Path) -> pd.DataFrame:
    df = pd.read_csv(
        path,
        sep=r"\s+",
        header=0,
        names=["customer_id", "date", "number_of_cds", "dollar_value"],
        dtype={"customer_id": str, "date": str},
    )
    return df


def cdnow_orders(master: pd.DataFrame) -> pd.DataFrame:
    """One order per CDNOW row. CDNOW has dates only: the order time is noon UTC,
    so the reporting day is the CDNOW day in every time zone within ±11 h."""
    day = pd.to_datetime(master["date"], format="%Y%m%d")
    return pd.DataFrame(
        {
            "order_id": [f"cd{i:06d}" for i in range(1, len(master) + 1)],
            "user_id": "c" + master["customer_id"].str.zfill(5),
            "order_time": (day + pd.Timedelta(hours=12)).dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "amount": master["dollar_value"].astype(float),
            "currency": "USD",
            "status": "paid",
            "quantity": master["number_of_cds"].astype(int),
        }
    )


def write_cdnow_landing(out: Path, source_dir: Path = DEFAULT_CDNOW_DIR) -> int:
    master = source_dir / "CDNOW_master.txt"
    if not master.exists():
        raise FileNotFoundError(f"CDNOW data not found at {master}")
    orders = cdnow_orders(read_cdnow_master(master))
    (Path(out) / "orders").mkdir(parents=True, exist_ok=True)
    orders.to_csv(Path(out) / "orders" / "cdnow_orders.csv", index=False)
    log.info("wrote %d CDNOW orders to %s", len(orders), out)
    return len(orders)
