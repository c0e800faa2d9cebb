// RowBatch::reorder, which the one walk of convert_parquet.cpp uses to give a batch the
// columns found after it was made: a reordered batch must be the batch that would have
// been built in those columns from the start, cell for cell, row size for row size, and
// so write the same file.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "ingot/parquet/writer.h"

using namespace ingot::parquet;

namespace {

// Rows i = 0..n-1 in the columns `order` names: 0 is a (INT64 i, null every third row),
// 1 is s (STRING "s<i>"), 2 a column of nulls.
RowBatch rows_with_nulls(int n, const std::vector<int>& order) {
  RowBatch b;
  b.reset(order.size());
  for (int i = 0; i < n; ++i) {
    for (std::size_t c = 0; c < order.size(); ++c) {
      if (order[c] == 0) {
        if (i % 3 == 0) {
          b.add_null(c);
        } else {
          b.add_int64(c, i);
        }
      } else if (order[c] == 1) {
        std::string v = "s";
        v += std::to_string(i);  // (not "s" + ...: GCC 12's -Wrestrict misfires on it)
        b.add_string(c, v);
      } else {
        b.add_null(c);
      }
    }
    b.end_row();
  }
  return b;
}

std::string bytes(const ByteVec& v) { return std::string(v.data(), v.size()); }

std::string write(const RowBatch& b, const std::vector<ColumnSpec>& specs) {
  std::string out;
  WriterOptions o;
  o.row_group_bytes = 40;  // several row groups: the cuts depend on the rows' sizes
  Writer w(specs, o, [&](std::string_view s) { out.append(s); });
  w.write(b);
  w.finish();
  return out;
}

}  // namespace

TEST_CASE("row batch: reorder gives the batch built in the new columns, sizes and file included", "[parquet]") {
  // Built as (a, s); reordered to (s, null, a, null); against one built that way.
  RowBatch got = rows_with_nulls(25, {0, 1});
  got.reorder({1, -1, 0, -1});
  const RowBatch want = rows_with_nulls(25, {1, 2, 0, 2});
  REQUIRE(got.columns() == 4);
  REQUIRE(got.rows() == want.rows());
  for (std::size_t c = 0; c < 4; ++c) {
    INFO("column " << c);
    CHECK(bytes(got.column(c).defs) == bytes(want.column(c).defs));
    CHECK(bytes(got.column(c).plain) == bytes(want.column(c).plain));
  }
  for (std::size_t r = 0; r < got.rows(); ++r) CHECK(got.bytes_through(r) == want.bytes_through(r));
  const std::vector<ColumnSpec> specs = {
      {"s", ColumnType::string}, {"x", ColumnType::string}, {"a", ColumnType::int64}, {"y", ColumnType::boolean}};
  CHECK(write(got, specs) == write(want, specs));

  // The same columns in the same order change nothing; an empty batch gets empty columns.
  RowBatch same = rows_with_nulls(7, {0, 1});
  same.reorder({0, 1});
  const RowBatch plain = rows_with_nulls(7, {0, 1});
  for (std::size_t r = 0; r < 7; ++r) CHECK(same.bytes_through(r) == plain.bytes_through(r));
  RowBatch empty;
  empty.reset(1);
  empty.reorder({-1, 0});
  CHECK(empty.columns() == 2);
  CHECK(empty.rows() == 0);
  CHECK(empty.column(0).defs.size() == 0);
}
