// Where S3 settings come from, the way the AWS CLI and SDKs find them: the profile
// (--profile, AWS_PROFILE), the shared files ~/.aws/config and ~/.aws/credentials,
// the environment, and the credential sources a machine provides (credential_process,
// STS web identity as a Kubernetes service account gives it, STS AssumeRole, container
// and EC2 instance metadata). docs/upload.md lists the order; no secret this file
// reads ever reaches a message.
#pragma once

#include <map>
#include <string>

namespace ingot::s3 {

struct Credentials {
  std::string access_key;
  std::string secret_key;
  std::string session_token;
  std::string source;  // where they came from, for messages ("profile 'x' in ~/.aws/credentials")
};

// One profile's keys from both shared files. A nested setting ("s3 =" followed by
// indented "addressing_style = path") is stored as "s3.addressing_style".
struct Profile {
  std::string name;
  bool chosen = false;                             // named by --profile or AWS_PROFILE, rather than "default"
  bool from_flag = false;                          // named by --profile: keys in the environment no longer win
  bool found = false;                              // a section of that name exists in either file
  std::map<std::string, std::string> config;       // ~/.aws/config "[profile NAME]" ("[default]")
  std::map<std::string, std::string> credentials;  // ~/.aws/credentials "[NAME]"
  std::string config_path, credentials_path;
  std::string get(const std::string& key) const;  // credentials file first, then config
};

// The profile `flag` names (from --profile), else AWS_PROFILE, else AWS_DEFAULT_PROFILE,
// else "default"; files from AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/.
// Throws a usage Error for a chosen profile that neither file has.
Profile load_profile(const std::string& flag);

// flag, else AWS_REGION, else AWS_DEFAULT_REGION, else the profile's region, else us-east-1.
std::string find_region(const std::string& flag, const Profile& p);

// An endpoint for `service` ("s3", "sts"): AWS_ENDPOINT_URL_<SERVICE>, else
// AWS_ENDPOINT_URL, else the profile's endpoint_url; "" when none is set.
std::string find_endpoint(const std::string& service, const Profile& p);

// The first source that has keys, in the AWS CLI's order: the environment (unless
// --profile named a profile), the profile (role_arn with web_identity_token_file or
// source_profile/credential_source, static keys, credential_process), web identity from
// AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN, container credentials
// (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI), EC2 instance metadata (IMDSv2;
// AWS_EC2_METADATA_DISABLED=true skips it). Throws a usage Error naming where it looked
// when none has keys, and a remote Error when a source that is configured fails.
Credentials find_credentials(const Profile& p, const std::string& region);

}  // namespace ingot::s3
