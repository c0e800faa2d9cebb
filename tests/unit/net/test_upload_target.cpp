// The upload driver (UploadTarget::run, net/upload/upload_target.h) with a target that
// only records what it is asked: the order of the steps, what the driver opened for it
// (the source, the journal path), that a step returning false ends the run, and that
// the rejects file is complete before finish() runs.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "ingot/net/upload/upload_target.h"
#include "support.h"

using ingot::ChunkTally;
using ingot::Reject;
using ingot::UploadOptions;
using ingot::UploadReport;
using ingot::detail::UploadSource;
using ingot::detail::UploadTarget;
using ingot_test::read_file;
using ingot_test::TempDir;
using ingot_test::write_file;
namespace fs = std::filesystem;

namespace {

class RecordingTarget final : public UploadTarget {
 public:
  RecordingTarget(const UploadOptions& opts, const UploadSource& source, std::vector<std::string>& log)
      : UploadTarget(opts, source), calls(log) {}
  bool plan_result = true;
  bool resume_result = true;
  bool reads = true;

 private:
  const char* name() const override { return "recording"; }
  void check() override { calls.push_back(in ? "check, source open" : "check"); }
  bool reads_source() const override { return reads; }
  bool plan() override {
    calls.push_back(std::string("plan") + (in ? ", source open" : ", no source") +
                    (journal->path().empty() ? ", no journal" : ", journal " + journal->path()));
    return plan_result;
  }
  bool resume() override {
    calls.push_back("resume");
    return resume_result;
  }
  // One chunk of two records, the second rejected.
  void send() override {
    calls.push_back("send");
    data = "a\nbad\n" + std::string(ingot::kChunkPadding, '\0');
    ingot::Chunk c;
    c.data = data.data();
    c.size = 6;
    ChunkTally t;
    t.counts.valid = 1;
    t.newlines = 2;
    Reject r;
    r.line = 1;
    r.offset = 2;
    r.raw = std::string_view(data.data() + 2, 4);
    r.reason = "bad record";
    t.rejects.push_back(r);
    open_ledger(in->display_name(), 1).add(c, t);
  }
  void finish() override {
    calls.push_back(fs::exists(o.rejects) ? "finish, rejects written: " + read_file(o.rejects)
                                          : "finish, no rejects file");
    rep.units_total = 7;
  }

  std::vector<std::string>& calls;
  std::string data;
};

}  // namespace

TEST_CASE("upload target: the driver runs check, plan, resume, send, finish and closes the rejects before finish",
          "[upload]") {
  TempDir dir;
  write_file(dir.path() / "src.ndjson", "{}\n");
  UploadOptions o;
  o.source = (dir.path() / "src.ndjson").string();
  o.dest = "http://example.invalid/in";
  o.rejects = (dir.path() / "rejects.ndjson").string();
  UploadSource src{o.source, {}, ""};
  std::vector<std::string> calls;
  RecordingTarget t(o, src, calls);
  const UploadReport rep = t.run();
  const std::string journal = ingot::detail::Journal::path_for(o.source, o.dest, "");
  REQUIRE(calls.size() == 5);
  CHECK(calls[0] == "check");
  CHECK(calls[1] == "plan, source open, journal " + journal);
  CHECK(calls[2] == "resume");
  CHECK(calls[3] == "send");
  CHECK(calls[4].rfind("finish, rejects written: ", 0) == 0);
  CHECK(calls[4].find("bad record") != std::string::npos);
  CHECK(rep.target == "recording");
  CHECK(rep.source == o.source);
  CHECK(rep.units_total == 7);
}

TEST_CASE("upload target: plan or resume returning false ends the run with the report as it is", "[upload]") {
  TempDir dir;
  write_file(dir.path() / "src.ndjson", "{}\n");
  UploadOptions o;
  o.source = (dir.path() / "src.ndjson").string();
  o.dest = "http://example.invalid/in";
  UploadSource src{o.source, {}, ""};
  std::vector<std::string> calls;
  {
    RecordingTarget t(o, src, calls);
    t.plan_result = false;
    t.run();
    CHECK(calls == std::vector<std::string>{"check", "plan, source open, journal " +
                                                         ingot::detail::Journal::path_for(o.source, o.dest, "")});
  }
  calls.clear();
  {
    RecordingTarget t(o, src, calls);
    t.resume_result = false;
    t.run();
    REQUIRE(calls.size() == 3);
    CHECK(calls[2] == "resume");
  }
}

TEST_CASE("upload target: a target that does not read the source gets none opened, and stdin no journal", "[upload]") {
  UploadOptions o;
  o.source = "/nonexistent/ingot-upload-target-test";
  o.dest = "http://example.invalid/in";
  UploadSource src{o.source, {}, ""};
  std::vector<std::string> calls;
  {
    RecordingTarget t(o, src, calls);
    t.reads = false;
    t.plan_result = false;
    t.run();  // would throw if the driver opened the missing source
    REQUIRE(calls.size() == 2);
    CHECK(calls[1].rfind("plan, no source, journal ", 0) == 0);
  }
  calls.clear();
  o.source = "-";
  UploadSource in{"-", {}, ""};
  {
    RecordingTarget t(o, in, calls);
    t.reads = false;
    t.plan_result = false;
    t.run();
    REQUIRE(calls.size() == 2);
    CHECK(calls[1] == "plan, no source, no journal");
  }
}
