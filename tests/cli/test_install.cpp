// Installing: `cmake --install` puts the binary, man pages and completions where
// man(1), bash-completion, zsh and fish look; CPack's .deb holds the same files and
// declares its shared-library dependencies (cmake/Packaging.cmake).
#include <cstdlib>

#include "cli.h"

using namespace ingot_test;

namespace {

const fs::path kSource = INGOT_SOURCE_DIR;
// The ingot binary is built at the top of the build tree (RUNTIME_OUTPUT_DIRECTORY).
const fs::path kBuild = fs::path(INGOT_BINARY).parent_path();

// What a package must hold, relative to the prefix: the binary and its network helper, one man page per
// committed page, the three completion files.
std::vector<std::string> expected_files() {
  std::vector<std::string> files = {"bin/ingot", "libexec/ingot/ingot-net", "share/bash-completion/completions/ingot",
                                    "share/zsh/vendor-completions/_ingot",
                                    "share/fish/vendor_completions.d/ingot.fish"};
  for (const auto& e : fs::directory_iterator(kSource / "man")) {
    if (e.path().extension() == ".1") files.push_back("share/man/man1/" + e.path().filename().string());
  }
  return files;
}

}  // namespace

TEST_CASE("install: cmake --install puts the binary, man pages and completions under the prefix", "[cli][install]") {
  REQUIRE(fs::exists(kBuild / "cmake_install.cmake"));
  TempDir dir;
  RunResult r =
      run_sh(dir, "cmake --install " + shell_quote(kBuild.string()) + " --prefix " + shell_quote(dir.str("usr")));
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  const auto files = expected_files();
  REQUIRE(files.size() >= 11);  // ingot.1 and a page per subcommand
  for (const std::string& f : files) {
    INFO(f);
    CHECK(fs::is_regular_file(dir / "usr" / f));
  }
  CHECK(!fs::exists(dir / "usr" / "share" / "man" / "man1" / "prose"));
  CHECK(read_file(dir / "usr/share/bash-completion/completions/ingot") ==
        read_file(kSource / "completions/ingot.bash"));
  RunResult v = run_sh(dir, "usr/bin/ingot --version");
  CHECK(v.code == 0);
  CHECK(v.out.rfind("ingot ", 0) == 0);
  // The installed binary finds its network helper (libexec/ingot/ingot-net) by itself.
  CHECK(fs::is_regular_file(dir / "usr/libexec/ingot/ingot-net"));
  write_file(dir / "in.ndjson", "{\"a\":1}\n");
  RunResult u = run_sh(dir, "usr/bin/ingot upload in.ndjson http://127.0.0.1:9/x --dry-run");
  INFO(u.err);
  CHECK(u.code == 0);
  CHECK(u.out == "http in.ndjson -> http://127.0.0.1:9/x: batches, 1 units\n     1  offset 0  length 8\n");
  // man finds the installed pages through MANPATH.
  RunResult m =
      run_sh(dir, "command -v man >/dev/null || exit 77; MANPATH=usr/share/man MANPAGER=cat man ingot-convert");
  if (m.code != 77) {
    CHECK(m.code == 0);
    CHECK(m.out.find("ingot-convert") != std::string::npos);
  }
}

TEST_CASE("install: cpack builds a .deb with its dependencies, the man pages and the completions",
          "[cli][install][cpack]") {
  REQUIRE(fs::exists(kBuild / "CPackConfig.cmake"));
  TempDir dir;
  if (std::system("command -v dpkg-shlibdeps >/dev/null 2>&1") != 0) {
    FAIL("dpkg-shlibdeps missing: apt-get install dpkg-dev (scripts/deps.txt)");
  }
  RunResult r =
      run_sh(dir, "cpack -G DEB --config " + shell_quote((kBuild / "CPackConfig.cmake").string()) + " -B pkg");
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  std::string deb;
  for (const auto& e : fs::directory_iterator(dir / "pkg")) {
    if (e.path().extension() == ".deb") deb = e.path().string();
  }
  REQUIRE(!deb.empty());
  CHECK(fs::path(deb).filename().string().rfind("ingot_", 0) == 0);

  RunResult info = run_sh(dir, "dpkg-deb -I " + shell_quote(deb));
  INFO(info.out);
  REQUIRE(info.code == 0);
  std::string depends;
  for (const std::string& line : lines_of(info.out)) {
    if (line.find(" Depends:") == 0) depends = line;
  }
  for (const char* lib : {"libtbb12", "libsimdjson", "libcurl", "libpq5", "libxxhash", "libstdc++6", "libc6"}) {
    INFO("Depends lacks " << lib);
    CHECK(depends.find(lib) != std::string::npos);
  }
  CHECK(info.out.find(" Package: ingot") != std::string::npos);
  CHECK(info.out.find(" Section: utils") != std::string::npos);

  RunResult contents = run_sh(dir, "dpkg-deb -c " + shell_quote(deb));
  REQUIRE(contents.code == 0);
  for (std::string f : expected_files()) {
    // Debian policy: man pages are shipped gzip-compressed.
    if (f.rfind("share/man/", 0) == 0) f += ".gz";
    INFO(f);
    CHECK(contents.out.find("./usr/" + f + "\n") != std::string::npos);
  }
  CHECK(contents.out.find(".1\n") == std::string::npos);  // no uncompressed page
  // The pages inside are gzip -9n: no stored name or time, so rebuilds are identical.
  RunResult page =
      run_sh(dir, "dpkg-deb --fsys-tarfile " + shell_quote(deb) +
                      " | tar -xOf - ./usr/share/man/man1/ingot-convert.1.gz > page.gz && gzip -lv page.gz "
                      "&& gzip -dc page.gz | cmp - " +
                      shell_quote((kSource / "man/ingot-convert.1").string()));
  INFO(page.out << page.err);
  CHECK(page.code == 0);
  CHECK(read_file(dir / "page.gz").substr(4, 4) == std::string(4, '\0'));  // MTIME field zero (-n)
}

TEST_CASE("install: upload, ls and serve say so clearly when the network helper is missing", "[cli][install]") {
  TempDir dir;
  write_file(dir / "in.ndjson", "{\"a\":1}\n");
  for (const char* cmd : {"ls s3://bucket/", "upload in.ndjson http://127.0.0.1:9/x", "serve in.ndjson"}) {
    RunResult r = run_sh(dir, "INGOT_NET_HELPER=/nonexistent/ingot-net " + shell_quote(INGOT_BINARY) + " " + cmd);
    INFO(cmd);
    CHECK(r.code == 1);
    CHECK(r.out.empty());
    CHECK(r.err.find(": error: the network helper ingot-net is missing (looked at /nonexistent/ingot-net; "
                     "reinstall ingot or set INGOT_NET_HELPER)\n") != std::string::npos);
  }
  // The other commands never load it.
  write_file(dir / "t.txt", "a\nb\n");
  RunResult g = run_sh(dir, "INGOT_NET_HELPER=/nonexistent/ingot-net " + shell_quote(INGOT_BINARY) + " get t.txt 2");
  CHECK(g.code == 0);
  CHECK(g.out == "b\n");
}
