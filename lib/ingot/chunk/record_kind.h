// The kinds of record the engine can cut on: physical lines, NDJSON (a JSON value per
// line: the same cut as lines), and RFC 4180 CSV/TSV where a quoted field may hold
// delimiters, doubled quotes, CR and LF.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ingot {

enum class RecordKind { lines, ndjson, csv, tsv };

std::optional<RecordKind> parse_record_kind(std::string_view name);
const char* record_kind_name(RecordKind kind);
// From a file name: .ndjson/.jsonl -> ndjson, .csv -> csv, .tsv/.tab -> tsv; nullopt otherwise.
std::optional<RecordKind> record_kind_from_path(std::string_view path);
inline bool is_delimited(RecordKind k) { return k == RecordKind::csv || k == RecordKind::tsv; }
inline char default_delimiter(RecordKind k) { return k == RecordKind::tsv ? '\t' : ','; }

}  // namespace ingot
