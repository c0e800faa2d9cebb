// The AWS shared files and credential sources (aws_config.h). Each remote source is
// one or two plain HTTP calls through net/http; STS answers are read with the XML
// reader of s3.h, the container, instance and credential_process answers with
// nlohmann::json. Secrets are kept in Credentials only: messages name the source.
#include "ingot/net/s3/aws_config.h"

#include <curl/curl.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ingot/net/http/http.h"
#include "ingot/net/s3/s3.h"
#include "ingot/util/error.h"

namespace ingot::s3 {

namespace {

std::string getenv_str(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

std::string home_file(const char* env, const char* name) {
  std::string f = getenv_str(env);
  return f.empty() ? getenv_str("HOME") + "/.aws/" + name : f;
}

// The settings of section `want` in an INI file as the AWS CLI reads it: full-line
// comments (# or ;), "key = value", and a key with an empty value followed by indented
// lines opening a nested block. Returns false when the file has no such section.
bool read_section(const std::string& path, const std::string& want, std::map<std::string, std::string>& out) {
  std::ifstream f(path);
  bool in = false, found = false;
  std::string nested;  // the key whose indented block we are in
  for (std::string raw; std::getline(f, raw);) {
    const std::string line = trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[') {
      in = trim(line.substr(1, line.find(']') - 1)) == want;
      found = found || in;
      nested.clear();
      continue;
    }
    auto eq = line.find('=');
    if (!in || eq == std::string::npos) continue;
    std::string k = trim(line.substr(0, eq)), v = trim(line.substr(eq + 1));
    const bool indented = raw[0] == ' ' || raw[0] == '\t';
    if (indented && !nested.empty()) {
      out[nested + "." + k] = v;
    } else {
      nested = v.empty() ? k : "";
      if (!v.empty()) out[k] = v;
    }
  }
  return found;
}

Profile read_profile(const std::string& name, bool chosen) {
  Profile p;
  p.name = name;
  p.chosen = chosen;
  p.config_path = home_file("AWS_CONFIG_FILE", "config");
  p.credentials_path = home_file("AWS_SHARED_CREDENTIALS_FILE", "credentials");
  p.found = read_section(p.config_path, "profile " + name, p.config);
  if (name == "default") p.found = read_section(p.config_path, "default", p.config) || p.found;
  p.found = read_section(p.credentials_path, name, p.credentials) || p.found;
  return p;
}

std::string describe(const Profile& p) { return "profile '" + p.name + "'"; }

// Seconds since the epoch: a default session name unique enough for CloudTrail.
std::string session_name(const Profile& p) {
  std::string n = p.get("role_session_name");
  if (n.empty()) n = getenv_str("AWS_ROLE_SESSION_NAME");
  if (n.empty()) {
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    n = "ingot-" + std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now).count());
  }
  return n;
}

std::string form(const std::map<std::string, std::string>& fields) {
  std::string body;
  for (const auto& [k, v] : fields) {
    if (!body.empty()) body += '&';
    body += uri_encode(k, false) + "=" + uri_encode(v, false);
  }
  return body;
}

// One STS call (AssumeRole signed with `signer`, AssumeRoleWithWebIdentity unsigned);
// the temporary keys of its <Credentials>.
Credentials call_sts(const Profile& p, const std::string& region, const std::map<std::string, std::string>& fields,
                     const Credentials* signer, const std::string& source) {
  std::string endpoint = find_endpoint("sts", p);
  if (endpoint.empty()) endpoint = "https://sts." + region + ".amazonaws.com";
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  const std::string body = form(fields);
  http::Request req;
  req.method = "POST";
  req.url = endpoint + "/";
  req.headers = {"Content-Type: application/x-www-form-urlencoded; charset=utf-8", "Accept: application/xml"};
  req.body = body;
  const std::string sigv4 = "aws:amz:" + region + ":sts";
  if (signer) {
    if (!signer->session_token.empty()) req.headers.push_back("x-amz-security-token: " + signer->session_token);
    req.configure = [&](CURL* h) {
      curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4.c_str());
      curl_easy_setopt(h, CURLOPT_USERNAME, signer->access_key.c_str());
      curl_easy_setopt(h, CURLOPT_PASSWORD, signer->secret_key.c_str());
    };
  }
  const std::string action = fields.at("Action");
  http::Outcome o = http::send(req, http::RetryPolicy{3, 200});
  const http::Response& r = o.response;
  if (!r.error.empty()) throw remote_error("STS " + action + " for " + source + ": " + r.error);
  const auto x = parse_xml(r.body);
  if (!o.ok()) {
    std::string what = "STS " + action + " for " + source + ": HTTP " + std::to_string(r.status);
    if (x) {
      const XmlElement* e = &*x;
      if (auto errs = x->all("Error"); !errs.empty()) e = errs.front();
      if (!e->text_of("Code").empty()) what += " " + e->text_of("Code");
      if (!e->text_of("Message").empty()) what += ": " + e->text_of("Message");
    }
    throw remote_error(what);
  }
  // <ActionResponse><ActionResult><Credentials>…
  const XmlElement* creds = nullptr;
  if (x) {
    for (const XmlElement* result : x->all(action + "Result")) {
      for (const XmlElement* c : result->all("Credentials")) creds = c;
    }
  }
  Credentials c;
  if (creds) {
    c.access_key = creds->text_of("AccessKeyId");
    c.secret_key = creds->text_of("SecretAccessKey");
    c.session_token = creds->text_of("SessionToken");
  }
  if (c.access_key.empty() || c.secret_key.empty())
    throw remote_error("STS " + action + " for " + source + ": the answer holds no credentials");
  c.source = source;
  return c;
}

std::string read_token_file(const std::string& path, const std::string& source) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw usage_error("web identity token file of " + source + " cannot be read: " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  std::string t = trim(ss.str());
  if (t.empty()) throw usage_error("web identity token file of " + source + " is empty: " + path);
  return t;
}

Credentials web_identity(const Profile& p, const std::string& region, const std::string& role_arn,
                         const std::string& token_file, const std::string& source) {
  return call_sts(p, region,
                  {{"Action", "AssumeRoleWithWebIdentity"},
                   {"Version", "2011-06-15"},
                   {"RoleArn", role_arn},
                   {"RoleSessionName", session_name(p)},
                   {"WebIdentityToken", read_token_file(token_file, source)}},
                  nullptr, source);
}

// The keys in a JSON answer of credential_process, the container endpoint or the
// instance metadata service ("Token" there, "SessionToken" from a process).
Credentials from_json(const std::string& text, const std::string& source) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) throw remote_error(source + " did not answer with a JSON object");
  auto str = [&](const char* k) { return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : ""; };
  Credentials c;
  c.access_key = str("AccessKeyId");
  c.secret_key = str("SecretAccessKey");
  c.session_token = str("SessionToken");
  if (c.session_token.empty()) c.session_token = str("Token");
  if (c.access_key.empty() || c.secret_key.empty())
    throw remote_error(source + " gave no AccessKeyId and SecretAccessKey");
  c.source = source;
  return c;
}

Credentials run_process(const std::string& command, const std::string& source) {
  // Through sh -c, so a command line with quotes works as the user wrote it; its
  // stderr is the user's terminal, its stdout the JSON (Version 1).
  std::FILE* f = ::popen(command.c_str(), "r");
  if (!f) throw io_error("cannot start the credential_process of " + source);
  std::string out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) {
    if (out.size() < (1u << 20)) out.append(buf, n);
  }
  const int status = ::pclose(f);
  if (status != 0) {
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    throw remote_error("the credential_process of " + source + " exited with status " + std::to_string(code));
  }
  nlohmann::json j = nlohmann::json::parse(out, nullptr, false);
  if (j.is_object() && (!j.contains("Version") || j["Version"] != 1))
    throw remote_error("the credential_process of " + source + " answered without \"Version\": 1");
  return from_json(out, "the credential_process of " + source);
}

http::Response local_call(const std::string& method, const std::string& url, std::vector<std::string> headers) {
  http::Request req;
  req.method = method;
  req.url = url;
  req.headers = std::move(headers);
  // Link-local services answer at once or not at all: wait a second, as the SDKs do,
  // so a machine without them fails fast.
  req.configure = [](CURL* h) {
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 2000L);
  };
  return http::perform(req);
}

std::optional<Credentials> container_credentials() {
  std::string url;
  if (std::string rel = getenv_str("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"); !rel.empty())
    url = "http://169.254.170.2" + rel;
  else
    url = getenv_str("AWS_CONTAINER_CREDENTIALS_FULL_URI");
  if (url.empty()) return std::nullopt;
  std::vector<std::string> headers;
  std::string token = getenv_str("AWS_CONTAINER_AUTHORIZATION_TOKEN");
  if (std::string file = getenv_str("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"); !file.empty()) {
    std::ifstream f(file);
    std::stringstream ss;
    ss << f.rdbuf();
    token = trim(ss.str());
  }
  if (!token.empty()) headers.push_back("Authorization: " + token);
  const std::string source = "the container credentials endpoint";
  http::Response r = local_call("GET", url, headers);
  if (!r.success()) {
    throw remote_error(source + ": " + (r.error.empty() ? "HTTP " + std::to_string(r.status) : r.error));
  }
  return from_json(r.body, source);
}

// IMDSv2: a session token by PUT, the role name, then its keys.
std::optional<Credentials> instance_credentials() {
  std::string v = getenv_str("AWS_EC2_METADATA_DISABLED");
  for (char& ch : v) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (v == "true") return std::nullopt;
  std::string base = getenv_str("AWS_EC2_METADATA_SERVICE_ENDPOINT");
  if (base.empty()) base = "http://169.254.169.254";
  while (!base.empty() && base.back() == '/') base.pop_back();
  http::Response t = local_call("PUT", base + "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds: 21600"});
  if (!t.success()) return std::nullopt;  // no metadata service here: not an EC2 instance
  const std::vector<std::string> auth = {"X-aws-ec2-metadata-token: " + t.body};
  const std::string dir = base + "/latest/meta-data/iam/security-credentials/";
  http::Response role = local_call("GET", dir, auth);
  if (!role.success()) return std::nullopt;  // an instance without a role
  const std::string name = trim(role.body.substr(0, role.body.find('\n')));
  if (name.empty()) return std::nullopt;
  const std::string source = "the instance metadata service (role " + name + ")";
  http::Response c = local_call("GET", dir + uri_encode(name, false), auth);
  if (!c.success())
    throw remote_error(source + ": " + (c.error.empty() ? "HTTP " + std::to_string(c.status) : c.error));
  return from_json(c.body, source);
}

std::optional<Credentials> from_profile(const Profile& p, const std::string& region, int depth);

// credential_source of a role profile: where the keys that call AssumeRole come from.
Credentials named_source(const Profile& p, const std::string& what) {
  if (what == "Environment") {
    Credentials c{getenv_str("AWS_ACCESS_KEY_ID"), getenv_str("AWS_SECRET_ACCESS_KEY"), getenv_str("AWS_SESSION_TOKEN"),
                  "the environment"};
    if (!c.access_key.empty() && !c.secret_key.empty()) return c;
  } else if (what == "EcsContainer") {
    if (auto c = container_credentials()) return *c;
  } else if (what == "Ec2InstanceMetadata") {
    if (auto c = instance_credentials()) return *c;
  } else {
    throw usage_error(describe(p) +
                      ": credential_source must be Environment, EcsContainer or Ec2InstanceMetadata, not '" + what +
                      "'");
  }
  throw usage_error(describe(p) + ": credential_source " + what + " has no credentials");
}

std::optional<Credentials> from_profile(const Profile& p, const std::string& region, int depth) {
  if (depth > 4) throw usage_error(describe(p) + ": source_profile chain is longer than 4 (a loop?)");
  const std::string source = describe(p);
  if (std::string role = p.get("role_arn"); !role.empty()) {
    if (std::string tf = p.get("web_identity_token_file"); !tf.empty())
      return web_identity(p, region, role, tf, source);
    Credentials signer;
    if (std::string sp = p.get("source_profile"); !sp.empty()) {
      Profile src = read_profile(sp, true);
      if (!src.found)
        throw usage_error(source + ": source_profile '" + sp + "' is in neither " + p.config_path + " nor " +
                          p.credentials_path);
      // A profile that names itself uses its own static keys (the AWS CLI's rule).
      if (sp == p.name) {
        src.config.erase("role_arn");
        src.credentials.erase("role_arn");
      }
      auto c = from_profile(src, region, depth + 1);
      if (!c) throw usage_error(source + ": source_profile '" + sp + "' has no credentials");
      signer = *c;
    } else if (std::string cs = p.get("credential_source"); !cs.empty()) {
      signer = named_source(p, cs);
    } else {
      throw usage_error(source + ": role_arn needs source_profile, credential_source or web_identity_token_file");
    }
    std::map<std::string, std::string> fields = {
        {"Action", "AssumeRole"}, {"Version", "2011-06-15"}, {"RoleArn", role}, {"RoleSessionName", session_name(p)}};
    if (std::string id = p.get("external_id"); !id.empty()) fields["ExternalId"] = id;
    if (std::string d = p.get("duration_seconds"); !d.empty()) fields["DurationSeconds"] = d;
    return call_sts(p, region, fields, &signer, source);
  }
  Credentials c{p.get("aws_access_key_id"), p.get("aws_secret_access_key"), p.get("aws_session_token"), source};
  if (!c.access_key.empty() && !c.secret_key.empty()) {
    c.source = source + " in " + (p.credentials.count("aws_access_key_id") ? p.credentials_path : p.config_path);
    return c;
  }
  if (std::string cmd = p.get("credential_process"); !cmd.empty()) return run_process(cmd, source);
  if (!p.get("sso_session").empty() || !p.get("sso_start_url").empty()) {
    throw usage_error(source +
                      " is an SSO profile, which ingot cannot sign in to; run `aws configure export-credentials"
                      " --profile " +
                      p.name + " --format env` and pass the keys in the environment");
  }
  return std::nullopt;
}

}  // namespace

std::string Profile::get(const std::string& key) const {
  if (auto it = credentials.find(key); it != credentials.end()) return it->second;
  if (auto it = config.find(key); it != config.end()) return it->second;
  return "";
}

Profile load_profile(const std::string& flag) {
  std::string name = flag;
  if (name.empty()) name = getenv_str("AWS_PROFILE");
  if (name.empty()) name = getenv_str("AWS_DEFAULT_PROFILE");
  const bool chosen = !name.empty();
  if (!chosen) name = "default";
  Profile p = read_profile(name, chosen);
  p.from_flag = !flag.empty();
  if (chosen && !p.found) {
    throw usage_error("profile '" + name + "' is in neither " + p.config_path + " nor " + p.credentials_path);
  }
  return p;
}

std::string find_region(const std::string& flag, const Profile& p) {
  std::string r = flag;
  if (r.empty()) r = getenv_str("AWS_REGION");
  if (r.empty()) r = getenv_str("AWS_DEFAULT_REGION");
  if (r.empty()) r = p.config.count("region") ? p.config.at("region") : "";
  if (r.empty()) r = "us-east-1";
  return r;
}

std::string find_endpoint(const std::string& service, const Profile& p) {
  std::string var = "AWS_ENDPOINT_URL_";
  for (char ch : service) var += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  std::string e = getenv_str(var.c_str());
  if (e.empty()) e = getenv_str("AWS_ENDPOINT_URL");
  if (e.empty() && p.config.count(service + ".endpoint_url")) e = p.config.at(service + ".endpoint_url");
  if (e.empty() && p.config.count("endpoint_url")) e = p.config.at("endpoint_url");
  return e;
}

Credentials find_credentials(const Profile& p, const std::string& region) {
  // Keys in the environment win unless a profile was named on the command line (the
  // AWS CLI's rule: --profile beats them, AWS_PROFILE does not).
  if (!p.from_flag) {
    Credentials c{getenv_str("AWS_ACCESS_KEY_ID"), getenv_str("AWS_SECRET_ACCESS_KEY"), getenv_str("AWS_SESSION_TOKEN"),
                  "the environment"};
    if (!c.access_key.empty() && !c.secret_key.empty()) return c;
  }
  if (auto c = from_profile(p, region, 0)) return *c;
  if (std::string tf = getenv_str("AWS_WEB_IDENTITY_TOKEN_FILE"), role = getenv_str("AWS_ROLE_ARN");
      !tf.empty() && !role.empty()) {
    return web_identity(p, region, role, tf, "AWS_WEB_IDENTITY_TOKEN_FILE");
  }
  if (auto c = container_credentials()) return *c;
  if (auto c = instance_credentials()) return *c;
  throw usage_error("no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or give " + describe(p) +
                    " keys, a role or a credential_process in " + p.credentials_path + " or " + p.config_path +
                    " (no web identity, container or instance credentials either)");
}

}  // namespace ingot::s3
