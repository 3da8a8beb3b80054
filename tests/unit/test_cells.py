"""The spatial buckets: every case close enough to merge lies in a cell the new report queries."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st
from pyproj import Geod

from sync import cells
from sync.cells import CELL_SIZE_M, cell_of, lock_keys, query_cells
from tests.helpers.migrations import load_migration

GEOD = Geod(ellps="WGS84")
SERGELS_TORG = (59.3325, 18.0642)

distances = st.floats(min_value=0.0, max_value=CELL_SIZE_M)
azimuths = st.floats(min_value=-180.0, max_value=180.0)


def moved(lat: float, lon: float, azimuth: float, metres: float) -> tuple[float, float]:
    lon2, lat2, _ = GEOD.fwd(lon, lat, azimuth, metres)
    return lat2, lon2


# The border between two columns of cells that runs through Sergels Torg.
BORDER_LON = -180.0 + cells._col(SERGELS_TORG[1]) * (360.0 / cells.COLUMNS)


@given(
    lat=st.floats(min_value=59.30, max_value=59.36),
    lon=st.floats(min_value=18.00, max_value=18.12),
    azimuth=azimuths,
    metres=distances,
)
@example(lat=SERGELS_TORG[0], lon=BORDER_LON - 1e-7, azimuth=90.0, metres=5.0)
@example(lat=SERGELS_TORG[0], lon=BORDER_LON + 1e-7, azimuth=-90.0, metres=5.0)
def test_a_case_within_reach_is_in_a_queried_cell_around_stockholm(
    lat: float, lon: float, azimuth: float, metres: float
) -> None:
    case_lat, case_lon = moved(lat, lon, azimuth, metres)
    assert cell_of(case_lat, case_lon) in query_cells(lat, lon)


@given(
    lat=st.floats(min_value=-90.0, max_value=90.0),
    lon=st.floats(min_value=-180.0, max_value=180.0),
    azimuth=azimuths,
    metres=distances,
)
@example(lat=0.0, lon=179.9999, azimuth=90.0, metres=50.0)  # across the antimeridian
@example(lat=84.9, lon=10.0, azimuth=90.0, metres=CELL_SIZE_M)  # narrow cells near the pole
@example(lat=89.9995, lon=0.0, azimuth=0.0, metres=CELL_SIZE_M)  # over the north pole
@example(lat=-89.9991, lon=120.0, azimuth=180.0, metres=CELL_SIZE_M)  # over the south pole
@example(lat=60.0, lon=18.0, azimuth=90.0, metres=CELL_SIZE_M)  # where rows start to narrow
@example(lat=89.0, lon=-179.99, azimuth=-90.0, metres=CELL_SIZE_M)
def test_a_case_within_reach_is_in_a_queried_cell_anywhere(
    lat: float, lon: float, azimuth: float, metres: float
) -> None:
    case_lat, case_lon = moved(lat, lon, azimuth, metres)
    assert cell_of(case_lat, case_lon) in query_cells(lat, lon)


@given(lat=st.floats(min_value=-90.0, max_value=90.0), lon=st.floats(-1e6, 1e6))
@example(lat=90.0, lon=0.0)
@example(lat=89.999, lon=0.0)
@example(lat=-90.0, lon=0.0)
@example(lat=-89.999, lon=45.0)
def test_a_report_anywhere_queries_and_locks_at_most_nine_cells(lat: float, lon: float) -> None:
    # The bound is the grid's, not the service area's: a report at a pole once made the push
    # hash and lock ~400,000 cells (the stalled phones).
    assert 1 <= len(query_cells(lat, lon)) <= 9
    assert len(lock_keys(lat, lon, "bin")) <= 9


@given(lat=st.floats(min_value=-89.9, max_value=89.9))
def test_every_row_has_cells_at_least_the_cell_size_wide(lat: float) -> None:
    count = cells.columns(cells._row(lat))
    width_deg = 360.0 / count
    outer = min(abs(lat) + 180.0 / cells.ROWS, 90.0)
    assert GEOD.inv(0.0, outer, width_deg, outer)[2] >= CELL_SIZE_M or count == 1


def test_points_that_are_not_on_earth_are_refused() -> None:
    for lat, lon in ((91.0, 0.0), (float("nan"), 0.0), (0.0, float("inf"))):
        try:
            query_cells(lat, lon)
        except ValueError:
            continue
        raise AssertionError((lat, lon))


@given(
    lat=st.floats(min_value=59.30, max_value=59.36),
    lon=st.floats(min_value=18.00, max_value=18.12),
    azimuth=azimuths,
    metres=distances,
)
def test_two_pushes_close_enough_to_merge_share_a_lock(
    lat: float, lon: float, azimuth: float, metres: float
) -> None:
    other_lat, other_lon = moved(lat, lon, azimuth, metres)
    mine, theirs = lock_keys(lat, lon, "bin"), lock_keys(other_lat, other_lon, "bin")
    assert set(mine) & set(theirs)
    assert list(mine) == sorted(mine)
    assert all(-(1 << 63) <= key < 1 << 63 for key in mine)


def test_cells_are_at_least_the_cell_size_around_stockholm() -> None:
    row_deg, col_deg = 180.0 / cells.ROWS, 360.0 / cells.COLUMNS
    lat, lon = SERGELS_TORG
    assert GEOD.inv(lon, lat, lon, lat + row_deg)[2] >= CELL_SIZE_M
    assert GEOD.inv(lon, lat, lon + col_deg, lat)[2] >= CELL_SIZE_M


def test_stockholm_queries_nine_cells() -> None:
    assert len(query_cells(*SERGELS_TORG)) == 9


def test_other_groups_lock_other_keys() -> None:
    assert set(lock_keys(*SERGELS_TORG, "bin")).isdisjoint(lock_keys(*SERGELS_TORG, "glass"))


@given(
    st.floats(min_value=-90, max_value=90, allow_nan=False),
    st.floats(min_value=-180, max_value=180, allow_nan=False),
)
@example(59.3326, 18.0649)  # Sergels Torg
@example(89.9999, 0.0)
@example(-90.0, 179.9)
@settings(deadline=None)  # the first example loads the migration module
def test_migration_0012_numbers_cells_as_sync_cells_does(lat: float, lon: float) -> None:
    """Migration 0012 carries a frozen copy of the numbering (a migration must not change when
    the code does). While they agree, stored cells and the push's lookups agree; when this
    fails, the numbering changed and needs a migration of its own that renumbers the cases."""
    assert load_migration("0012").cell_of(lat, lon) == cell_of(lat, lon)
