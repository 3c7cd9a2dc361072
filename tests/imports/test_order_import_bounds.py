"""An orders file's row the order columns cannot hold, or dated when no purchase happened, is a
rejected row naming its column: never a crash, never an order stored with an overflowing total."""

from patron.imports import services
from patron.orders.models import Order

HEADER = ["订单号", "手机", "下单时间", "金额", "商品编码", "数量"]
ROWS = {
    "A-1": ["A-1", "13812341016", "2024/3/5", "88", "", ""],
    "BIG": ["BIG", "13812341016", "2024/3/5", "999999999999.999", "", ""],  # rounds up to 1e12
    "PRICE": ["PRICE", "13812341016", "2024/3/5", "500000000000", "TEA-001", "0.001"],
    # Divided into the total, the unit price had more digits than a decimal holds (a 500).
    "TINY": ["TINY", "13812341016", "2024/3/5", "999999999", "TEA-001", "0.00000000000000000001"],
    # More digits than a decimal's 28: rounding it to cents failed (InvalidOperation, a 500).
    "HUGE": ["HUGE", "13812341016", "2024/3/5", "88", "TEA-001", "1" + "0" * 30],
    "YEAR1": ["YEAR1", "13812341016", "0001-01-01", "88", "", ""],
    "FUTURE": ["FUTURE", "13812341016", "2999-01-01", "88", "", ""],
}
EXPECTED = {"BIG": "金额", "PRICE": "数量", "TINY": "数量", "HUGE": "数量", "YEAR1": "下单时间", "FUTURE": "下单时间"}


def test_it_rejects_rows_out_of_bounds_naming_the_column(owner, customer, product, tmp_path, write_csv, make_job):
    path = write_csv(tmp_path / "o.csv", [HEADER, *ROWS.values()])
    preview = services.import_prepare(job=make_job(owner, path, kind="orders", key_field="external_ref"),
                                      user=owner, limit=10)
    problems = {ref: [column for column, _reason in row.problems] for ref, row in zip(ROWS, preview.rows, strict=True)}
    assert problems == {"A-1": [], **{ref: [column] for ref, column in EXPECTED.items()}}
    job = services.import_run(job=make_job(owner, path, kind="orders", key_field="external_ref"))
    assert (job.rows_created, job.rows_rejected) == (1, 6)
    assert list(Order.objects.values_list("external_ref", flat=True)) == ["A-1"]
