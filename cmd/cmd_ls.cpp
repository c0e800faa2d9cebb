// ingot ls: list the datasets (objects) under s3://bucket/[prefix].
#include <cstdio>

#include <nlohmann/json.hpp>

#include "common.h"
#include "ingot/net/upload/upload.h"
#include "ingot/util/units.h"

namespace ingot::cli {
namespace {

struct LsArgs {
  ListOptions list;
  bool json = false;
  bool bytes = false;
};

int run(LsArgs& a) {
  hide_secret_args("ls", {a.list.url, a.list.endpoint}, &secret_spans, false);
  Result<std::vector<ListEntry>> r = list_datasets(a.list);
  if (!r) return fail("ls", r.error());
  if (a.json) {
    nlohmann::json j = nlohmann::json::array();
    for (const ListEntry& e : r.value()) {
      j.push_back({{"name", e.name}, {"path", e.path}, {"size", e.size}, {"modified", e.modified}});
    }
    std::printf("%s\n", j.dump(2).c_str());
    return kOk;
  }
  std::size_t w = 4;
  for (const ListEntry& e : r.value()) w = std::max(w, e.name.size());
  std::printf("%-*s  %12s  %s\n", static_cast<int>(w), "NAME", "SIZE", "MODIFIED");
  for (const ListEntry& e : r.value()) {
    std::string size = a.bytes ? std::to_string(e.size) : format_size(e.size);
    std::printf("%-*s  %12s  %s\n", static_cast<int>(w), e.name.c_str(), size.c_str(), e.modified.c_str());
  }
  return kOk;
}

}  // namespace

Runner setup_ls(CLI::App& sub) {
  auto a = std::make_shared<LsArgs>();
  sub.add_option("url", a->list.url, "s3://bucket/[prefix]")->type_name("URL")->required();
  sub.add_flag("--json", a->json, "Print a JSON array of {name, path, size, modified}");
  sub.add_flag("--bytes", a->bytes, "Sizes in bytes in the table");
  add_s3_options(&sub, a->list.endpoint, a->list.region, a->list.profile, a->list.path_style);
  sub.add_option("--page-size", a->list.page_size, "Keys per ListObjectsV2 request (1-1000)")
      ->type_name("N")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  sub.add_option("--retries", a->list.retries, "Retries of a failed request")->type_name("N")->capture_default_str();
  return [a] { return run(*a); };
}

}  // namespace ingot::cli
