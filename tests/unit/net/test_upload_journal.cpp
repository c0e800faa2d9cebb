// The upload resume journal (net/upload/upload_journal.h): where it lives and what names
// it (never a secret), a round trip of header and events, concurrent appends landing
// whole, and the damaged journals a kill or a stranger leaves: a torn last line is
// skipped, an empty or foreign file is refused with a message saying what to do.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "ingot/net/upload/upload_journal.h"
#include "ingot/util/error.h"
#include "ingot/util/hash.h"
#include "support.h"

using ingot::detail::Journal;
using ingot_test::read_file;
using ingot_test::TempDir;
using ingot_test::write_file;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const ingot::Error& e) {
    return e.message();
  }
  return "";
}

}  // namespace

TEST_CASE("journal: named by source and redacted destination, beside the source or in --state", "[journal]") {
  TempDir d;
  const std::string src = d.str("data.bin");
  const std::string a = Journal::path_for(src, "s3://bucket/key", "");
  const std::string b = Journal::path_for(src, "s3://bucket/key", d.str("state"));
  // .<name>.<12 hex>.ingot-upload beside the source; <name>.<same hash>.ingot-upload in the state dir.
  const std::string hash = fs::path(a).filename().string().substr(std::string(".data.bin.").size(), 12);
  CHECK(hash.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(a == d.str(".data.bin." + hash + ".ingot-upload"));
  CHECK(b == d.str("state/data.bin." + hash + ".ingot-upload"));
  // The same source however spelled; another source or destination, another journal.
  CHECK(Journal::path_for(d.str("x/../data.bin"), "s3://bucket/key", "") == a);
  CHECK(Journal::path_for(d.str("data2.bin"), "s3://bucket/key", "").find(hash) == std::string::npos);
  CHECK(Journal::path_for(src, "s3://bucket/other", "") != a);
  // A password or token neither shows in the name nor changes it.
  const std::string p1 = Journal::path_for(src, "postgresql://u:secret1@h/db?password=x", "");
  const std::string p2 = Journal::path_for(src, "postgresql://u:secret2@h/db?password=y", "");
  CHECK(p1 == p2);
  CHECK(p1.find("secret") == std::string::npos);
}

TEST_CASE("journal: header and events round trip, mode 0600, create replaces, remove deletes", "[journal]") {
  TempDir d;
  Journal j(d.str("state/deep/x.ingot-upload"));  // directories are made
  CHECK_FALSE(j.exists());
  const json header = {{"ingot_upload_journal", 1}, {"dest", "s3://b/k"}, {"upload_id", "ü-1"}, {"part_size", 65536}};
  j.create(header);
  CHECK(j.exists());
  CHECK((fs::status(j.path()).permissions() & fs::perms::all) == (fs::perms::owner_read | fs::perms::owner_write));
  std::vector<json> want;
  for (int k = 1; k <= 100; ++k) {
    want.push_back({{"done", k}, {"etag", "\"" + std::string(32, 'a' + k % 6) + "\""}, {"bytes", 65536}});
    j.append(want.back());
  }
  json got_header;
  std::vector<json> got;
  j.load(got_header, got);
  CHECK(got_header == header);
  CHECK(got == want);
  CHECK(read_file(j.path()).find('\n') == header.dump().size());  // one line each

  // create() starts over: the old events are gone.
  j.create(header);
  j.load(got_header, got);
  CHECK(got.empty());
  // A second Journal object appends to the same file (a resumed run).
  {
    Journal again(j.path());
    again.open_append();
    again.append({{"start", 7}});
  }
  j.load(got_header, got);
  CHECK(got == std::vector<json>{{{"start", 7}}});
  j.remove();
  CHECK_FALSE(j.exists());
  CHECK(fs::is_empty(d / "state/deep"));
}

TEST_CASE("journal: appends from many threads land as whole lines", "[journal]") {
  TempDir d;
  Journal j(d.str("j.ingot-upload"));
  j.create({{"ingot_upload_journal", 1}});
  const int threads = 8, each = 500;
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      for (int k = 0; k < each; ++k) j.append({{"done", t * each + k}, {"pad", std::string(100 + k % 50, 'p')}});
    });
  }
  for (auto& t : ts) t.join();
  json header;
  std::vector<json> events;
  j.load(header, events);
  REQUIRE(events.size() == threads * each);
  std::vector<bool> seen(threads * each, false);
  for (const json& e : events) seen.at(e["done"].get<std::size_t>()) = true;
  CHECK(std::count(seen.begin(), seen.end(), true) == threads * each);
}

TEST_CASE("journal: a torn last line is skipped, and empty, foreign and missing journals are refused", "[journal]") {
  TempDir d;
  const std::string path = d.str("j.ingot-upload");
  const std::string head = "{\"ingot_upload_journal\":1,\"dest\":\"s3://b/k\"}\n";
  json header;
  std::vector<json> events;

  // kill -9 in the middle of an append: the partial line is not an event.
  for (const std::string& torn : {std::string("{\"done\":3,\"by"), std::string("{\"done\":3"), std::string("{")}) {
    INFO(torn);
    write_file(path, head + "{\"done\":1}\n{\"done\":2}\n" + torn);
    Journal(path).load(header, events);
    CHECK(header["dest"] == "s3://b/k");
    CHECK(events == std::vector<json>{{{"done", 1}}, {{"done", 2}}});
  }
  // A journal whose appends were cut after the header: no events.
  write_file(path, head);
  Journal(path).load(header, events);
  CHECK(events.empty());

  write_file(path, "");
  CHECK(error_of([&] { Journal(path).load(header, events); }) == path + ": empty journal; delete it to start over");
  for (const std::string& foreign : {std::string("not json\n{\"done\":1}\n"), std::string("{\"done\":1}\n"),
                                     std::string("[1,2]\n"), std::string("\n{\"ingot_upload_journal\":1}\n")}) {
    INFO(foreign);
    write_file(path, foreign);
    CHECK(error_of([&] { Journal(path).load(header, events); }) ==
          path + ": not an ingot upload journal; delete it to start over");
  }
  fs::remove(path);
  CHECK(error_of([&] { Journal(path).load(header, events); }) == path + ": cannot read the journal");
}

TEST_CASE("journal: an unwritable place says to use --state", "[journal]") {
  TempDir d;
  write_file(d / "file", "x");
  const std::string path = d.str("file/j.ingot-upload");  // under a regular file: never writable, even for root
  Journal j(path);
  CHECK(error_of([&] {
          j.create({{"ingot_upload_journal", 1}});
        }) == path + ": cannot write the upload journal (use --state DIR for a writable place)");
  CHECK_FALSE(j.exists());
}

TEST_CASE("journal: dest_hash is the SHA-256 of the destination, fingerprint_json its three fields", "[journal]") {
  // FIPS 180-2 test vectors.
  CHECK(ingot::detail::dest_hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(ingot::detail::dest_hash("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  ingot::Fingerprint f;
  f.size = 1234567890123;
  f.mtime_ns = -5;
  f.edge_hash = 0x00ff00ff00ff00ffULL;
  CHECK(ingot::detail::fingerprint_json(f) ==
        json({{"size", 1234567890123ULL}, {"mtime_ns", -5}, {"edge_xxh3", "00ff00ff00ff00ff"}}));
}
