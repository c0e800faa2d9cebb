#include "ingot/pipeline/records.h"

#include <simdjson.h>

#include "ingot/format/json_text.h"
#include "ingot/util/error.h"

namespace ingot {
namespace {

const char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

}  // namespace

void append_base64(std::string& out, std::string_view s) {
  std::size_t i = 0;
  const auto* u = reinterpret_cast<const unsigned char*>(s.data());
  for (; i + 3 <= s.size(); i += 3) {
    unsigned v = (u[i] << 16) | (u[i + 1] << 8) | u[i + 2];
    out += kBase64[v >> 18];
    out += kBase64[(v >> 12) & 63];
    out += kBase64[(v >> 6) & 63];
    out += kBase64[v & 63];
  }
  if (std::size_t rest = s.size() - i) {
    unsigned v = u[i] << 16;
    if (rest == 2) v |= u[i + 1] << 8;
    out += kBase64[v >> 18];
    out += kBase64[(v >> 12) & 63];
    out += rest == 2 ? kBase64[(v >> 6) & 63] : '=';
    out += '=';
  }
}

void append_reject_line(std::string& out, std::uint64_t line, std::uint64_t offset, std::string_view reason,
                        std::string_view raw) {
  out += "{\"line\":" + std::to_string(line) + ",\"offset\":" + std::to_string(offset) + ",\"reason\":";
  append_json_string(out, reason);
  // The raw record without its terminator; base64 when it is not UTF-8 (JSON cannot hold it).
  if (!raw.empty() && raw.back() == '\n') raw.remove_suffix(1);
  if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
  if (simdjson::validate_utf8(raw.data(), raw.size())) {
    out += ",\"raw\":";
    append_json_string(out, raw);
  } else {
    out += ",\"raw_base64\":\"";
    append_base64(out, raw);
    out += '"';
  }
  out += "}\n";
}

RecordLedger::RecordLedger(std::string input_name, ErrorPolicy policy, const std::string& rejects_path,
                           std::uint64_t first_line)
    : input_(std::move(input_name)), policy_(policy), line_(first_line), first_line_(first_line) {
  if (!rejects_path.empty()) rejects_.emplace(OutputFile::create(rejects_path));
}

void RecordLedger::add(const Chunk& chunk, const ChunkTally& tally) {
  counts_.valid += tally.counts.valid;
  counts_.blank += tally.counts.blank;
  for (const Reject& r : tally.rejects) {
    ++counts_.invalid;
    const std::uint64_t line = line_ + r.line;
    if (counts_.invalid == 1) {
      first_reject_line_ = line;
      first_reject_reason_ = r.reason;
    }
    if (policy_.on_error == OnError::fail) {
      throw data_error("invalid record: " + r.reason + " (--on-error fail)").at_path(input_).at_line(line);
    }
    if (policy_.max_errors && counts_.invalid > *policy_.max_errors) {
      throw data_error("more than " + std::to_string(*policy_.max_errors) +
                       " invalid records (--max-errors); last: " + r.reason)
          .at_path(input_)
          .at_line(line);
    }
    if (rejects_) append_reject_line(buf_, line, chunk.offset + r.offset, r.reason, r.raw);
  }
  line_ += tally.newlines;
  if (rejects_ && buf_.size() > (1 << 16)) {
    rejects_->write(buf_);
    buf_.clear();
  }
}

void RecordLedger::restart() {
  if (rejects_) rejects_->rewind();
  buf_.clear();
  counts_ = {};
  line_ = first_line_;
  first_reject_line_ = 0;
  first_reject_reason_.clear();
}

void RecordLedger::finish() {
  if (!rejects_) return;
  rejects_->write(buf_);
  buf_.clear();
  rejects_->commit();
}

}  // namespace ingot
