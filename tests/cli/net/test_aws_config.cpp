// Where ingot finds S3 settings (lib/ingot/net/s3/aws_config.*), end to end: each case
// lists a bucket of the real Swift S3 server with keys from one source: profiles of
// ~/.aws/config and ~/.aws/credentials (aws cli, run on the same files, must agree on
// which succeed), credential_process, STS web identity and AssumeRole, the container
// endpoint and instance metadata (tests/fixtures/aws_endpoint.py stands in for those
// services and hands out the Swift keys).
#include "cli/s3_env.h"

using namespace ingot_test;

namespace {

// Every AWS variable of the test process removed, the shared files pointed into dir,
// instance metadata off unless a case turns it on.
std::string clean_env(const TempDir& d) {
  std::string env = "env";
  for (const char* v :
       {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
        "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_STS",
        "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_EC2_METADATA_SERVICE_ENDPOINT"}) {
    env += std::string(" -u ") + v;
  }
  return env + " HOME=" + shell_quote(d.path().string()) + " AWS_CONFIG_FILE=" + shell_quote(d.str("config")) +
         " AWS_SHARED_CREDENTIALS_FILE=" + shell_quote(d.str("credentials")) + " AWS_EC2_METADATA_DISABLED=true ";
}

// tests/fixtures/aws_endpoint.py for the life of the object, handing out the Swift keys.
class AwsEndpoint {
 public:
  AwsEndpoint(const TempDir& d, const std::string& token, const std::string& auth)
      : log_(d / ".aws.log"),
        server_("aws_endpoint.py", {"--log", log_.string(), "--keys", keys_file(d), "--token", token, "--auth", auth},
                d / ".aws.port"),
        url(server_.url) {}
  std::vector<nlohmann::json> log() const { return json_lines(log_); }

 private:
  static std::string keys_file(const TempDir& d) {
    write_file(d / ".keys", servers().s3_access_key + "\n" + servers().s3_secret_key + "\n");
    return d.str(".keys");
  }
  fs::path log_;
  FixtureServer server_;

 public:
  const std::string url;
};

struct Listing {
  S3Env s3;
  TempDir d;
  Listing() { s3.client.put_object({s3.bucket, "a.txt"}, "hi\n", ingot::s3::md5_base64("hi\n")); }
  // `ingot ls` of the bucket with `env` (VAR=value ...) and flags.
  RunResult ingot(const std::string& env, const std::string& flags = "") {
    return run_sh(
        d, clean_env(d) + env + " \"$INGOT\" ls " + s3.url("") + " --endpoint " + servers().s3_endpoint + " " + flags);
  }
  // The same listing by aws cli, an independent reader of the same files.
  RunResult aws(const std::string& env, const std::string& flags = "") {
    return run_sh(d, clean_env(d) + env + " /usr/bin/aws s3api list-objects --output json --bucket " + s3.bucket +
                         " --endpoint-url " + servers().s3_endpoint + " " + flags);
  }
  bool listed(const RunResult& r) const { return r.code == 0 && r.out.find("a.txt") != std::string::npos; }
};

const char* kPath = "s3 =\n    addressing_style = path\n";

}  // namespace

TEST_CASE("aws config: region and keys from the profile, --profile beats keys in the environment, AWS_PROFILE does not",
          "[cli][upload][s3][aws]") {
  Listing t;
  const ServerEnv& e = servers();
  write_file(t.d / "credentials",
             "[default]\naws_access_key_id = nobody\naws_secret_access_key = wrong\n\n[good]\n"
             "aws_access_key_id = " +
                 e.s3_access_key + "\naws_secret_access_key = " + e.s3_secret_key +
                 "\n\n# a comment\n[eu]\naws_access_key_id = " + e.s3_access_key +
                 "\naws_secret_access_key = " + e.s3_secret_key + "\n");
  write_file(t.d / "config", std::string("[default]\nregion = us-east-1\n") + kPath + "[profile good]\n" + kPath +
                                 "region = us-east-1\n[profile eu]\nregion = eu-west-1\n" + kPath);
  const std::string wrong_env = "AWS_ACCESS_KEY_ID=nobody AWS_SECRET_ACCESS_KEY=wrong ";
  struct Case {
    std::string env, flags;
    bool ok;
    bool aws_ok;  // aws cli follows the server's "region is wrong; expecting" to the right region
  };
  const std::vector<Case> cases = {
      {"", "", false, false},                                // default profile: wrong keys
      {"", "--profile good", true, true},                    // --profile
      {"AWS_PROFILE=good", "", true, true},                  // AWS_PROFILE
      {wrong_env, "--profile good", true, true},             // --profile beats keys in the environment
      {wrong_env + "AWS_PROFILE=good", "", false, false},    // keys in the environment beat AWS_PROFILE
      {"", "--profile eu", false, true},                     // region eu-west-1 from the profile: refused
      {"AWS_REGION=us-east-1", "--profile eu", true, true},  // AWS_REGION beats the profile's region
  };
  for (const Case& c : cases) {
    INFO(c.env << " " << c.flags);
    RunResult mine = t.ingot(c.env, c.flags);
    RunResult theirs = t.aws(c.env, c.flags);
    INFO(mine.err << theirs.err);
    CHECK(t.listed(mine) == c.ok);
    CHECK(t.listed(theirs) == c.aws_ok);
    if (!c.ok) CHECK(mine.code == 3);
  }
  RunResult eu = t.ingot("", "--profile eu");
  CHECK(eu.err.find("'eu-west-1' is wrong") != std::string::npos);
  RunResult eu_aws = run_sh(t.d, clean_env(t.d) + "/usr/bin/aws configure get region --profile eu");
  CHECK(eu_aws.out == "eu-west-1\n");
  RunResult none = t.ingot("", "--profile nosuch");
  CHECK(none.code == 2);
  CHECK(none.err == "ingot ls: error: profile 'nosuch' is in neither " + t.d.str("config") + " nor " +
                        t.d.str("credentials") + "\n");
  RunResult unset = t.ingot("AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent");
  CHECK(unset.code == 2);
  CHECK(unset.err.find("ingot ls: error: no S3 credentials: ") == 0);
}

TEST_CASE("aws config: credential_process gives the keys, its failure is one line", "[cli][upload][s3][aws]") {
  Listing t;
  const ServerEnv& e = servers();
  write_file(t.d / "keys.json", nlohmann::json{{"Version", 1},
                                               {"AccessKeyId", e.s3_access_key},
                                               {"SecretAccessKey", e.s3_secret_key},
                                               {"SessionToken", "tok"}}
                                    .dump());
  write_file(t.d / "noversion.json",
             nlohmann::json{{"AccessKeyId", e.s3_access_key}, {"SecretAccessKey", e.s3_secret_key}}.dump());
  write_file(t.d / "credentials", "");
  write_file(t.d / "config", std::string("[profile proc]\n") + kPath + "credential_process = cat '" +
                                 t.d.str("keys.json") + "'\n[profile fails]\n" + kPath +
                                 "credential_process = sh -c 'echo boom >&2; exit 4'\n[profile old]\n" + kPath +
                                 "credential_process = cat '" + t.d.str("noversion.json") + "'\n");
  CHECK(t.listed(t.ingot("", "--profile proc")));
  CHECK(t.listed(t.aws("", "--profile proc")));
  RunResult f = t.ingot("", "--profile fails");
  CHECK(f.code == 3);
  CHECK(f.err == "boom\ningot ls: error: the credential_process of profile 'fails' exited with status 4\n");
  CHECK_FALSE(t.listed(t.aws("", "--profile fails")));
  RunResult old = t.ingot("AWS_PROFILE=old");
  CHECK(old.code == 3);
  CHECK(old.err == "ingot ls: error: the credential_process of profile 'old' answered without \"Version\": 1\n");
}

TEST_CASE("aws config: web identity through STS, from the environment and from a profile", "[cli][upload][s3][aws]") {
  Listing t;
  const std::string token = "eyJhbGciOiJSUzI1NiJ9.k8s-service-account.sig";
  AwsEndpoint sts(t.d, token, "");
  write_file(t.d / "token", token + "\n");
  write_file(t.d / "bad-token", "forged\n");
  write_file(t.d / "credentials", "");
  write_file(t.d / "config", std::string("[default]\n") + kPath + "[profile wi]\n" + kPath +
                                 "role_arn = arn:aws:iam::123456789012:role/from-profile\nweb_identity_token_file = " +
                                 t.d.str("token") + "\nrole_session_name = sess-p\n");
  const std::string sts_env = "AWS_ENDPOINT_URL_STS=" + sts.url + " ";
  const std::string env_wi =
      sts_env + "AWS_ROLE_ARN=arn:aws:iam::123456789012:role/from-env AWS_ROLE_SESSION_NAME=sess-e ";
  // What a Kubernetes service account gives a pod: the two variables and a token file.
  RunResult a = t.ingot(env_wi + "AWS_WEB_IDENTITY_TOKEN_FILE=" + shell_quote(t.d.str("token")));
  INFO(a.err);
  CHECK(t.listed(a));
  RunResult b = t.ingot(sts_env, "--profile wi");
  INFO(b.err);
  CHECK(t.listed(b));
  auto log = sts.log();
  REQUIRE(log.size() == 2);
  CHECK(log[0]["action"] == "AssumeRoleWithWebIdentity");
  CHECK(log[0]["fields"]["RoleArn"] == "arn:aws:iam::123456789012:role/from-env");
  CHECK(log[0]["fields"]["RoleSessionName"] == "sess-e");
  CHECK(log[1]["fields"]["RoleArn"] == "arn:aws:iam::123456789012:role/from-profile");
  CHECK(log[1]["fields"]["RoleSessionName"] == "sess-p");
  // (aws cli is no oracle here: its web identity provider calls sts.amazonaws.com whatever
  // AWS_ENDPOINT_URL_STS says, and this machine has no route there.)
  // A token STS refuses: its error, and never the token.
  RunResult bad = t.ingot(env_wi + "AWS_WEB_IDENTITY_TOKEN_FILE=" + shell_quote(t.d.str("bad-token")));
  CHECK(bad.code == 3);
  CHECK(bad.err ==
        "ingot ls: error: STS AssumeRoleWithWebIdentity for AWS_WEB_IDENTITY_TOKEN_FILE: HTTP 400 "
        "InvalidIdentityToken: Couldn't retrieve verification key\n");
  RunResult missing = t.ingot(env_wi + "AWS_WEB_IDENTITY_TOKEN_FILE=/nonexistent/token");
  CHECK(missing.code == 2);
  CHECK(missing.err ==
        "ingot ls: error: web identity token file of AWS_WEB_IDENTITY_TOKEN_FILE cannot be read: /nonexistent/token\n");
  for (const RunResult& r : {a, b, bad}) CHECK(r.err.find(token) == std::string::npos);
}

TEST_CASE("aws config: AssumeRole with a source_profile is signed with the source's keys", "[cli][upload][s3][aws]") {
  Listing t;
  const ServerEnv& e = servers();
  AwsEndpoint sts(t.d, "", "");
  write_file(t.d / "credentials",
             "[base]\naws_access_key_id = " + e.s3_access_key + "\naws_secret_access_key = " + e.s3_secret_key + "\n");
  write_file(t.d / "config", std::string("[profile role]\n") + kPath +
                                 "role_arn = arn:aws:iam::123456789012:role/deploy\nsource_profile = base\n"
                                 "external_id = ext-42\n[profile loop]\nrole_arn = arn:x\nsource_profile = loop2\n"
                                 "[profile loop2]\nrole_arn = arn:y\nsource_profile = loop\n");
  RunResult r = t.ingot("AWS_ENDPOINT_URL_STS=" + sts.url, "--profile role");
  INFO(r.err);
  CHECK(t.listed(r));
  auto log = sts.log();
  REQUIRE(log.size() == 1);
  CHECK(log[0]["action"] == "AssumeRole");
  CHECK(log[0]["ok"] == true);
  CHECK(log[0]["signer"] == e.s3_access_key);
  CHECK(log[0]["scope"] == "us-east-1/sts/aws4_request");
  CHECK(log[0]["fields"]["ExternalId"] == "ext-42");
  CHECK(log[0]["fields"]["RoleArn"] == "arn:aws:iam::123456789012:role/deploy");
  RunResult loop = t.ingot("AWS_ENDPOINT_URL_STS=" + sts.url, "--profile loop");
  CHECK(loop.code == 2);
  CHECK(loop.err.find("source_profile chain is longer than 4") != std::string::npos);
}

TEST_CASE("aws config: container credentials and instance metadata (IMDSv2)", "[cli][upload][s3][aws]") {
  Listing t;
  const std::string auth = "Bearer container-auth-7f3a";
  AwsEndpoint svc(t.d, "", auth);
  write_file(t.d / "credentials", "");
  write_file(t.d / "config", std::string("[default]\n") + kPath);
  const std::string full = "AWS_CONTAINER_CREDENTIALS_FULL_URI=" + svc.url + "/container/creds ";
  RunResult c = t.ingot(full + "AWS_CONTAINER_AUTHORIZATION_TOKEN=" + shell_quote(auth));
  INFO(c.err);
  CHECK(t.listed(c));
  RunResult denied = t.ingot(full + "AWS_CONTAINER_AUTHORIZATION_TOKEN=other");
  CHECK(denied.code == 3);
  CHECK(denied.err == "ingot ls: error: the container credentials endpoint: HTTP 403\n");
  // Instance metadata: a session token first, then the role, then its keys.
  RunResult m =
      run_sh(t.d, clean_env(t.d) + "AWS_EC2_METADATA_DISABLED=false AWS_EC2_METADATA_SERVICE_ENDPOINT=" + svc.url +
                      " \"$INGOT\" ls " + t.s3.url("") + " --endpoint " + servers().s3_endpoint);
  INFO(m.err);
  CHECK(t.listed(m));
  std::vector<std::string> calls;
  for (const auto& l : svc.log()) calls.push_back(l["method"].get<std::string>() + " " + l["path"].get<std::string>());
  CHECK(calls == std::vector<std::string>{"GET /container/creds", "GET /container/creds", "PUT /latest/api/token",
                                          "GET /latest/meta-data/iam/security-credentials/",
                                          "GET /latest/meta-data/iam/security-credentials/ingot-node-role"});
  for (const RunResult& r : {c, denied, m}) CHECK(r.err.find("container-auth-7f3a") == std::string::npos);
}
