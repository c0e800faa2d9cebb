#include "ingot/chunk/record_kind.h"

namespace ingot {

std::optional<RecordKind> parse_record_kind(std::string_view name) {
  if (name == "lines" || name == "text" || name == "txt") return RecordKind::lines;
  if (name == "ndjson" || name == "jsonl" || name == "json") return RecordKind::ndjson;
  if (name == "csv") return RecordKind::csv;
  if (name == "tsv") return RecordKind::tsv;
  return std::nullopt;
}

const char* record_kind_name(RecordKind kind) {
  switch (kind) {
    case RecordKind::lines: return "lines";
    case RecordKind::ndjson: return "ndjson";
    case RecordKind::csv: return "csv";
    case RecordKind::tsv: return "tsv";
  }
  return "lines";
}

std::optional<RecordKind> record_kind_from_path(std::string_view path) {
  auto ends = [&](std::string_view ext) {
    return path.size() >= ext.size() && path.substr(path.size() - ext.size()) == ext;
  };
  // Compressed names (.csv.gz, .ndjson.zst) describe the content before the suffix.
  for (std::string_view z : {".gz", ".zst"}) {
    if (ends(z)) return record_kind_from_path(path.substr(0, path.size() - z.size()));
  }
  if (ends(".ndjson") || ends(".jsonl")) return RecordKind::ndjson;
  if (ends(".csv")) return RecordKind::csv;
  if (ends(".tsv") || ends(".tab")) return RecordKind::tsv;
  if (ends(".txt") || ends(".log")) return RecordKind::lines;
  return std::nullopt;
}

}  // namespace ingot
