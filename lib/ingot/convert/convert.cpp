// The convert driver: resolves formats and the byte range, opens output and rejects,
// picks the direction, and assembles the report.
#include "ingot/convert/convert.h"

#include <cctype>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "ingot/io/input.h"
#include "ingot/io/output.h"
#include "ingot/io/same_file.h"
#include "ingot/convert/convert_internal.h"

namespace ingot {

std::vector<std::string> read_schema(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw io_error("cannot read schema file").at_path(path);
  std::stringstream ss;
  ss << f.rdbuf();
  std::string text = ss.str();
  std::vector<std::string> cols;
  auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '[') {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_array()) throw data_error("schema is not a JSON array of column names").at_path(path);
    for (auto& v : j) {
      // An object is a typed entry as the Parquet --schema-out writes: {"name", "type", "line"}.
      if (v.is_object() && v.contains("name") && v["name"].is_string()) {
        cols.push_back(v["name"].get<std::string>());
        continue;
      }
      if (!v.is_string()) throw data_error("schema holds a non-string column name").at_path(path);
      cols.push_back(v.get<std::string>());
    }
  } else {
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty()) cols.push_back(line);
    }
  }
  return cols;
}

namespace {

void write_schema(const std::string& path, const std::vector<std::string>& cols) {
  OutputFile f = OutputFile::create(path);
  f.write(nlohmann::json(cols).dump(2) + "\n");
  f.commit();
}

Codec detect_codec_by_suffix(const std::string& path) {
  if (strip_codec_suffix(path) == path) return Codec::none;
  return path.back() == 'z' ? Codec::gzip : Codec::zstd;  // ".gz" or ".zst"
}

RecordKind resolve_kind(const std::optional<RecordKind>& given, const std::string& path, const char* what) {
  if (given) return *given;
  if (auto k = record_kind_from_path(path)) return *k;
  throw usage_error(std::string("cannot tell the ") + what + " format from '" + path + "'; pass --" +
                    (std::string(what) == "input" ? "from" : "to"));
}

std::string with_commas(std::uint64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<std::size_t>(i), ",");
  return s;
}

// A guess at what a file with no valid record is, from its first bytes: "" when it
// looks like text (then the format, not the file, is the likely mistake).
std::string looks_like(const InputFile& in) {
  if (!in.seekable()) return {};
  std::string head(4096, '\0');
  head.resize(in.read_at(head.data(), head.size(), 0));
  static const std::pair<std::string_view, const char*> kMagic[] = {{"%PDF-", "a PDF document"},
                                                                    {"\x89PNG\r\n\x1a\n", "a PNG image"},
                                                                    {"\xff\xd8\xff", "a JPEG image"},
                                                                    {"\x7f"
                                                                     "ELF",
                                                                     "an executable (ELF)"},
                                                                    {"PAR1", "a Parquet file"},
                                                                    {"SQLite format 3", "an SQLite database"},
                                                                    {"GIF8", "a GIF image"}};
  for (const auto& [magic, what] : kMagic) {
    if (std::string_view(head).starts_with(magic)) return what;
  }
  std::size_t control = 0;
  for (unsigned char c : head) {
    if (c == 0 || (c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f')) ++control;
  }
  return control > 0 ? "binary data" : "";
}

// The message for a non-empty input without one valid record.
std::string no_valid_record(const InputFile& in, RecordKind from, const RecordLedger& ledger) {
  const RecordCounts& c = ledger.counts();
  std::string kind = record_kind_name(from);
  for (char& ch : kind) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  std::string m = "no valid record in " + with_commas(c.invalid) + (c.invalid == 1 ? " record" : " records") +
                  " (all invalid; the first: line " + with_commas(ledger.first_reject_line()) + ": " +
                  ledger.first_reject_reason() + "); is it " + kind + "?";
  const std::string guess = looks_like(in);
  if (!guess.empty()) m += " It looks like " + guess;
  return m;
}

}  // namespace

namespace detail {
bool speculation_allowed() {
  const char* v = std::getenv("INGOT_SPECULATE");
  return v == nullptr || std::string_view(v) != "0";
}
}  // namespace detail

const char* column_union_name(ColumnUnion u) {
  switch (u) {
    case ColumnUnion::none: return "";
    case ColumnUnion::pre_pass: return "pre-pass";
    case ColumnUnion::first_chunk: return "first-chunk";
    case ColumnUnion::extended: return "extended";
    case ColumnUnion::restarted: return "restarted";
  }
  return "";
}

Result<ConvertReport> convert(const ConvertOptions& opts) {
  return capture([&]() -> ConvertReport {
    const auto t0 = std::chrono::steady_clock::now();
    InputFile in = InputFile::open(opts.input, Decode::auto_detect, InputFile::Remote::allow);
    refuse_same_files({{"", opts.input}, {"--schema", opts.schema_in}},
                      {{"-o", opts.output}, {"--rejects", opts.rejects}, {"--schema-out", opts.schema_out}});
    RecordKind from = resolve_kind(opts.from, opts.input, "input");
    const bool parquet = opts.to_parquet || (!opts.to && opts.output.ends_with(".parquet"));
    // To stdout without --to: NDJSON becomes CSV, CSV/TSV become NDJSON. Parquet is no
    // RecordKind (nothing cuts records in it); `to` stays unused then.
    RecordKind to = parquet ? RecordKind::csv
                    : opts.to || opts.output != "-"
                        ? resolve_kind(opts.to, opts.output, "output")
                        : (from == RecordKind::ndjson ? RecordKind::csv : RecordKind::ndjson);
    if (from == RecordKind::lines || to == RecordKind::lines)
      throw usage_error("convert reads and writes ndjson, csv or tsv");
    if (parquet && opts.compress && *opts.compress != Codec::none)
      throw usage_error("Parquet compresses its own pages: use --compression zstd|none, not --compress");
    if (from == RecordKind::ndjson && to == RecordKind::ndjson && !parquet)
      throw usage_error("NDJSON to NDJSON is not a conversion");
    if (!opts.fields.empty() && !opts.schema_in.empty()) throw usage_error("--fields and --schema exclude each other");
    if (from != RecordKind::ndjson && (!opts.fields.empty() || (!opts.schema_in.empty() && !parquet))) {
      throw usage_error(parquet ? "--fields applies to NDJSON input" : "--fields and --schema apply to NDJSON input");
    }

    if (parquet && (opts.part || opts.range))
      throw usage_error("--part cannot write Parquet: each part would find its own types; convert the whole file");
    if (parquet && opts.schema_only)
      throw usage_error("--schema-only finds NDJSON columns; with Parquet, use --schema-out");
    std::uint64_t begin = 0, end = kToEnd;
    if (opts.part || opts.range) {
      if (in.compressed()) {
        throw usage_error(std::string("--part needs random access, which ") + codec_name(in.codec()) +
                          "-compressed input does not allow; decompress it first")
            .at_path(in.display_name());
      }
      if (!in.seekable()) throw usage_error("--part needs a file, not a stream");
      ByteRange r =
          opts.range ? *opts.range : part_range(in, from, opts.part->k, opts.part->n, opts.delimiter.value_or(0));
      begin = r.begin;
      end = r.end;
    }
    std::vector<std::string> columns = opts.fields;
    bool columns_found = false;  // columns is the key union already, even when empty
    if (!opts.schema_in.empty() && from == RecordKind::ndjson) columns = read_schema(opts.schema_in);
    if (from == RecordKind::ndjson && columns.empty() && in.compressed() && !(opts.part || opts.range)) {
      // A compressed file cannot be read twice in place, but it can be decoded twice:
      // the column union from a first decoding, the conversion from `in` (decoding is a
      // fraction of the conversion: docs/compression.md has the figures). The same file
      // both times, or the union could miss a key of the file converted.
      InputFile first = InputFile::open(opts.input, Decode::auto_detect, InputFile::Remote::allow);
      columns = detail::ndjson_key_union(first, 0, kToEnd, opts);
      columns_found = true;
      if (!(first.fingerprint() == in.fingerprint()))
        throw data_error("changed while its columns were found; run again").at_path(in.display_name());
    }

    if (from == RecordKind::ndjson && columns.empty() && (opts.part || opts.range) && !opts.schema_only) {
      // Each part would find only its own keys, and the parts could not be merged.
      throw usage_error(
          "--part with NDJSON needs --fields or --schema, so that every part has the same "
          "columns; make the schema once with: ingot convert " +
          opts.input + " --schema-only --schema-out cols.json");
    }
    if (opts.schema_only) {
      if (from != RecordKind::ndjson || opts.schema_out.empty()) {
        throw usage_error("--schema-only finds the columns of NDJSON input and needs --schema-out FILE");
      }
      if (!in.seekable() && !in.compressed()) throw usage_error("--schema-only needs a file, not a stream");
      ConvertReport rep;
      auto cols = in.compressed() ? columns : detail::ndjson_key_union(in, begin, end, opts);
      write_schema(opts.schema_out, cols);
      rep.input = in.display_name();
      rep.output = opts.schema_out;
      rep.from = record_kind_name(from);
      rep.to = "schema";
      rep.columns = cols.size();
      rep.bytes = (end == kToEnd ? in.size() : end) - begin;
      rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      return rep;
    }

    OutputOptions oo;
    oo.compress = parquet
                      ? Codec::none
                      : opts.compress.value_or(opts.output == "-" ? Codec::none : detect_codec_by_suffix(opts.output));
    const bool rolling = parquet && opts.max_file_size > 0;
    if (rolling && opts.output == "-") throw usage_error("--max-file-size writes numbered files; pass -o FILE");
    if (opts.max_file_size > 0 && !parquet) throw usage_error("--max-file-size applies to Parquet output");
    OutputFile out = OutputFile::create(rolling ? detail::parquet_part_name(opts.output, 0) : opts.output, oo);
    RecordLedger ledger(in.display_name(), opts.errors, opts.rejects, opts.first_line);
    detail::ConvertRun run{
        .opts = opts, .in = in, .from = from, .to = to, .begin = begin, .end = end, .out = out, .ledger = ledger};
    run.columns = std::move(columns);
    run.columns_found = columns_found;
    if (columns_found && !parquet) run.column_union = ColumnUnion::pre_pass;
    if (parquet)
      detail::convert_to_parquet(run);
    else if (from == RecordKind::ndjson)
      detail::convert_ndjson(run);
    else
      detail::convert_delimited(run);
    // A non-empty input without one valid record is the wrong file or the wrong format:
    // an error, never an empty output and exit 0 (blank lines alone are not records).
    if (ledger.counts().valid == 0 && ledger.counts().invalid > 0) {
      throw data_error(no_valid_record(in, from, ledger)).at_path(in.display_name());
    }
    if (!opts.schema_out.empty() && !parquet) write_schema(opts.schema_out, run.columns);  // Parquet's has types
    ledger.finish();
    out.commit();
    for (OutputFile& f : run.more_outputs) f.commit();

    ConvertReport rep;
    rep.input = in.display_name();
    rep.output = out.path();
    rep.from = record_kind_name(from);
    rep.to = parquet ? "parquet" : record_kind_name(to);
    rep.records = ledger.counts();
    rep.bytes = run.bytes;
    rep.columns = run.columns.size();
    rep.empty_columns = std::move(run.empty_columns);
    rep.renamed_columns = std::move(run.renamed_columns);
    rep.column_union = run.column_union;
    rep.restart_offset = run.restart_offset;
    rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return rep;
  });
}

}  // namespace ingot
