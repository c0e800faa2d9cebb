// The Parquet pre-pass's NDJSON walk (ndjson_leaf_scan.h): each line is validated
// exactly as the chunk converter validates it (simdjson On-Demand, the whole line;
// numbers against the JSON grammar, escaped strings unescaped, containers walked),
// and its leaves are typed on the way. Lines repeating the shape of a valid line are
// matched against it (ndjson_shape.h) instead of parsed.
#include <simdjson.h>

#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ingot/convert/convert_internal.h"
#include "ingot/convert/ndjson_leaf_scan.h"
#include "ingot/convert/ndjson_shape.h"
#include "ingot/convert/ndjson_values.h"
#include "ingot/format/json_text.h"
#include "ingot/parquet/datetime.h"
#include "ingot/parquet/numbers.h"
#include "ingot/parquet/writer.h"
#include "ingot/util/error.h"
#include "ingot/util/swar.h"

#ifndef INGOT_NDJSON_VARIANT
#error "compiled once per CPU variant, see convert/CMakeLists.txt"
#endif

namespace ingot::detail::INGOT_NDJSON_VARIANT {
namespace {

using parquet::ValueType;

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

inline constexpr std::uint64_t kPow10Int[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};

// The value of n digits at p (1 <= n <= 8; readable for 8 bytes, as a padded line is):
// the 8 bytes less '0' each, the bytes past n shifted out (the first digit highest,
// zeros below as leading zeros), then pairs, quads and octets combined by multiplies.
[[gnu::always_inline]] inline std::uint64_t digits8(const char* p, std::size_t n) {
  std::uint64_t w;
  std::memcpy(&w, p, 8);
  w = (w - 0x3030303030303030ULL) << (8 * (8 - n));
  w = (w * 10 + (w >> 8)) & 0x00FF00FF00FF00FFULL;
  w = (w * 100 + (w >> 16)) & 0x0000FFFF0000FFFFULL;
  return (w * 10000 + (w >> 32)) & 0xFFFFFFFFULL;
}

// A number slot's value as an INT64 or DOUBLE column wants it, for the spellings
// match_shape_classified names (digits; digits, dot, digits): the same value as
// parse_int64 and parse_double give (the integer of all digits, over a power of ten
// for a fraction: Clinger's exact path), without their loop over the digits. False
// where those are needed (longer parts).
[[gnu::always_inline]] inline bool fast_number(std::string_view tok, int number_class, bool as_double, std::int64_t& i,
                                               double& d) {
  const char* p = tok.data();
  const std::size_t n = tok.size();
  if (number_class == kNumberDigits) {
    if (n > 15) return false;  // parse_double's exact path takes 15 digits
    const std::uint64_t v = n <= 8 ? digits8(p, n) : digits8(p, n - 8) * 100000000 + digits8(p + n - 8, 8);
    i = static_cast<std::int64_t>(v);
    d = static_cast<double>(v);
    return true;
  }
#if defined(__SSE2__)
  if (number_class == kNumberDecimal && as_double) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const auto dots = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('.'))));
    const auto dot = static_cast<std::size_t>(__builtin_ctz(dots));  // the class has one, within n <= 16
    const std::size_t frac = n - dot - 1;
    if (dot > 8 || frac > 8) return false;
    const std::uint64_t m = digits8(p, dot) * static_cast<std::uint64_t>(kPow10Int[frac]) + digits8(p + dot + 1, frac);
    d = static_cast<double>(m) / parquet::numbers_detail::kPow10[frac];
    return true;
  }
#else
  (void)as_double;
#endif
  return false;
}

// A leaf of a line: its path's id, what it holds and its text (a string unescaped, a
// number's token, a container's compact JSON text when writing; empty for null).
enum class LeafKind : std::uint8_t { null, string, number, boolean, container };
struct Leaf {
  std::uint32_t id;
  LeafKind kind;
  std::string_view text;
};

// Walks the lines of a chunk: each line's leaves, the line valid or not. Shared by the
// pre-pass (LeafScanner: types per path) and the writing pass (BatchWriter: values
// per column); `write` says whether containers need their text.
class LineWalker {
 public:
  LineWalker(bool flatten, bool line_shapes, bool write)
      : flatten_(flatten), line_shapes_(line_shapes), write_(write) {}
  virtual ~LineWalker() = default;

 protected:
  // Calls accept(offset) for each valid line, reject(error, line, p, line_end) for each
  // invalid one, with the line's leaves in leaves_; returns the chunk's newlines.
  template <class Accept, class Reject>
  std::uint64_t walk_chunk(const Chunk& c, Accept&& accept, Reject&& reject) {
    shapes_.clear();
    const bool use_shapes = line_shapes_ && simdjson::validate_utf8(c.data, c.size);
    if (scratch_.capacity() < c.size) scratch_.reserve(c.size);  // views into it stay valid
    return for_each_chunk_line(
        c, [&](const char* p, std::size_t len, std::size_t capacity, const char* raw_end, std::uint64_t n) {
          if (is_blank(p, len)) {
            blank();
          } else if (error_code e = line(p, len, capacity, use_shapes)) {
            reject(e, n, p, raw_end);
          } else {
            accept(static_cast<std::size_t>(p - c.data));
          }
        });
  }

  virtual void blank() {}

  // The id of a path: known paths keep theirs, a new one gets the next.
  std::uint32_t id_of(std::string_view path) {
    auto it = ids_.find(path);
    if (it != ids_.end()) return it->second;
    const auto id = static_cast<std::uint32_t>(paths_.size());
    paths_.emplace_back(path);
    ids_.emplace(paths_.back(), id);
    return id;
  }
  void clear_paths() {
    ids_.clear();
    paths_.clear();
  }

  std::vector<std::string> paths_;  // by id
  std::vector<Leaf> leaves_;
  std::vector<std::uint32_t> line_leafless_;
  // A line that matched an ordered shape (no path twice): its values are slots_, slot i
  // of path matched_->column[i], and leaves_ is empty. Null otherwise.
  const LineShape* matched_ = nullptr;
  struct SlotValue {
    std::string_view text;
    LeafKind kind;
    int number_class;  // match_shape_classified's NumberClass
  };
  std::vector<SlotValue> slots_;

 private:
  error_code line(const char* p, std::size_t len, std::size_t cap, bool use_shapes) {
    leaves_.clear();
    line_leafless_.clear();
    matched_ = nullptr;
    if (use_shapes) {
      for (std::size_t i = 0; i < shapes_.size(); ++i) {
        if (shapes_[i].ordered) {
          // The values straight into slots_ (sized for the shape), for the caller to
          // read by the shape's columns: no leaf list, no per-path bookkeeping.
          if (slots_.size() < shapes_[i].column.size()) slots_.resize(shapes_[i].column.size());
          SlotValue* out = slots_.data();
          auto slot = [out](std::size_t k, SlotKind kind, std::string_view text, int number_class) {
            static constexpr LeafKind kKind[] = {LeafKind::string, LeafKind::number, LeafKind::boolean, LeafKind::null};
            out[k] = SlotValue{text, kKind[static_cast<int>(kind)], number_class};
          };
          if (match_shape_classified(shapes_[i], p, len, slot)) {
            shapes_.touch(i);
            matched_ = &shapes_[0];
            return simdjson::SUCCESS;
          }
          continue;
        }
        const std::vector<int>& id = shapes_[i].column;
        auto slot = [&](std::size_t k, SlotKind kind, std::string_view text) {
          static constexpr LeafKind kKind[] = {LeafKind::string, LeafKind::number, LeafKind::boolean, LeafKind::null};
          leaves_.push_back({static_cast<std::uint32_t>(id[k]), kKind[static_cast<int>(kind)], text});
        };
        if (match_shape<true>(shapes_[i], p, len, slot)) {
          shapes_.touch(i);
          return simdjson::SUCCESS;
        }
        leaves_.clear();
      }
      spans_.clear();
    }
    spans_on_ = use_shapes;
    shape_ok_ = true;
    path_.clear();
    scratch_.clear();
    od::document doc;
    error_code err = parser_.iterate(p, len, cap).get(doc);
    if (err) return err;
    od::json_type type;
    if ((err = doc.type().get(type))) return err;
    if (type != od::json_type::object) return kNotAnObject;
    od::object obj;
    if ((err = doc.get_object().get(obj))) return err;
    if ((err = walk_object(obj, 0))) return err;
    // Past the object the iterator must be at the end of the line.
    if (!doc.current_location().error()) return simdjson::TRAILING_CONTENT;
    if (use_shapes && shape_ok_) learn_shape(p, len);
    return simdjson::SUCCESS;
  }

  void learn_shape(const char* p, std::size_t len) {
    build_shape(shapes_.candidate(), p, len, spans_);
    const std::size_t i = shapes_.find_candidate();
    if (i < shapes_.size()) {
      shapes_.touch(i);
    } else {
      shapes_.adopt();
    }
  }

  error_code walk_object(od::object obj, std::uint32_t depth) {
    if (depth >= kMaxJsonDepth) return simdjson::DEPTH_ERROR;
    for (auto fr : obj) {
      od::field f;
      if (auto e = std::move(fr).get(f)) return e;
      const std::size_t mark = path_.size();
      if (depth > 0) path_ += '.';
      const char* kp = f.key().raw();
      const char* q = kp;
      bool escaped = false;
      for (;;) {  // stage 1 proved the closing quote exists; the buffer is padded
        q += swar::find_quote_or_backslash_padded(q);
        if (*q == '"') break;
        escaped = true;
        q += 2;
      }
      if (escaped) {
        std::string_view u;
        if (auto e = f.unescaped_key().get(u)) return e;
        path_.append(u);
      } else {
        path_.append(kp, static_cast<std::size_t>(q - kp));
      }
      if (auto e = value(f.value(), depth)) return e;
      path_.resize(mark);
    }
    return simdjson::SUCCESS;
  }

  error_code value(od::value v, std::uint32_t depth) {
    od::json_type t;
    if (auto e = v.type().get(t)) return e;
    if (t == od::json_type::object && flatten_) {
      od::object obj;
      if (auto e = v.get_object().get(obj)) return e;
      const std::size_t before = leaves_.size();
      if (auto e = walk_object(obj, depth + 1)) return e;
      // A line of the same shape has the same leafless paths (they are in its literals),
      // which the line that taught the shape has reported for the chunk already.
      if (leaves_.size() == before) line_leafless_.push_back(id_of(path_));
      return simdjson::SUCCESS;
    }
    const std::uint32_t id = id_of(path_);
    if (spans_on_) {
      if (t == od::json_type::object || t == od::json_type::array) {
        shape_ok_ = false;  // its text is the cell, which no slot holds
      } else {
        const std::string_view tok = trim_token(v.raw_json_token());
        spans_.push_back(LeafSpan{tok.data(), tok.data() + tok.size(), static_cast<int>(id)});
      }
    }
    switch (t) {
      case od::json_type::string: {
        std::string_view tok = trim_token(v.raw_json_token());
        std::string_view body = tok.substr(1, tok.size() >= 2 ? tok.size() - 2 : 0);
        if (swar::find2(body.data(), body.size(), '\\', '\\') != body.size()) {
          if (auto e = v.get_string().get(body)) return e;  // in the parser's buffer, alive for the line
        }
        leaves_.push_back({id, LeafKind::string, body});
        return simdjson::SUCCESS;
      }
      case od::json_type::number: {
        std::string_view tok = number_token(v.raw_json_token());
        if (tok.empty()) return simdjson::NUMBER_ERROR;
        leaves_.push_back({id, LeafKind::number, tok});
        return simdjson::SUCCESS;
      }
      case od::json_type::boolean: {
        bool b;
        if (auto e = v.get_bool().get(b)) return e;
        leaves_.push_back({id, LeafKind::boolean, b ? std::string_view("true") : std::string_view("false")});
        return simdjson::SUCCESS;
      }
      case od::json_type::null: {
        bool is_null;
        if (auto e = v.is_null().get(is_null)) return e;
        if (!is_null) return simdjson::N_ATOM_ERROR;
        leaves_.push_back({id, LeafKind::null, {}});
        return simdjson::SUCCESS;
      }
      case od::json_type::object:
      case od::json_type::array: {
        if (!write_) {
          if (auto e = write_compact(v, nullptr, depth + 1)) return e;
          leaves_.push_back({id, LeafKind::container, {}});
          return simdjson::SUCCESS;
        }
        const std::size_t at = scratch_.size();
        if (auto e = write_compact(v, &scratch_, depth + 1)) return e;
        leaves_.push_back({id, LeafKind::container, std::string_view(scratch_).substr(at)});
        return simdjson::SUCCESS;
      }
    }
    return simdjson::INCORRECT_TYPE;
  }

  bool flatten_;
  bool line_shapes_;
  bool write_;
  od::parser parser_;
  std::unordered_map<std::string, std::uint32_t, StringHash, std::equal_to<>> ids_;
  ShapeCache shapes_;
  std::vector<LeafSpan> spans_;
  bool spans_on_ = false;
  bool shape_ok_ = true;
  std::string path_;
  std::string scratch_;  // containers' text, reserved at the chunk's size
};

class LeafScanner final : public NdjsonLeafScanner, LineWalker {
 public:
  LeafScanner(bool flatten, bool auto_types, bool line_shapes)
      : LineWalker(flatten, line_shapes, false), auto_types_(auto_types) {}

  void scan(const Chunk& c, LeafScan& out) override {
    out.order.clear();
    out.events.clear();
    out.leafless.clear();
    clear_paths();  // ids are chunk-local
    state_.clear();
    out.newlines = walk_chunk(
        c, [&](std::size_t offset) { accept(offset, out); },
        [](error_code, std::uint64_t, const char*, const char*) {});
    out.keys.swap(paths_);
  }

 private:
  struct KeyState {
    ValueType running = ValueType::none;  // the chunk's type so far
    bool in_order = false;
    bool leafless = false;    // in out.leafless already
    std::uint64_t stamp = 0;  // the record whose last non-null value is `last`
    std::uint32_t last = 0;   // index in leaves_
  };

  ValueType type_of(const Leaf& l) const {
    switch (l.kind) {
      case LeafKind::string: return auto_types_ ? parquet::text_type(l.text) : ValueType::string;
      case LeafKind::number: return parquet::number_type(l.text);
      case LeafKind::boolean: return ValueType::boolean;
      case LeafKind::container: return ValueType::string;
      case LeafKind::null: break;
    }
    return ValueType::none;
  }

  // A line that matched an ordered shape: its paths are those of the line the shape was
  // learned from, in the order and leafless lists already, each once (so its value is
  // the path's value); only the types can widen.
  void accept_matched(std::size_t offset, LeafScan& out) {
    // Locals, not members: the stores below could alias the vectors' pointers.
    const int* column = matched_->column.data();
    const std::size_t n = matched_->column.size();
    const SlotValue* slots = slots_.data();
    KeyState* state = state_.data();
    for (std::size_t i = 0; i < n; ++i) {
      const SlotValue& v = slots[i];
      if (v.kind == LeafKind::null) continue;
      KeyState& s = state[column[i]];
      if (s.running == ValueType::string) continue;  // as wide as it gets
      ValueType t = ValueType::boolean;
      if (v.kind == LeafKind::number) {
        t = v.number_class == kNumberDigits    ? ValueType::int64
            : v.number_class == kNumberDecimal ? ValueType::double_
                                               : parquet::number_type(v.text);
      } else if (v.kind == LeafKind::string) {
        t = auto_types_ ? parquet::text_type(v.text) : ValueType::string;
      }
      t = parquet::join_types(s.running, t);
      if (t != s.running) {
        s.running = t;
        out.events.push_back({static_cast<std::uint32_t>(column[i]), t, offset});
      }
    }
  }

  // A valid record: its keys join the order, its values the running types. A key met
  // twice in a record holds its last non-null value, as the converter's cell does.
  void accept(std::size_t offset, LeafScan& out) {
    ++record_;
    if (matched_) {
      accept_matched(offset, out);
      return;
    }
    if (state_.size() < paths_.size()) state_.resize(paths_.size());
    for (std::uint32_t i = 0; i < leaves_.size(); ++i) {
      const Leaf& l = leaves_[i];
      KeyState& s = state_[l.id];
      if (!s.in_order) {
        s.in_order = true;
        out.order.push_back(l.id);
      }
      if (l.kind != LeafKind::null) {
        s.last = i;
        s.stamp = record_;
      }
    }
    for (const Leaf& l : leaves_) {
      KeyState& s = state_[l.id];
      if (s.stamp != record_) continue;
      s.stamp = 0;
      if (s.running == ValueType::string) continue;  // as wide as it gets
      const ValueType t = parquet::join_types(s.running, type_of(leaves_[s.last]));
      if (t != s.running) {
        s.running = t;
        out.events.push_back({l.id, t, offset});
      }
    }
    for (std::uint32_t id : line_leafless_) {
      if (state_.size() < paths_.size()) state_.resize(paths_.size());
      if (!state_[id].leafless) {
        state_[id].leafless = true;
        out.leafless.push_back(id);
      }
    }
  }

  bool auto_types_;
  std::vector<KeyState> state_;
  std::uint64_t record_ = 0;
};

class BatchWriter final : public NdjsonBatchWriter, LineWalker {
 public:
  BatchWriter(const std::vector<std::string>& columns, std::vector<ValueType> types, bool flatten, bool line_shapes)
      : LineWalker(flatten, line_shapes, true), types_(std::move(types)), cells_(columns.size()) {
    for (const std::string& name : columns) id_of(name);  // a column's id is its index
  }

  bool convert(const Chunk& c, parquet::RowBatch& batch, ChunkTally& tally,
               std::vector<std::string>& leafless) override {
    tally.clear();
    batch.reset(types_.size());
    leafless.clear();
    tally_ = &tally;
    leafless_ = &leafless;
    ++chunk_;
    try {
      tally.newlines = walk_chunk(
          c, [&](std::size_t) { accept(batch); },
          [&](error_code e, std::uint64_t line, const char* p, const char* end) {
            tally.rejects.push_back(line_reject(c, e, line, p, end));
          });
    } catch (const Misfit&) {
      return false;
    }
    return true;
  }

 private:
  struct Misfit {};  // a valid record that does not fit the columns: the walk stops
  struct Cell {
    const Leaf* leaf = nullptr;
    std::uint64_t stamp = 0;
  };

  void blank() override { ++tally_->counts.blank; }

  // A valid record becomes a row: each column's last non-null value, as the column's
  // type (which must hold it: else Misfit).
  void accept(parquet::RowBatch& batch) {
    ++tally_->counts.valid;
    ++record_;
    const std::size_t n = cells_.size();
    if (matched_) {
      // An ordered shape: the slots' columns rise, each once; columns between them (and
      // past the last) are null, as is a slot's null. Paths that are no column have ids
      // from n on, so they come last.
      // Locals, not members: the batch's stores could alias the vectors' pointers.
      const int* column = matched_->column.data();
      const std::size_t slots = matched_->column.size();
      const SlotValue* values = slots_.data();
      const ValueType* types = types_.data();
      std::size_t col = 0;
      for (std::size_t i = 0; i < slots; ++i) {
        const auto c = static_cast<std::size_t>(column[i]);
        if (c >= n) throw Misfit{};
        for (; col < c; ++col) batch.add_null(col);
        const SlotValue& v = values[i];
        std::int64_t iv;
        double dv;
        if (v.kind == LeafKind::null) {
          batch.add_null(c);
        } else if (v.kind == LeafKind::number && (types[c] == ValueType::int64 || types[c] == ValueType::double_) &&
                   fast_number(v.text, v.number_class, types[c] == ValueType::double_, iv, dv)) {
          if (types[c] == ValueType::int64) {
            batch.add_int64(c, iv);
          } else {
            batch.add_double(c, dv);
          }
        } else if (!add(batch, c, types[c], Leaf{static_cast<std::uint32_t>(c), v.kind, v.text})) {
          throw Misfit{};
        }
        col = c + 1;
      }
      for (; col < n; ++col) batch.add_null(col);
      batch.end_row();
      return;
    }
    for (const Leaf& l : leaves_) {
      if (l.id >= n) throw Misfit{};
      if (l.kind != LeafKind::null) cells_[l.id] = Cell{&l, record_};
    }
    for (std::size_t i = 0; i < n; ++i) {
      const Cell& cell = cells_[i];
      if (cell.stamp != record_) {
        batch.add_null(i);
      } else if (!add(batch, i, types_[i], *cell.leaf)) {
        throw Misfit{};
      }
    }
    batch.end_row();
    // A line of the same shape has the same leafless paths, reported here already.
    for (std::uint32_t id : line_leafless_) {
      if (leafless_seen_.size() < paths_.size()) leafless_seen_.resize(paths_.size());
      if (leafless_seen_[id] != chunk_) {
        leafless_seen_[id] = chunk_;
        leafless_->push_back(paths_[id]);
      }
    }
  }

  [[gnu::always_inline]] static bool add(parquet::RowBatch& b, std::size_t col, ValueType type, const Leaf& l) {
    switch (type) {
      case ValueType::string: b.add_string(col, l.text); return true;
      case ValueType::int64: {
        std::int64_t v;
        if (l.kind != LeafKind::number || !parquet::parse_int64(l.text, v)) return false;
        b.add_int64(col, v);
        return true;
      }
      case ValueType::double_: {
        double v;
        if (l.kind != LeafKind::number || !parquet::parse_double(l.text, v)) return false;
        b.add_double(col, v);
        return true;
      }
      case ValueType::boolean:
        if (l.kind != LeafKind::boolean) return false;
        b.add_bool(col, l.text[0] == 't');
        return true;
      case ValueType::date:
      case ValueType::timestamp:
      case ValueType::timestamptz: {
        if (l.kind != LeafKind::string) return false;
        const parquet::TimeValue v = parquet::parse_iso_time(l.text);
        const parquet::TimeKind want = type == ValueType::date        ? parquet::TimeKind::date
                                       : type == ValueType::timestamp ? parquet::TimeKind::timestamp
                                                                      : parquet::TimeKind::timestamptz;
        if (v.kind != want) return false;
        if (want == parquet::TimeKind::date) {
          b.add_int32(col, static_cast<std::int32_t>(v.value));
        } else {
          b.add_int64(col, v.value);
        }
        return true;
      }
      case ValueType::none: return false;  // a column without values so far holds only nulls
    }
    return false;
  }

  std::vector<ValueType> types_;
  std::vector<Cell> cells_;
  ChunkTally* tally_ = nullptr;
  std::vector<std::string>* leafless_ = nullptr;
  std::vector<std::uint64_t> leafless_seen_;  // by id: the chunk that reported it last
  std::uint64_t chunk_ = 0;
  std::uint64_t record_ = 0;
};

}  // namespace

std::unique_ptr<NdjsonLeafScanner> make_ndjson_leaf_scanner(bool flatten, bool auto_types, bool line_shapes) {
  return std::make_unique<LeafScanner>(flatten, auto_types, line_shapes);
}

std::unique_ptr<NdjsonBatchWriter> make_ndjson_batch_writer(const std::vector<std::string>& columns,
                                                            std::vector<parquet::ValueType> types, bool flatten,
                                                            bool line_shapes) {
  return std::make_unique<BatchWriter>(columns, std::move(types), flatten, line_shapes);
}

}  // namespace ingot::detail::INGOT_NDJSON_VARIANT
