#include "ingot/split/manifest.h"

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "ingot/io/output.h"
#include "ingot/util/error.h"
#include "ingot/util/hash.h"

namespace ingot {

using nlohmann::json;
using ordered = nlohmann::ordered_json;  // written in a fixed, readable order: ingot_manifest first

std::string piece_name(const std::string& prefix, std::uint64_t index, unsigned digits, const std::string& ext) {
  std::string n = std::to_string(index);
  if (n.size() < digits) n.insert(0, digits - n.size(), '0');
  return prefix + n + ext;
}

namespace {

template <class T>
nlohmann::ordered_json opt(const std::optional<T>& v) {
  return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
}

std::string to_hex(const std::string& bytes) {
  static const char d[] = "0123456789abcdef";
  std::string s;
  for (unsigned char c : bytes) {
    s += d[c >> 4];
    s += d[c & 15];
  }
  return s;
}

bool valid_utf8(const std::string& s) {
  try {
    (void)json(s).dump();
    return true;
  } catch (const json::type_error&) {
    return false;
  }
}

// The path as stored: a bare name when the piece lives next to the manifest.
std::string stored_path(const std::string& piece, const std::string& manifest_dir) {
  if (piece.empty()) return piece;
  if (parent_dir(piece) == manifest_dir) {
    auto slash = piece.find_last_of('/');
    return slash == std::string::npos ? piece : piece.substr(slash + 1);
  }
  if (is_remote_path(piece)) return piece;
  // Elsewhere: absolute, since a relative name would be read relative to the manifest.
  return std::filesystem::absolute(piece).lexically_normal().string();
}

// Field readers: each failure says which field and what was wrong with it.
class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {}

  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    throw data_error("not a valid split manifest: " + field + ": " + what).at_path(path_);
  }
  const json& get(const json& obj, const char* key, const std::string& where) const {
    if (!obj.is_object()) fail(where, "not a JSON object");
    auto it = obj.find(key);
    if (it == obj.end()) fail(where + key, "missing");
    return *it;
  }
  std::uint64_t u64(const json& obj, const char* key, const std::string& where) const {
    const json& v = get(obj, key, where);
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<std::int64_t>() >= 0)) {
      fail(where + key, "not a non-negative integer");
    }
    return v.get<std::uint64_t>();
  }
  std::optional<std::uint64_t> opt_u64(const json& obj, const char* key, const std::string& where) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return std::nullopt;
    return u64(obj, key, where);
  }
  std::string str(const json& obj, const char* key, const std::string& where) const {
    const json& v = get(obj, key, where);
    if (!v.is_string()) fail(where + key, "not a string");
    return v.get<std::string>();
  }
  std::optional<std::string> opt_str(const json& obj, const char* key, const std::string& where) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return std::nullopt;
    return str(obj, key, where);
  }
  bool boolean(const json& obj, const char* key, const std::string& where) const {
    const json& v = get(obj, key, where);
    if (!v.is_boolean()) fail(where + key, "not true or false");
    return v.get<bool>();
  }

 private:
  std::string path_;
};

std::string from_hex(const std::string& hex, const Reader& r) {
  auto nib = [&](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    r.fail("header_hex", "not hexadecimal");
  };
  if (hex.size() % 2) r.fail("header_hex", "odd number of hex digits");
  std::string s;
  for (std::size_t i = 0; i < hex.size(); i += 2) s += static_cast<char>(nib(hex[i]) * 16 + nib(hex[i + 1]));
  return s;
}

}  // namespace

std::string manifest_json(const Manifest& m, const std::string& manifest_dir) {
  ordered j;
  j["ingot_manifest"] = kManifestFormat;
  j["ingot_version"] = m.version;
  j["source"] = {{"path", m.source},
                 {"size", m.fingerprint.size},
                 {"mtime_ns", m.fingerprint.mtime_ns},
                 {"edge_xxh3", xxh3_hex(m.fingerprint.edge_hash)}};
  j["kind"] = m.kind;
  j["plan"] = m.plan;
  j["mode"] = m.mode;
  j["amount"] = m.amount;
  // JSON strings must be UTF-8; a Latin-1 header is stored as hex instead, byte-exact.
  if (m.header.empty() || valid_utf8(m.header)) {
    j["header"] = m.header.empty() ? ordered(nullptr) : ordered(m.header);
  } else {
    j["header"] = nullptr;
    j["header_hex"] = to_hex(m.header);
  }
  j["filter"] = m.filter.empty() ? ordered(nullptr) : ordered(m.filter);
  if (!m.compression.empty()) j["compression"] = m.compression;  // absent: pieces are not compressed
  // The prefix is stored like the piece paths (a bare name next to the manifest), so
  // the manifest does not depend on where the split ran.
  std::string prefix = stored_path(m.prefix + "0", manifest_dir);
  prefix.pop_back();
  j["names"] = {{"prefix", prefix}, {"digits", m.digits}, {"extension", m.extension}};
  ordered pieces = ordered::array();
  std::uint64_t bytes = 0, records = 0;
  bool counted = true;  // every piece's records known
  for (std::size_t i = 0; i < m.pieces.size(); ++i) {
    const ManifestPiece& p = m.pieces[i];
    pieces.push_back({{"piece", i + 1},
                      {"path", stored_path(p.path, manifest_dir)},
                      {"offset", p.offset},
                      {"length", p.length},
                      {"first_record", opt(p.first_record)},
                      {"records", opt(p.records)},
                      {"header_bytes", p.header_bytes},
                      {"size", opt(p.size)},
                      {"xxh3", opt(p.xxh3)},
                      {"oversized", p.oversized}});
    if (p.etag) pieces.back()["etag"] = *p.etag;
    bytes += p.length;
    counted = counted && p.records.has_value();
    records += p.records.value_or(0);
  }
  j["pieces"] = std::move(pieces);
  j["totals"] = {
      {"pieces", m.pieces.size()}, {"bytes", bytes}, {"records", counted ? ordered(records) : ordered(nullptr)}};
  return j.dump(2) + "\n";
}

void write_manifest(const std::string& path, const Manifest& m, bool overwrite) {
  OutputFile out = OutputFile::create(path, {.overwrite = overwrite, .fsync = false});
  out.write(manifest_json(m, parent_dir(path)));
  out.commit();
}

namespace {
std::string manifest_text(const std::string& path) {
  if (is_remote_path(path)) {
    InputFile in = InputFile::open(path, Decode::raw, InputFile::Remote::allow);
    std::string text(in.size(), '\0');
    text.resize(in.read_at(text.data(), text.size(), 0));
    return text;
  }
  std::ifstream f(path, std::ios::binary);
  if (!f) throw sys_error("cannot open manifest", errno).at_path(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// A name stored relative to the manifest, made usable from here.
std::string beside(const std::string& name, const std::string& dir) {
  if (name.empty() || name[0] == '/' || is_remote_path(name) || dir == ".") return name;
  return dir + "/" + name;
}
}  // namespace

Manifest read_manifest(const std::string& path) {
  const std::string text = manifest_text(path);
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    // The parser reports the end of the input as the byte after the last one.
    if (e.byte > text.size()) {
      throw data_error("not a valid split manifest: truncated (its JSON stops after " + std::to_string(text.size()) +
                       " bytes)")
          .at_path(path);
    }
    throw data_error("not a valid split manifest: not JSON (parse error at byte " + std::to_string(e.byte) + ")")
        .at_path(path);
  } catch (const json::exception& e) {  // e.g. a number too large for a double (6e666)
    throw data_error(std::string("not a valid split manifest: ") + e.what()).at_path(path);
  }
  Reader r(path);
  if (!j.is_object() || !j.contains("ingot_manifest"))
    r.fail("ingot_manifest", "missing (not a manifest written by ingot split)");
  if (r.u64(j, "ingot_manifest", "") != kManifestFormat) {
    r.fail("ingot_manifest", "format " + j["ingot_manifest"].dump() + " is not supported (this ingot reads " +
                                 std::to_string(kManifestFormat) + ")");
  }
  Manifest m;
  m.dir = parent_dir(path);
  m.version = r.str(j, "ingot_version", "");
  const json& src = r.get(j, "source", "");
  m.source = r.str(src, "path", "source.");
  m.fingerprint.size = r.u64(src, "size", "source.");
  {
    const json& mt = r.get(src, "mtime_ns", "source.");
    if (!mt.is_number_integer()) r.fail("source.mtime_ns", "not an integer");
    m.fingerprint.mtime_ns = mt.get<std::int64_t>();
  }
  auto edge = parse_xxh3_hex(r.str(src, "edge_xxh3", "source."));
  if (!edge) r.fail("source.edge_xxh3", "not 16 hex digits");
  m.fingerprint.edge_hash = *edge;
  m.kind = r.str(j, "kind", "");
  if (m.kind != "lines" && m.kind != "ndjson" && m.kind != "csv" && m.kind != "tsv") {
    r.fail("kind", "'" + m.kind + "' is not lines, ndjson, csv or tsv");
  }
  m.plan = r.boolean(j, "plan", "");
  m.mode = r.str(j, "mode", "");
  m.amount = r.u64(j, "amount", "");
  if (auto h = r.opt_str(j, "header_hex", ""))
    m.header = from_hex(*h, r);
  else
    m.header = r.opt_str(j, "header", "").value_or("");
  m.filter = r.opt_str(j, "filter", "").value_or("");
  m.compression = r.opt_str(j, "compression", "").value_or("");
  if (!m.compression.empty() && m.compression != "gzip" && m.compression != "zstd") {
    r.fail("compression", "'" + m.compression + "' is not gzip or zstd");
  }
  const json& names = r.get(j, "names", "");
  m.prefix = r.str(names, "prefix", "names.");
  m.prefix = beside(m.prefix, m.dir);
  m.extension = r.str(names, "extension", "names.");
  m.digits = static_cast<unsigned>(r.u64(names, "digits", "names."));

  const json& pieces = r.get(j, "pieces", "");
  if (!pieces.is_array()) r.fail("pieces", "not an array");
  std::uint64_t end = 0;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    const std::string where = "pieces[" + std::to_string(i) + "].";
    const json& pj = pieces[i];
    ManifestPiece p;
    p.path = r.str(pj, "path", where);
    p.path = beside(p.path, m.dir);
    p.offset = r.u64(pj, "offset", where);
    p.length = r.u64(pj, "length", where);
    p.first_record = r.opt_u64(pj, "first_record", where);
    p.records = r.opt_u64(pj, "records", where);
    p.header_bytes = r.u64(pj, "header_bytes", where);
    p.size = r.opt_u64(pj, "size", where);
    p.xxh3 = r.opt_str(pj, "xxh3", where);
    if (auto it = pj.find("oversized"); it != pj.end() && it->is_boolean()) p.oversized = it->get<bool>();
    p.etag = r.opt_str(pj, "etag", where);
    // Ranges come in source order, without overlap: merge relies on it to rebuild the source.
    if (p.offset < end) r.fail(where + "offset", "overlaps the previous piece");
    if (p.offset + p.length < p.offset) r.fail(where + "length", "out of range");
    if (m.source != "-" && p.offset + p.length > m.fingerprint.size)
      r.fail(where + "length", "reaches past the end of the source");
    if (p.header_bytes != 0 && p.header_bytes != m.header.size())
      r.fail(where + "header_bytes", "does not match the header");
    // Compressed pieces (split --compress): size is what is stored, not header + body.
    if (p.size && m.compression.empty() && *p.size != p.header_bytes + p.length) {
      r.fail(where + "size", "is not header_bytes + length");
    }
    if (p.xxh3 && !parse_xxh3_hex(*p.xxh3)) r.fail(where + "xxh3", "not 16 hex digits");
    end = p.offset + p.length;
    m.pieces.push_back(std::move(p));
  }
  return m;
}

ByteRange manifest_piece_range(const Manifest& m, std::uint64_t k) {
  if (k == 0 || k > m.pieces.size()) {
    throw usage_error("--piece " + std::to_string(k) + " is out of range (the manifest has " +
                      std::to_string(m.pieces.size()) + " piece" + (m.pieces.size() == 1 ? "" : "s") + ")");
  }
  const ManifestPiece& p = m.pieces[k - 1];
  return ByteRange{p.offset, p.offset + p.length};
}

}  // namespace ingot
