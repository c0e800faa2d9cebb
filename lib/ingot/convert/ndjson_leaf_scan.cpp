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
#include "ingot/format/json_text.h"
#include "ingot/parquet/numbers.h"
#include "ingot/util/swar.h"

#ifndef INGOT_NDJSON_VARIANT
#error "compiled once per CPU variant, see convert/CMakeLists.txt"
#endif

namespace ingot::detail::INGOT_NDJSON_VARIANT {
namespace {

namespace od = simdjson::ondemand;
using parquet::ValueType;
using simdjson::error_code;

// As convert_ndjson.cpp: deeper nesting makes the line invalid there, so here too.
constexpr std::uint32_t kMaxJsonDepth = 256;

bool is_json_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim_token(std::string_view raw) {
  return !raw.empty() && (is_json_ws(raw.back()) || is_json_ws(raw.front())) ? trim_json_ws(raw) : raw;
}

// A number's token, or empty when it is not exactly one JSON number (convert_ndjson.cpp's
// number_token).
std::string_view number_token(std::string_view raw) {
  raw = trim_token(raw);
  const std::size_t n = raw.size();
  if (n - 1 < 16) {
    const int fast = swar::digits_dot_number16(raw.data(), n);
    if (fast >= 0) return fast ? raw : std::string_view();
  }
  return is_json_number(raw) ? raw : std::string_view();
}

bool is_blank(const char* p, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r') return false;
  }
  return true;
}

// Validates a container that is a leaf (an array; an object with --no-flatten): its
// cell is its JSON text, a STRING, so only its validity matters (convert_ndjson.cpp's
// write_compact without output).
error_code validate_value(od::value v, std::uint32_t depth) {
  od::json_type t;
  if (auto e = v.type().get(t)) return e;
  switch (t) {
    case od::json_type::object: {
      if (depth >= kMaxJsonDepth) return simdjson::DEPTH_ERROR;
      od::object obj;
      if (auto e = v.get_object().get(obj)) return e;
      for (auto fr : obj) {
        od::field f;
        if (auto e = std::move(fr).get(f)) return e;
        if (auto e = validate_value(f.value(), depth + 1)) return e;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::array: {
      if (depth >= kMaxJsonDepth) return simdjson::DEPTH_ERROR;
      od::array arr;
      if (auto e = v.get_array().get(arr)) return e;
      for (auto er : arr) {
        od::value el;
        if (auto e = std::move(er).get(el)) return e;
        if (auto e = validate_value(el, depth + 1)) return e;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::string: {
      std::string_view tok = trim_token(v.raw_json_token());
      std::string_view body = tok.substr(1, tok.size() >= 2 ? tok.size() - 2 : 0);
      if (swar::find2(body.data(), body.size(), '\\', '\\') != body.size()) {
        std::string_view s;
        if (auto e = v.get_string().get(s)) return e;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::number:
      return number_token(v.raw_json_token()).empty() ? simdjson::NUMBER_ERROR : simdjson::SUCCESS;
    case od::json_type::boolean: {
      bool b;
      return v.get_bool().get(b);
    }
    case od::json_type::null: {
      bool is_null;
      if (auto e = v.is_null().get(is_null)) return e;
      return is_null ? simdjson::SUCCESS : simdjson::N_ATOM_ERROR;
    }
  }
  return simdjson::INCORRECT_TYPE;
}

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

struct Leaf {
  std::uint32_t id;
  ValueType type;  // none: null
};

class LeafScanner final : public NdjsonLeafScanner {
 public:
  LeafScanner(bool flatten, bool auto_types, bool line_shapes)
      : flatten_(flatten), auto_types_(auto_types), line_shapes_(line_shapes) {}

  void scan(const Chunk& c, LeafScan& out) override {
    out_ = &out;
    out.keys.clear();
    out.order.clear();
    out.events.clear();
    out.leafless.clear();
    ids_.clear();
    state_.clear();
    shapes_.clear();
    const bool use_shapes = line_shapes_ && simdjson::validate_utf8(c.data, c.size);
    if (scratch_.capacity() < c.size) scratch_.reserve(c.size);

    const char* p = c.data + bom_length(c.data, c.size, c.offset);
    const char* end = c.data + c.size;
    const char* cap_end = end + kChunkPadding;
    std::uint64_t newlines = 0;
    while (p < end) {
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
      const char* le = nl ? nl : end;
      std::size_t len = static_cast<std::size_t>(le - p);
      if (len > 0 && p[len - 1] == '\r') --len;
      if (!is_blank(p, len) && line(p, len, static_cast<std::size_t>(cap_end - p), use_shapes) == simdjson::SUCCESS) {
        accept(static_cast<std::size_t>(p - c.data));
      }
      if (!nl) break;
      ++newlines;
      p = nl + 1;
    }
    out.newlines = newlines;
  }

 private:
  // Per chunk-local id.
  struct KeyState {
    ValueType running = ValueType::none;  // the chunk's type so far
    ValueType line_type = ValueType::none;
    bool in_order = false;
    std::uint64_t stamp = 0;  // the record whose value line_type is, not yet joined
  };

  std::uint32_t id_of(std::string_view path) {
    auto it = ids_.find(path);
    if (it != ids_.end()) return it->second;
    const auto id = static_cast<std::uint32_t>(out_->keys.size());
    out_->keys.emplace_back(path);
    ids_.emplace(out_->keys.back(), id);
    state_.emplace_back();
    return id;
  }

  ValueType string_type(std::string_view text) const {
    return auto_types_ ? parquet::text_type(text) : ValueType::string;
  }

  error_code line(const char* p, std::size_t len, std::size_t cap, bool use_shapes) {
    leaves_.clear();
    line_leafless_.clear();
    if (use_shapes) {
      for (std::size_t i = 0; i < shapes_.size(); ++i) {
        const std::vector<int>& col = shapes_[i].column;
        auto slot = [&](std::size_t k, SlotKind kind, std::string_view text) {
          ValueType t = ValueType::none;
          switch (kind) {
            case SlotKind::string: t = string_type(text); break;
            case SlotKind::number: t = parquet::number_type(text); break;
            case SlotKind::boolean: t = ValueType::boolean; break;
            case SlotKind::null: break;
          }
          leaves_.push_back({static_cast<std::uint32_t>(col[k]), t});
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
    error_code err = parser_.iterate(p, len, cap).get(doc_);
    if (!err) {
      od::json_type type;
      if ((err = doc_.type().get(type))) return err;
      if (type != od::json_type::object) return simdjson::INCORRECT_TYPE;
      od::object obj;
      if ((err = doc_.get_object().get(obj))) return err;
      if ((err = walk_object(obj, 0))) return err;
      if (!doc_.current_location().error()) return simdjson::TRAILING_CONTENT;
      if (use_shapes && shape_ok_) learn_shape(p, len);
    }
    return err;
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
      if (leaves_.size() == before) {
        line_leafless_.push_back(id_of(path_));
        shape_ok_ = false;
      }
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
    ValueType type = ValueType::none;
    switch (t) {
      case od::json_type::string: {
        std::string_view tok = trim_token(v.raw_json_token());
        std::string_view body = tok.substr(1, tok.size() >= 2 ? tok.size() - 2 : 0);
        if (swar::find2(body.data(), body.size(), '\\', '\\') != body.size()) {
          if (auto e = v.get_string().get(body)) return e;
        }
        type = string_type(body);
        break;
      }
      case od::json_type::number: {
        std::string_view tok = number_token(v.raw_json_token());
        if (tok.empty()) return simdjson::NUMBER_ERROR;
        type = parquet::number_type(tok);
        break;
      }
      case od::json_type::boolean: {
        bool b;
        if (auto e = v.get_bool().get(b)) return e;
        type = ValueType::boolean;
        break;
      }
      case od::json_type::null: {
        bool is_null;
        if (auto e = v.is_null().get(is_null)) return e;
        if (!is_null) return simdjson::N_ATOM_ERROR;
        break;
      }
      case od::json_type::object:
      case od::json_type::array: {
        if (auto e = validate_value(v, depth + 1)) return e;
        type = ValueType::string;
        break;
      }
    }
    leaves_.push_back({id, type});
    return simdjson::SUCCESS;
  }

  // A valid record: its keys join the order, its values the running types. A key met
  // twice in a record holds its last non-null value, as the converter's cell does.
  void accept(std::size_t offset) {
    ++record_;
    for (const Leaf& l : leaves_) {
      KeyState& s = state_[l.id];
      if (!s.in_order) {
        s.in_order = true;
        out_->order.push_back(l.id);
      }
      if (l.type != ValueType::none) {
        s.line_type = l.type;
        s.stamp = record_;
      }
    }
    for (const Leaf& l : leaves_) {
      KeyState& s = state_[l.id];
      if (s.stamp != record_) continue;
      s.stamp = 0;
      if (s.running == ValueType::string) continue;  // as wide as it gets
      const ValueType t = parquet::join_types(s.running, s.line_type);
      if (t != s.running) {
        s.running = t;
        out_->events.push_back({l.id, t, offset});
      }
    }
    for (std::uint32_t id : line_leafless_) out_->leafless.push_back(id);
  }

  bool flatten_;
  bool auto_types_;
  bool line_shapes_;
  od::parser parser_;
  od::document doc_;
  LeafScan* out_ = nullptr;
  std::unordered_map<std::string, std::uint32_t, StringHash, std::equal_to<>> ids_;
  std::vector<KeyState> state_;
  std::vector<Leaf> leaves_;
  std::vector<std::uint32_t> line_leafless_;
  ShapeCache shapes_;
  std::vector<LeafSpan> spans_;
  bool spans_on_ = false;
  bool shape_ok_ = true;
  std::string path_;
  std::string scratch_;
  std::uint64_t record_ = 0;
};

}  // namespace

std::unique_ptr<NdjsonLeafScanner> make_ndjson_leaf_scanner(bool flatten, bool auto_types, bool line_shapes) {
  return std::make_unique<LeafScanner>(flatten, auto_types, line_shapes);
}

}  // namespace ingot::detail::INGOT_NDJSON_VARIANT
