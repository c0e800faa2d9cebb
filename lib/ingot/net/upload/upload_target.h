// The one interface of an upload target (S3, PostgreSQL, HTTP; internal to upload*.cpp).
// UploadTarget::run (upload.cpp) is the driver: it owns what every target shares and
// calls the target's steps in this order:
//   report set up (target, source, destination)
//   check()                 options alone: usage errors before anything is opened
//   source opened           as decode() says; the journal path chosen for a file source
//   plan()                  what this run will send (S3: the part plan; PostgreSQL, HTTP:
//                           the columns, table and settings batches are cut by)
//   resume()                what an earlier run left (journal, ListParts, ledger table);
//                           a changed source is refused here
//   send()                  everything not done yet
//   rejects ledger closed   --rejects written, --max-errors and --on-error applied
//   finish()                complete and verify, remove the journal, final counts
// plan() or resume() returning false ends the run with the report as it is (a --dry-run
// of a part plan; S3's --abort, --begin, --part K/N, --complete and single PUT).
// upload() in upload.cpp picks the target by the destination's scheme; a new target is
// one more subclass and one more branch there (ARCHITECTURE.md, "Adding an upload target").
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ingot/io/input.h"
#include "ingot/net/upload/upload.h"
#include "ingot/net/upload/upload_journal.h"
#include "ingot/pipeline/records.h"

namespace ingot::detail {

// A source resolved from the command line: a file or stdin, or the source file of a
// split manifest with the manifest's piece ranges.
struct UploadSource {
  std::string path;               // file to read ("-" = stdin)
  std::vector<ByteRange> pieces;  // from a manifest; empty otherwise
  std::string manifest;           // manifest path, when the source was one
};

UploadSource resolve_source(const UploadOptions& opts);

// The targets (below), one per destination scheme: upload() picks one and runs it.
class UploadTarget;
std::unique_ptr<UploadTarget> make_s3_target(const UploadOptions& opts, const UploadSource& src);
std::unique_ptr<UploadTarget> make_pg_target(const UploadOptions& opts, const UploadSource& src);
std::unique_ptr<UploadTarget> make_http_target(const UploadOptions& opts, const UploadSource& src);

class UploadTarget {
 public:
  UploadTarget(const UploadOptions& opts, const UploadSource& source) : o(opts), src(source) {}
  virtual ~UploadTarget() = default;
  UploadTarget(const UploadTarget&) = delete;
  UploadTarget& operator=(const UploadTarget&) = delete;

  // The driver: runs the steps below in order and returns the report.
  UploadReport run();

 protected:
  virtual const char* name() const = 0;  // the report's target: "s3", "postgresql", "http"
  virtual void check() {}
  // How the source is opened: decoded (.gz/.zst read as their records) or as stored.
  virtual Decode decode() const { return Decode::auto_detect; }
  virtual bool reads_source() const { return true; }  // S3 --abort does not
  virtual bool plan() = 0;
  virtual bool resume() = 0;
  virtual void send() = 0;
  virtual void finish() = 0;

  // The rejects ledger of a record target (--rejects, --on-error, --max-errors), opened
  // once the line of the first record is known; the driver closes it after send().
  RecordLedger& open_ledger(std::string input_name, std::uint64_t first_line) {
    ledger.emplace(std::move(input_name), ErrorPolicy{o.on_error, o.max_errors}, o.dry_run ? std::string() : o.rejects,
                   first_line);
    return *ledger;
  }
  void progress(std::uint64_t bytes, std::uint64_t records) const {
    if (o.progress) o.progress(bytes, records);
  }

  const UploadOptions& o;
  const UploadSource& src;
  UploadReport rep;
  std::optional<InputFile> in;     // opened by the driver unless !reads_source()
  bool stream = false;             // the source cannot be read twice (stdin, a pipe)
  std::optional<Journal> journal;  // S3, HTTP: its path is empty for a stream
  std::optional<RecordLedger> ledger;
};

}  // namespace ingot::detail
