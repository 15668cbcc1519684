"""A small publisher sample on the tiny region for the /feeds/new tests: a police-like CSV in
its own shape (local times without offset, its own category words)."""

from __future__ import annotations

from tests.support.region import tiny_cell_center


def sample_csv() -> str:
    """10 rows: 6 good, 1 repeated id, 1 without coordinates, 1 unknown category word, 1 far
    outside the region."""
    lines = ["Ref,Reported,X,Y,Kind,Level,Note"]
    for i in range(6):
        lon, lat = tiny_cell_center(1 + i % 2, i % 4, 1)
        kind = "Theft" if i % 2 else "Brawl"
        lines.append(f"R{i},11/26/2026 08:{i:02d},{lon:.6f},{lat:.6f},{kind},{1 + i % 5},note {i}")
    lon, lat = tiny_cell_center(1, 0, 1)
    lines.append(f"R0,11/26/2026 09:00,{lon:.6f},{lat:.6f},Theft,2,repeat")  # repeated id
    lines.append("R7,11/26/2026 09:01,,,Theft,2,no place")  # no coordinates
    lines.append(f"R8,11/26/2026 09:02,{lon:.6f},{lat:.6f},Parade,1,unknown word")
    lines.append("R9,11/26/2026 09:03,-73.9,40.7,Theft,3,far away")  # outside the region
    return "\n".join(lines) + "\n"


# what the page's pickers choose for it
CHOICES = {
    "name": "district_calls",
    "source": "police",
    "id": "Ref",
    "time": "Reported",
    "time_format": "%m/%d/%Y %H:%M",
    "timezone": "Asia/Shanghai",
    "lon": "X",
    "lat": "Y",
    "category": "Kind",
    "category_map": {"Theft": "criminal", "Brawl": "dispute"},
    "severity": "Level",
    "text": "Note",
}
