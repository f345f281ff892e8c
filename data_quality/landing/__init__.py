"""Land raw files into the warehouse: read, validate against the contract, quarantine
bad rows, de-duplicate, and publish the `raw.*` views.

Invariant, per entity: rows read = rows in raw.<entity> + rows in raw.quarantine. Files
are tracked by content hash, so a rerun re-reads only new or changed files and never
counts a row twice. read.py stages a file, validate.py checks it (one DuckDB query),
sync.py keeps the tables.
"""

from data_quality.landing.read import FileRules, LandingError, discover_files
from data_quality.landing.sync import BadRowLimit, SyncReport, landing_time_range, sync_landing
from data_quality.landing.validate import ValidationRules

__all__ = [
    "BadRowLimit",
    "FileRules",
    "LandingError",
    "SyncReport",
    "ValidationRules",
    "discover_files",
    "landing_time_range",
    "sync_landing",
]
