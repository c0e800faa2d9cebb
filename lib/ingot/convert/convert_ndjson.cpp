// NDJSON -> CSV/TSV. Each line is parsed with simdjson On-Demand and walked in full, so
// a line counts as valid only when all of it is valid JSON: values that become columns
// are converted, the others are still checked (numbers against the JSON grammar,
// strings with escapes unescaped, containers walked). Numbers are copied byte for byte.
#include <simdjson.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "ingot/format/csv.h"
#include "ingot/format/json_text.h"
#include "ingot/format/pg_copy_text.h"
#include "ingot/convert/convert_internal.h"
#include "ingot/convert/ndjson_shape.h"
#include "ingot/convert/ndjson_values.h"
#include "ingot/pipeline/pipeline.h"
#include "ingot/util/big_alloc.h"
#include "ingot/util/byte_buffer.h"
#include "ingot/util/swar.h"

#ifndef INGOT_NDJSON_VARIANT
#error "compiled once per CPU variant, see lib/CMakeLists.txt"
#endif

namespace ingot::detail::INGOT_NDJSON_VARIANT {
namespace {

static_assert(kChunkPadding >= simdjson::SIMDJSON_PADDING);

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using NameIndex = std::unordered_map<std::string, int, StringHash, std::equal_to<>>;
using NameSet = std::unordered_set<std::string, StringHash, std::equal_to<>>;

// The columns of the output and the dot-path prefixes that lead to them.
struct Columns {
  explicit Columns(const std::vector<std::string>& names) : count(names.size()) {
    for (std::size_t i = 0; i < names.size(); ++i) {
      index.emplace(names[i], static_cast<int>(i));
      for (std::size_t dot = names[i].find('.'); dot != std::string::npos; dot = names[i].find('.', dot + 1)) {
        prefixes.insert(names[i].substr(0, dot));
      }
    }
  }
  int find(std::string_view name) const {
    auto it = index.find(name);
    return it == index.end() ? -1 : it->second;
  }
  std::size_t count;  // names, duplicates included
  NameIndex index;
  NameSet prefixes;
};

// How a cell's text must be checked for CSV quoting.
enum Quoting : std::uint8_t { kNeverQuote, kQuoteIfDelimiter, kQuoteIfNeeded };

// What the walker learned about the i-th key of a line (in document order, nested
// keys included): consecutive lines almost always repeat their keys, so the next line's
// i-th key is compared with `raw` and, while every key matches, the path, column and
// flattening decision are reused without scanning, path building or lookups.
// Invariant: the hints describe one line consistently (a key's path depends on the
// keys before it), so they are truncated after a line that diverged and cleared after
// a rejected line.
struct KeyHint {
  std::string raw;   // the key as written (escaped); capacity padded for word compares
  std::string path;  // dot path (unescaped keys)
  std::uint32_t depth = 0;
  int column = -1;
  bool descend = false;   // an object value here is flattened into
  bool was_leaf = false;  // the value here was a leaf (not flattened) on the line that set it
};

// Hints are held by pointer: nested walks keep views of their parent's path while new
// hints are appended, so a hint must never move (a vector of values would move short,
// SSO-stored paths; a deque's indexing costs a quarter of the walk).
using KeyHints = std::vector<std::unique_ptr<KeyHint>>;

// raw (padded chunk memory) starts with exactly the key `h` followed by its closing quote.
inline bool key_matches(const char* raw, const std::string& h) {
  const std::size_t n = h.size();
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    if (swar::load(raw + i) != swar::load(h.data() + i)) return false;
  }
  if (i < n) {
    const std::uint64_t mask = (std::uint64_t{1} << (8 * (n - i))) - 1;
    if ((swar::load(raw + i) ^ swar::load(h.data() + i)) & mask) return false;  // h is padded
  }
  return raw[n] == '"';
}

// Walks one record (a JSON object). The Sink provides:
//   KeyHints& hints()
//   int column(std::string_view path)      -> column index or -1 (slow path only)
//   bool descend(std::string_view path)    -> flatten into this object? (slow path only)
//   void new_leaf(std::string_view path)   -> a leaf key met on the slow path
//   void cell(int col, std::string_view text, Quoting quoting)
//   void unknown_leaf()                    -> the line has a leaf path that is no column
//   void leafless_object()                 -> with flattening, an object value with no
//                                             leaf path under it ({} or {"a":{}})
//   bool track_leaves()                    -> with flattening, look for leaves inside an
//                                             object that is not flattened into (a cost)
template <class Sink>
class Walker {
 public:
  // validate = false: only keys are walked; leaf values are skipped unchecked.
  Walker(Sink& sink, bool flatten, std::string& scratch, bool validate = true)
      : sink_(sink), hints_(sink.hints()), flatten_(flatten), validate_(validate), scratch_(scratch) {}

  // Also note each scalar value's token and column in `spans`, for a line shape
  // (ndjson_shape.h); shape_ok() is false when the line cannot make one (a container
  // value that is a column: its cell is compact text, which no slot holds).
  void record(std::vector<LeafSpan>* spans) {
    spans_ = spans;
    shape_ok_ = true;
  }
  bool shape_ok() const { return shape_ok_; }

  error_code object(od::object obj) {
    pos_ = 0;
    diverged_ = false;
    error_code e = walk_object(obj, std::string_view(), 0);
    // Hints past this line's last key came from another shape (also after an error).
    if (diverged_) hints_.resize(std::min(hints_.size(), pos_));
    return e;
  }

 private:
  error_code walk_object(od::object obj, std::string_view prefix, std::uint32_t depth) {
    if (depth >= kMaxJsonDepth) return simdjson::DEPTH_ERROR;
    for (auto fr : obj) {
      od::field f;
      if (auto e = std::move(fr).get(f)) return e;
      const char* kp = f.key().raw();
      const std::size_t pos = pos_++;
      if (diverged_ || pos >= hints_.size() || hints_[pos]->depth != depth || !key_matches(kp, hints_[pos]->raw)) {
        if (!diverged_) {
          diverged_ = true;
          if (pos < hints_.size()) hints_.resize(pos);  // later hints belong to another shape
        }
        if (auto e = learn(f, kp, prefix, depth)) return e;
      }
      if (auto e = value(f.value(), pos, depth)) return e;
    }
    return simdjson::SUCCESS;
  }

  // The slow path: the key's text, path, column and flattening decision.
  error_code learn(od::field& f, const char* kp, std::string_view prefix, std::uint32_t depth) {
    const char* p = kp;
    bool escaped = false;
    for (;;) {  // stage 1 proved the closing quote exists; the buffer is padded
      p += swar::find_quote_or_backslash_padded(p);
      if (*p == '"') break;
      escaped = true;
      p += 2;
    }
    auto hint = std::make_unique<KeyHint>();
    KeyHint& h = *hint;
    h.raw.reserve(static_cast<std::size_t>(p - kp) + 8);
    h.raw.assign(kp, static_cast<std::size_t>(p - kp));
    std::string_view key = h.raw;
    std::string unescaped;
    if (escaped) {
      std::string_view u;
      if (auto e = f.unescaped_key().get(u)) return e;
      unescaped.assign(u);
      key = unescaped;
    }
    h.path.reserve(prefix.size() + 1 + key.size());
    if (!prefix.empty()) {
      h.path.append(prefix);
      h.path += '.';
    }
    h.path.append(key);
    h.depth = depth;
    h.column = sink_.column(h.path);
    h.descend = flatten_ && sink_.descend(h.path);
    hints_.push_back(std::move(hint));
    return simdjson::SUCCESS;
  }

  error_code value(od::value v, std::size_t pos, std::uint32_t depth) {
    od::json_type t;
    if (auto e = v.type().get(t)) return e;
    KeyHint& hint = *hints_[pos];  // stable: hints are never moved
    const int col = hint.column;
    if (t == od::json_type::object && hint.descend) {
      hint.was_leaf = false;
      od::object obj;
      if (auto e = v.get_object().get(obj)) return e;
      const std::size_t before = pos_;
      if (auto e = walk_object(obj, hint.path, depth + 1)) return e;
      if (pos_ == before) sink_.leafless_object();  // no key: members' objects report themselves
      return simdjson::SUCCESS;
    }
    // Leaf paths that are no column: what the key union would add (speculative columns).
    // With flattening, the union walks into any object: it adds a column for each leaf
    // under one that is not flattened into here, and none for the object itself.
    const bool unflattened_object = flatten_ && t == od::json_type::object;
    if (col < 0 && !unflattened_object) sink_.unknown_leaf();
    // A key seen before only as an object is a new leaf now, even on the fast path.
    if (diverged_ || !hint.was_leaf) {
      sink_.new_leaf(hint.path);
      hint.was_leaf = true;
    }
    if (spans_) {
      if (t == od::json_type::object || t == od::json_type::array) {
        // Left in the shape's literal bytes (a later line must repeat them exactly),
        // unless its text is a cell.
        if (col >= 0) shape_ok_ = false;
      } else {
        const std::string_view tok = trim_token(v.raw_json_token());
        spans_->push_back(LeafSpan{tok.data(), tok.data() + tok.size(), col});
      }
    }
    if (!validate_) return simdjson::SUCCESS;
    switch (t) {
      case od::json_type::string: {
        std::string_view tok = v.raw_json_token();
        bool escaped;
        std::string_view body = string_body(tok, escaped);
        if (!escaped) {
          // Unescaped JSON text holds no quote, CR or LF: only the delimiter forces quoting.
          if (col >= 0) sink_.cell(col, body, kQuoteIfDelimiter);
          return simdjson::SUCCESS;
        }
        std::string_view str;
        if (auto e = v.get_string().get(str)) return e;
        if (col >= 0) {
          std::size_t at = scratch_.size();
          scratch_.append(str);
          sink_.cell(col, std::string_view(scratch_).substr(at), kQuoteIfNeeded);
        }
        return simdjson::SUCCESS;
      }
      case od::json_type::number: {
        std::string_view tok = number_token(v.raw_json_token());
        if (tok.empty()) return simdjson::NUMBER_ERROR;
        if (col >= 0) sink_.cell(col, tok, kNeverQuote);
        return simdjson::SUCCESS;
      }
      case od::json_type::boolean: {
        bool b;
        if (auto e = v.get_bool().get(b)) return e;
        if (col >= 0) sink_.cell(col, b ? "true" : "false", kNeverQuote);
        return simdjson::SUCCESS;
      }
      case od::json_type::null: {
        bool is_null;
        if (auto e = v.is_null().get(is_null)) return e;
        return is_null ? simdjson::SUCCESS : simdjson::N_ATOM_ERROR;
      }
      case od::json_type::object:
      case od::json_type::array: {
        bool leaf = false;
        bool* track = unflattened_object && sink_.track_leaves() ? &leaf : nullptr;
        if (col < 0) {
          if (auto e = write_compact(v, nullptr, depth + 1, track)) return e;
        } else {
          std::size_t at = scratch_.size();
          if (auto e = write_compact(v, &scratch_, depth + 1, track)) return e;
          sink_.cell(col, std::string_view(scratch_).substr(at), kQuoteIfNeeded);
        }
        if (leaf) sink_.unknown_leaf();
        if (track && !leaf) sink_.leafless_object();
        return simdjson::SUCCESS;
      }
    }
    return simdjson::INCORRECT_TYPE;
  }

  Sink& sink_;
  KeyHints& hints_;
  bool flatten_;
  bool validate_;
  std::string& scratch_;  // reserved per line so views into it stay valid
  std::size_t pos_ = 0;
  bool diverged_ = false;
  std::vector<LeafSpan>* spans_ = nullptr;
  bool shape_ok_ = false;
};

// Makes the shape of a line just walked with spans recorded the newest of the cache
// (or refreshes an equal one). valid() is asked only for a new shape: whether the line
// is valid JSON, when the walk did not check it.
template <class Valid>
void learn_shape(ShapeCache& shapes, const char* p, std::size_t len, const std::vector<LeafSpan>& spans,
                 Valid&& valid) {
  build_shape(shapes.candidate(), p, len, spans);
  const std::size_t i = shapes.find_candidate();
  if (i < shapes.size()) {
    shapes.touch(i);
  } else if (valid()) {
    shapes.adopt();
  }
}

// Parses one line as a JSON object and walks it with walk(obj); the whole line must
// be that one object (trailing content is an error, found only after the walk).
template <class Walk>
error_code parse_object_line(od::parser& parser, const char* p, std::size_t len, std::size_t capacity, Walk&& walk) {
  od::document doc;
  error_code err = parser.iterate(p, len, capacity).get(doc);
  if (err) return err;
  od::json_type type;
  if ((err = doc.type().get(type))) return err;
  if (type != od::json_type::object) return kNotAnObject;
  od::object obj;
  if ((err = doc.get_object().get(obj))) return err;
  if ((err = walk(obj))) return err;
  // Past the object the iterator must be at the end of the line.
  return doc.current_location().error() ? simdjson::SUCCESS : simdjson::TRAILING_CONTENT;
}

// Splits a chunk into lines and calls handle.line(p, len, capacity) for each non-blank
// one; then handle.accepted() for a valid line, or records the reject and calls
// handle.rejected(). Shared by the key-union pass and the conversion; nothing may be
// emitted before accepted().
template <class Handler>
void for_each_line(const Chunk& c, ChunkTally& tally, Handler&& handle) {
  tally.newlines = for_each_chunk_line(
      c, [&](const char* p, std::size_t len, std::size_t capacity, const char* raw_end, std::uint64_t line) {
        if (is_blank(p, len)) {
          ++tally.counts.blank;
        } else if (error_code err = handle.line(p, len, capacity)) {
          tally.rejects.push_back(line_reject(c, err, line, p, raw_end));
          handle.rejected();
        } else {
          ++tally.counts.valid;
          handle.accepted();
        }
      });
}

// ---- key union -------------------------------------------------------------------

struct KeyWork {
  od::parser parser;
  ShapeCache shapes;  // chunk-local, like `seen`: a shape stands for keys all in `seen`
  std::vector<LeafSpan> spans;
  ChunkTally tally;
  std::vector<std::string> keys;  // first-seen order within the chunk
  NameSet seen;
  std::vector<std::string> line_keys;  // keys the current line adds; committed if it is valid
  KeyHints key_hints;
  std::string scratch;

  KeyHints& hints() { return key_hints; }
  bool descend(std::string_view) { return true; }
  int column(std::string_view) { return -1; }
  void cell(int, std::string_view, Quoting) {}
  void new_leaf(std::string_view path) {
    if (!seen.count(path)) line_keys.emplace_back(path);
  }
  void unknown_leaf() {}
  void leafless_object() {}
  bool track_leaves() const { return false; }
};

// A sink that only validates: used to re-check a line whose keys are already known.
struct ValidateOnly {
  KeyHints& key_hints;
  KeyHints& hints() { return key_hints; }
  bool descend(std::string_view) { return true; }
  int column(std::string_view) { return -1; }
  void cell(int, std::string_view, Quoting) {}
  void new_leaf(std::string_view) {}
  void unknown_leaf() {}
  void leafless_object() {}
  bool track_leaves() const { return false; }
};

// The keys of one chunk's valid lines, in first-seen order, into w.keys.
void chunk_keys(const Chunk& c, KeyWork& w, const ConvertOptions& opts) {
  w.tally.clear();
  w.keys.clear();
  w.seen.clear();
  w.key_hints.clear();
  w.shapes.clear();
  // Only a line with a key this chunk has not seen can change the union, so only
  // such lines are validated in full (a broken line must never add a column);
  // the others are walked for their keys alone, or not at all when they match
  // the shape of a valid line whose keys are all known (same literals, so the
  // same key paths, whatever the values).
  struct Handler {
    KeyWork& w;
    bool flatten;
    bool use_shapes;
    error_code line(const char* p, std::size_t len, std::size_t cap) {
      w.line_keys.clear();
      if (use_shapes) {
        for (std::size_t i = 0; i < w.shapes.size(); ++i) {
          if (match_shape<false>(w.shapes[i], p, len, [](std::size_t, SlotKind, std::string_view) {})) {
            w.shapes.touch(i);
            return simdjson::SUCCESS;
          }
        }
        w.spans.clear();
      }
      Walker<KeyWork> keys_only(w, flatten, w.scratch, false);
      if (use_shapes) keys_only.record(&w.spans);
      error_code e = parse_object_line(w.parser, p, len, cap, [&](od::object obj) { return keys_only.object(obj); });
      auto validate = [&] {
        ValidateOnly check{w.key_hints};
        Walker<ValidateOnly> full(check, flatten, w.scratch, true);
        return parse_object_line(w.parser, p, len, cap, [&](od::object obj) { return full.object(obj); });
      };
      if (!e && w.line_keys.empty()) {
        if (use_shapes && keys_only.shape_ok()) {
          learn_shape(w.shapes, p, len, w.spans, [&] { return !validate(); });
        }
        return e;
      }
      e = validate();
      // Valid: accepted() adds its keys to `seen`, so its shape stands for known keys.
      if (!e && use_shapes && keys_only.shape_ok()) learn_shape(w.shapes, p, len, w.spans, [] { return true; });
      return e;
    }
    void accepted() {
      for (auto& k : w.line_keys) {
        if (w.seen.insert(k).second) w.keys.push_back(k);
      }
    }
    // The hints may describe keys of a rejected line that were never committed.
    void rejected() { w.key_hints.clear(); }
  } handler{w, opts.flatten, opts.line_shapes};
  for_each_line(c, w.tally, handler);
}

}  // namespace

std::vector<std::string> ndjson_key_union(InputFile& in, std::uint64_t begin, std::uint64_t end,
                                          const ConvertOptions& opts) {
  Chunker chunker(in, RecordKind::ndjson, begin, end, opts.chunker);
  std::vector<std::string> keys;
  NameSet seen;
  run_pipeline<KeyWork>(
      chunker, opts.pipeline, [&](const Chunk& c, KeyWork& w) { chunk_keys(c, w, opts); },
      [&](const Chunk&, KeyWork& w) {
        for (auto& k : w.keys) {
          if (seen.insert(k).second) keys.push_back(k);
        }
      });
  return keys;
}

namespace {

// ---- conversion ------------------------------------------------------------------

struct Cell {
  const char* p = nullptr;
  std::uint32_t n = 0;
  Quoting quoting = kNeverQuote;
  std::uint64_t row = 0;  // the row that set it; older rows' cells count as empty
};

struct RowWork {
  od::parser parser;
  ShapeCache shapes;
  std::vector<LeafSpan> spans;
  ChunkTally tally;
  std::string out;
  std::string scratch;
  std::vector<Cell> cells;
  KeyHints key_hints;
  std::uint64_t row = 0;
  std::size_t used = 0;      // the chunk's rows are out[0, used); CSV/TSV keep out bigger
  std::vector<char> filled;  // columns that got a value in this chunk
  const Columns* columns = nullptr;
  // Speculative columns (convert_ndjson): whether a valid line of the chunk has a leaf
  // path that is no column, so the key union has a column the output lacks; the rest
  // of such a chunk is skipped.
  bool speculative = false;
  bool line_new = false;  // the line being converted has such a leaf
  bool adds_keys = false;
  // A valid line of the chunk has an object value with no leaf under it: its cells may
  // differ once more columns make more prefixes ({} is the text of a column "a", or no
  // cell once "a.b" makes "a" a prefix), so its rows cannot just be given more columns.
  // A shape learned from such a line makes every later chunk of this worker fragile.
  bool line_fragile = false;
  bool fragile = false;
  bool fragile_shapes = false;
  std::vector<NdjsonRow> rows;  // while the writer holds rows: where each ends in out

  KeyHints& hints() { return key_hints; }
  bool descend(std::string_view path) { return columns->prefixes.count(path) > 0; }
  int column(std::string_view path) { return columns->find(path); }
  void new_leaf(std::string_view) {}
  void unknown_leaf() { line_new = true; }
  void leafless_object() { line_fragile = true; }
  bool track_leaves() const { return speculative; }
  void cell(int col, std::string_view text, Quoting quoting) {
    cells[static_cast<std::size_t>(col)] = Cell{text.data(), static_cast<std::uint32_t>(text.size()), quoting, row};
    filled[static_cast<std::size_t>(col)] = 1;
  }
};

// Converts one chunk into w.out (rows without the header); with `rows`, also where each
// row is in w.out and which source line it came from.
void convert_chunk(const Chunk& c, RowWork& w, const Columns& columns, bool flatten, RowFormat format,
                   std::vector<NdjsonRow>* rows, bool use_shapes) {
  const char delim = format == RowFormat::tsv ? '\t' : ',';
  const bool copy_text = format == RowFormat::copy_text;
  const bool cells = format == RowFormat::cells;
  const std::size_t ncols = columns.count;
  w.tally.clear();
  w.adds_keys = false;
  w.fragile = w.fragile_shapes;
  if (copy_text || cells) w.out.clear();  // CSV/TSV: rows are written from 0, over the last chunk's
  w.columns = &columns;
  if (w.cells.size() != ncols) w.cells.assign(ncols, Cell{});
  w.filled.assign(ncols, 0);
  struct Handler {
    RowWork& w;
    bool flatten;
    char delim;
    bool copy_text;
    bool cells;
    bool use_shapes;
    bool direct;  // CSV/TSV: rows may be written while matching (match_writing)
    std::vector<NdjsonRow>* rows;
    const char* base;
    const char* end;
    const char* src = nullptr;
    std::size_t src_len = 0;
    std::size_t used = 0;     // bytes of rows in w.out
    std::size_t written = 0;  // the end of a row match_writing() wrote past `used`, or 0
    error_code line(const char* p, std::size_t len, std::size_t cap) {
      if (w.adds_keys) return simdjson::SUCCESS;  // the chunk will be converted again (convert_ndjson)
      ++w.row;
      w.scratch.clear();
      w.line_new = false;
      w.line_fragile = false;
      src = p;
      src_len = len;
      if (use_shapes) {
        for (std::size_t i = 0; i < w.shapes.size(); ++i) {
          if (direct && w.shapes[i].ordered) {
            if (match_writing(w.shapes[i], p, len)) {
              w.shapes.touch(i);
              return simdjson::SUCCESS;
            }
            continue;
          }
          const std::vector<int>& col = w.shapes[i].column;
          // The cells the walker would set: an unescaped string's body, a number's or
          // literal's token; null sets none.
          auto slot = [&](std::size_t k, SlotKind kind, std::string_view text) {
            if (col[k] < 0 || kind == SlotKind::null) return;
            w.cell(col[k], text, kind == SlotKind::string ? kQuoteIfDelimiter : kNeverQuote);
          };
          if (match_shape<true>(w.shapes[i], p, len, slot)) {
            w.shapes.touch(i);
            return simdjson::SUCCESS;
          }
          ++w.row;  // cells of the failed match belong to no row
        }
        w.spans.clear();
      }
      Walker<RowWork> walker(w, flatten, w.scratch);
      if (use_shapes) walker.record(&w.spans);
      error_code e = parse_object_line(w.parser, p, len, cap, [&](od::object obj) { return walker.object(obj); });
      // A shape stands for its line's key paths: one with a path that is no column
      // would hide that path from later lines (speculative columns).
      if (!e && use_shapes && walker.shape_ok() && !(w.speculative && w.line_new)) {
        learn_shape(w.shapes, p, len, w.spans, [] { return true; });
        if (w.line_fragile) w.fragile_shapes = true;
      }
      return e;
    }
    // CSV/TSV from a shape whose columns come in column order: the row is written while
    // the line is matched, each slot's text straight after the delimiters of the columns
    // before it (no cells, no second pass); committed by accepted(). Same bytes as
    // write_delimited() (a null slot, like a missing key, leaves its cell empty).
    bool match_writing(const LineShape& shape, const char* p, std::size_t len) {
      const std::size_t n = w.cells.size();
      // As in write_delimited(), plus the 7 bytes an 8-byte store of delimiters may pass.
      const std::size_t room = 2 * len + 3 * n + 1 + 8;
      if (used + room > w.out.size()) w.out.resize(std::max(2 * w.out.size(), used + room));
      char* o = w.out.data() + used;
      std::size_t at = 0;  // the column o is in
      const int* col = shape.column.data();
      const std::uint64_t delims = swar::kOnes * static_cast<unsigned char>(delim);
      // The delimiters up to column c (words, not a byte loop the compiler makes a memset call).
      auto to_column = [&](std::size_t c) {
        while (at < c) {
          std::memcpy(o, &delims, 8);
          const std::size_t k = std::min<std::size_t>(c - at, 8);
          o += k;
          at += k;
        }
      };
      auto slot = [&](std::size_t k, SlotKind kind, std::string_view text) {
        const int c = col[k];
        if (c < 0 || kind == SlotKind::null) return;
        to_column(static_cast<std::size_t>(c));
        w.filled[static_cast<std::size_t>(c)] = 1;
        if (kind == SlotKind::string && contains_byte(text.data(), text.size(), delim)) {
          o = write_csv_field(o, text, delim);
        } else {
          o = copy_short(o, text.data(), text.size());
        }
      };
      if (!match_shape<true>(shape, p, len, slot)) return false;
      if (n > 0) to_column(n - 1);
      *o++ = '\n';
      written = static_cast<std::size_t>(o - w.out.data());
      return true;
    }
    void accepted() {
      std::string& out = w.out;
      const std::size_t n = w.cells.size();
      if (w.adds_keys) return;
      if (w.line_new && w.speculative) w.adds_keys = true;
      if (w.line_fragile) w.fragile = true;
      if (written) {
        used = written;
        written = 0;
      } else if (cells) {
        write_cells(n);
      } else if (copy_text) {
        for (std::size_t i = 0; i < n; ++i) {
          if (i) out += '\t';
          const Cell& cell = w.cells[i];
          if (cell.row != w.row || cell.n == 0) {
            out += "\\N";
          } else {
            append_copy_text_field(out, std::string_view(cell.p, cell.n));
          }
        }
        out += '\n';
        used = out.size();
      } else {
        write_delimited(n);
      }
      if (rows) {
        // The source line with its line end ("\r\n" or "\n"; none at the end of the input).
        const char* e = src + src_len;
        if (e < end && *e == '\r') ++e;
        if (e < end && *e == '\n') ++e;
        rows->push_back(NdjsonRow{used, static_cast<std::size_t>(src - base), static_cast<std::size_t>(e - base)});
      }
    }
    // CSV/TSV rows go straight into w.out, which is kept at a size past `used` (the end
    // of the rows) and cut to `used` after the chunk: one bound check per row instead of
    // std::string's per append. The cells are distinct pieces of the line, none longer
    // than its token there, so a row takes at most 2 * src_len (every byte a doubled
    // quote) plus two quotes and a delimiter per column, plus the newline.
    void write_delimited(std::size_t n) {
      const std::size_t room = 2 * src_len + 3 * n + 1;
      if (used + room > w.out.size()) w.out.resize(std::max(2 * w.out.size(), used + room));
      char* o = w.out.data() + used;
      for (std::size_t i = 0; i < n; ++i) {
        if (i) *o++ = delim;
        const Cell& cell = w.cells[i];
        if (cell.row != w.row) continue;
        std::string_view text(cell.p, cell.n);
        if (cell.quoting == kQuoteIfNeeded ||
            (cell.quoting == kQuoteIfDelimiter && contains_byte(text.data(), text.size(), delim))) {
          o = write_csv_field(o, text, delim);
        } else {
          o = copy_short(o, text.data(), text.size());
        }
      }
      *o++ = '\n';
      used = static_cast<std::size_t>(o - w.out.data());
    }
    // RowFormat::cells: per column a kind byte (CellKind), then, unless null, the
    // text's length (4 bytes, native order) and the text.
    void write_cells(std::size_t n) {
      std::string& out = w.out;
      for (std::size_t i = 0; i < n; ++i) {
        const Cell& cell = w.cells[i];
        if (cell.row != w.row) {
          out += static_cast<char>(CellKind::null);
          continue;
        }
        CellKind kind = CellKind::string;  // a string's text, or an array's or object's JSON text
        if (cell.quoting == kNeverQuote) kind = *cell.p == 't' || *cell.p == 'f' ? CellKind::boolean : CellKind::number;
        out += static_cast<char>(kind);
        char len[4];
        std::memcpy(len, &cell.n, 4);
        out.append(len, 4);
        out.append(cell.p, cell.n);
      }
      used = out.size();
    }
    void rejected() {}
  } handler{w,
            flatten,
            delim,
            copy_text,
            cells,
            use_shapes && simdjson::validate_utf8(c.data, c.size),
            !copy_text && !cells,
            rows,
            c.data,
            c.data + c.size};
  // Unescaped strings and compact JSON are never longer than the line they come
  // from, so reserving the chunk size keeps views into scratch valid.
  if (w.scratch.capacity() < c.size) w.scratch.reserve(c.size);
  if (copy_text || cells) {
    if (w.out.capacity() < c.size + c.size / 4) w.out.reserve(c.size + c.size / 4);
  } else if (w.out.size() < c.size + c.size / 4) {
    w.out.reserve(c.size + c.size / 4);
    advise_huge(w.out.data(), w.out.capacity());
    w.out.resize(c.size + c.size / 4);  // zero-filled once, not per chunk
  }
  for_each_line(c, w.tally, handler);
  w.used = handler.used;
}

class ChunkConverter final : public NdjsonChunkConverter {
 public:
  ChunkConverter(const std::vector<std::string>& names, RowFormat format, bool flatten)
      : columns_(names), format_(format), flatten_(flatten) {}
  void convert(const Chunk& c, std::string& out, std::vector<NdjsonRow>& rows, ChunkTally& tally) override {
    rows.clear();
    work_.out.swap(out);  // the caller's buffer keeps its capacity from chunk to chunk
    convert_chunk(c, work_, columns_, flatten_, format_, &rows, true);
    work_.out.resize(work_.used);
    work_.out.swap(out);
    tally = std::move(work_.tally);
  }

 private:
  Columns columns_;
  RowFormat format_;
  bool flatten_;
  RowWork work_;
};

}  // namespace

std::unique_ptr<NdjsonChunkConverter> make_ndjson_converter(const std::vector<std::string>& columns, RowFormat format,
                                                            bool flatten) {
  return std::make_unique<ChunkConverter>(columns, format, flatten);
}

namespace {

// The keys of the first chunk of [begin, end): the speculative columns.
std::vector<std::string> first_chunk_keys(InputFile& in, std::uint64_t begin, std::uint64_t end,
                                          const ConvertOptions& opts) {
  Chunker chunker(in, RecordKind::ndjson, begin, end, opts.chunker);
  Buffer buf;
  Chunk c;
  if (!chunker.next(buf, c)) return {};
  KeyWork w;
  chunk_keys(c, w, opts);
  return std::move(w.keys);
}

// Thrown by the writer of a speculative conversion at the first chunk (in input order)
// with a valid line whose keys are not all columns; caught by convert_ndjson.
struct ColumnsMissed {
  std::uint64_t offset;  // the chunk's source offset
};

// What a conversion of chunks has made so far, carried from pass to pass.
struct PassState {
  std::vector<char> filled;  // per column: a valid record gave it a value
  std::uint64_t done = 0;    // input bytes converted
  // Speculative: the rows of the first chunks (with the end of each), held instead of
  // written while they and their ends take at most `hold_limit` bytes, so that new columns can be
  // added to them (empty cells at the end of each row) without converting them again.
  bool holding = false;
  bool held_fragile = false;  // a held chunk is RowWork::fragile
  std::string held;
  std::vector<std::size_t> held_ends;
};

std::string header_of(const std::vector<std::string>& columns, char delim) {
  std::string header;
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (i) header += delim;
    append_csv_field(header, columns[i], delim);
  }
  if (!columns.empty()) header += '\n';
  return header;
}

// How many bytes of rows a speculative conversion holds (PassState).
std::size_t hold_limit(const ConvertOptions& opts) {
  return std::min<std::size_t>(2 * opts.chunker.chunk_size, std::size_t{64} << 20);
}

// Gives each held row `pad` more delimiters at its end (empty cells of new columns).
// When the padded rows would take more than the hold limit (many short rows, many new
// columns), they are written instead, after the header, 1 MiB at a time, and holding
// stops: memory stays bounded by the limit.
void pad_held(ConvertRun& run, PassState& st, char delim, std::size_t pad) {
  if (pad == 0) return;
  const std::size_t padded = st.held.size() + st.held_ends.size() * pad;
  const bool keep = padded + st.held_ends.size() * sizeof(std::size_t) <= hold_limit(run.opts);
  constexpr std::size_t kPiece = std::size_t{1} << 20;
  if (!keep) run.out.write(header_of(run.columns, delim));
  std::string out;
  out.reserve(keep ? padded : kPiece);
  std::size_t from = 0;
  for (std::size_t& end : st.held_ends) {
    out.append(st.held, from, end - 1 - from);  // the row without its '\n'
    out.append(pad, delim);
    out += '\n';
    from = end;
    end = out.size();
    if (!keep && out.size() >= kPiece) {
      run.out.write(out);
      out.clear();
    }
  }
  if (keep) {
    st.held = std::move(out);
    return;
  }
  run.out.write(out);
  st.holding = false;
  st.held = std::string();
  st.held_ends = std::vector<std::size_t>();
}

// Writes the header and the held rows, and stops holding.
void write_held(ConvertRun& run, PassState& st, char delim) {
  if (!st.holding) return;  // pad_held wrote them
  run.out.write(header_of(run.columns, delim));
  run.out.write(st.held);
  st.holding = false;
  st.held = std::string();
  st.held_ends = std::vector<std::size_t>();
}

// Converts [begin, run.end) of run.in with run.columns into run.out, continuing `st`.
// With `speculative`, throws ColumnsMissed instead of writing a chunk that adds a key,
// and holds the first rows (PassState); else the header is written first when
// `header`.
void convert_pass(ConvertRun& run, PassState& st, std::uint64_t begin, bool speculative, bool header) {
  const ConvertOptions& opts = run.opts;
  const RowFormat format = run.to == RecordKind::tsv ? RowFormat::tsv : RowFormat::csv;
  const char delim = format == RowFormat::tsv ? '\t' : ',';
  const Columns columns(run.columns);
  const std::size_t ncols = run.columns.size();
  st.filled.resize(ncols, 0);
  if (header && !speculative) run.out.write(header_of(run.columns, delim));
  const std::size_t limit = hold_limit(opts);
  Chunker chunker(run.in, RecordKind::ndjson, begin, run.end, opts.chunker);
  std::atomic<bool> missed{false};  // a chunk added keys: the rest is converted in vain
  std::atomic<bool> holding{st.holding};
  run_pipeline<RowWork>(
      chunker, opts.pipeline,
      [&](const Chunk& c, RowWork& w) {
        w.speculative = speculative;
        if (speculative && missed.load(std::memory_order_relaxed)) return;  // its writer throws first
        w.rows.clear();
        convert_chunk(c, w, columns, opts.flatten, format, holding.load() ? &w.rows : nullptr, opts.line_shapes);
      },
      [&](const Chunk& c, RowWork& w) {
        if (missed) return;  // TBB stops the pipeline after the throw; nothing more is written
        if (speculative && w.adds_keys) {
          missed = true;
          throw ColumnsMissed{c.offset};
        }
        run.ledger.add(c, w.tally);
        for (std::size_t i = 0; i < ncols; ++i) st.filled[i] |= w.filled[i];
        // The limit counts the row ends too (a row may be one byte).
        const std::size_t ends = (st.held_ends.size() + w.rows.size()) * sizeof(std::size_t);
        if (st.holding && st.held.size() + w.used + ends <= limit) {
          const std::size_t at = st.held.size();
          if (at == 0) st.held.reserve(limit);  // pages are touched only as rows come
          st.held_fragile |= w.fragile;
          st.held.append(w.out.data(), w.used);
          for (const NdjsonRow& r : w.rows) st.held_ends.push_back(at + r.out_end);
        } else {
          if (st.holding) {
            holding = false;
            write_held(run, st, delim);
          }
          run.out.write(w.out.data(), w.used);
        }
        st.done += c.size;
        if (opts.progress) opts.progress(st.done, run.ledger.counts().total());
      });
  if (st.holding) write_held(run, st, delim);
}

}  // namespace

// Without --fields/--schema the columns are the key union of the valid lines, in
// first-seen order. Where the output can be taken back (a temporary file, a remote
// object), they are speculated: the first chunk's keys, checked by every chunk's
// conversion. When a chunk k has a valid line with another key (the chunks before k
// added none, and new columns come last): if the rows before chunk k are still held
// (they are few, PassState), they get empty cells for chunk k's new keys and the
// speculative conversion goes on from chunk k. Else the columns become the keys so far
// plus the union of chunks k.. from a pre-pass over the rest, and the output and the
// ledger start over: at worst (a new key on the last line) two conversions and a
// pre-pass. Elsewhere (stdout, a FIFO) the union is a pre-pass. Either way the output
// is the same.
void convert_ndjson(ConvertRun& run) {
  const ConvertOptions& opts = run.opts;
  bool speculative = false;
  if (run.columns.empty() && opts.fields.empty() && !run.columns_found) {
    if (!run.in.seekable()) {
      throw usage_error("NDJSON from a stream needs --fields or --schema (the column union takes a pre-pass)");
    }
    speculative = run.out.rewindable() && run.ledger.can_restart() && speculation_allowed();
    if (speculative) {
      run.columns = first_chunk_keys(run.in, run.begin, run.end, opts);
      run.column_union = ColumnUnion::first_chunk;
    } else {
      run.columns = ndjson_key_union(run.in, run.begin, run.end, opts);
      run.column_union = ColumnUnion::pre_pass;
    }
  }
  const char delim = run.to == RecordKind::tsv ? '\t' : ',';
  PassState st;
  st.holding = speculative;
  std::uint64_t from = run.begin;
  bool header = true;
  for (;;) {
    try {
      convert_pass(run, st, from, speculative, header);
      break;
    } catch (const ColumnsMissed& m) {
      if (run.column_union == ColumnUnion::first_chunk) run.restart_offset = m.offset;
      const std::size_t known = run.columns.size();
      NameSet seen(run.columns.begin(), run.columns.end());
      auto add = [&](std::vector<std::string> keys) {
        for (std::string& k : keys) {
          if (seen.insert(k).second) run.columns.push_back(std::move(k));
        }
        // A row of n columns has n - 1 delimiters (none for no column).
        const std::size_t added = run.columns.size() - known;
        return known == 0 && added > 0 ? added - 1 : added;
      };
      const bool held = st.holding && !st.held_fragile;
      if (held) {
        // Every row before chunk k is held: the new keys of chunk k are added as
        // columns and the conversion goes on speculating from chunk k, so a key first
        // seen early in the input costs no pre-pass. A chunk read from k that shows no
        // new key (its end may differ from chunk k's) falls to the pre-pass below.
        const std::size_t pad = add(first_chunk_keys(run.in, m.offset, run.end, opts));
        if (run.columns.size() > known) {
          pad_held(run, st, delim, pad);
          run.column_union = ColumnUnion::extended;
          from = m.offset;
          continue;
        }
      }
      const std::size_t pad = add(ndjson_key_union(run.in, m.offset, run.end, opts));
      speculative = false;
      if (held) {
        pad_held(run, st, delim, pad);
        write_held(run, st, delim);
        run.column_union = ColumnUnion::extended;
        from = m.offset;
        header = false;
      } else {
        run.out.rewind();
        run.ledger.restart();
        st = PassState{};
        run.column_union = ColumnUnion::restarted;
        from = run.begin;
      }
    }
  }
  run.bytes = st.done;
  for (std::size_t i = 0; i < run.columns.size(); ++i) {
    if (!st.filled[i]) run.empty_columns.push_back(run.columns[i]);
  }
}

}  // namespace ingot::detail::INGOT_NDJSON_VARIANT
