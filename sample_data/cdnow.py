"""The real CDNOW transactions (sample_data/cdnow_data, shipped with the project) as an orders
landing."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

log = logging.getLogger(__name__)

DEFAULT_CDNOW_DIR = Path(__file__).resolve().parent / "cdnow_data"


def read_cdnow_master(path: Path) -> pd.DataFrame:
    df = pd.read_csv(
        path,
        sep=r"\s+",
        header=0,
        names=["customer_id", "date", "number_of_cds", "dollar_value"],
        dtype={"customer_id": str, "date": str},
    )
    return df


def read_cdnow_sample(path: Path) -> pd.DataFrame:
    """CDNOW_sample.txt (no header: master id, sample id 1-2357, date, CDs, dollars). The
    customer id is the sample id, so ids match the papers' tables (customer 1 = 00001)."""
    df = pd.read_csv(
        path,
        sep=r"\s+",
        header=None,
        names=["master_id", "customer_id", "date", "number_of_cds", "dollar_value"],
        dtype={"master_id": str, "customer_id": str, "date": str},
    )
    return df.drop(columns="master_id")


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


def write_cdnow_landing(
    out: Path, source_dir: Path = DEFAULT_CDNOW_DIR, sample: bool = False
) -> int:
    """Write the master file (23,570 customers) or, with sample=True, the 1/10 sample of
    2,357 customers that the BTYD papers use."""
    path = source_dir / ("CDNOW_sample.txt" if sample else "CDNOW_master.txt")
    if not path.exists():
        raise FileNotFoundError(f"CDNOW data not found at {path}")
    read = read_cdnow_sample if sample else read_cdnow_master
    orders = cdnow_orders(read(path))
    (Path(out) / "orders").mkdir(parents=True, exist_ok=True)
    orders.to_csv(Path(out) / "orders" / "cdnow_orders.csv", index=False)
    (Path(out) / "orders" / "_SUCCESS").touch()  # whole: read at once (README, Data contract)
    log.info("wrote %d CDNOW orders to %s", len(orders), out)
    return len(orders)
