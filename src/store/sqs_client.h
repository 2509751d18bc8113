// Amazon SQS over the signed-HTTP layer (http_client.h), with the SQS JSON
// protocol (POST, Content-Type application/x-amz-json-1.0, X-Amz-Target:
// AmazonSQS.<Action>): the calls a queue consumer needs.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/status.h"
#include "store/http_client.h"

namespace modelbay {

struct SqsMessage {
  std::string message_id;
  std::string receipt_handle;
  std::string body;
  int receive_count = 0;  // ApproximateReceiveCount (1 on the first delivery)
};

struct ReceiveOptions {
  int max_messages = 1;        // 1..10
  int wait_seconds = 20;       // long poll, 0..20
  int visibility_seconds = 60; // how long a received message stays hidden
};

class SqsClient {
 public:
  // `queue_url` is "https://sqs.<region>.amazonaws.com/<account>/<name>" or a
  // compatible server's. Requests go to AWS_ENDPOINT_URL when set, else to
  // the queue URL's host.
  static Result<std::unique_ptr<SqsClient>> Open(const std::string& queue_url, const AwsConfig& aws);

  SqsClient(std::string queue_url, std::string endpoint, std::string region,
            std::shared_ptr<AwsHttpClient> http);

  const std::string& queue_url() const { return queue_url_; }

  Result<std::vector<SqsMessage>> Receive(const ReceiveOptions& options);
  Status Delete(const std::string& receipt_handle);
  Status ChangeVisibility(const std::string& receipt_handle, int visibility_seconds);
  Result<std::map<std::string, std::string>> Attributes();

 private:
  Result<nlohmann::json> Call(const std::string& action, const nlohmann::json& body);

  std::string queue_url_;
  std::string endpoint_;
  std::string region_;
  std::shared_ptr<AwsHttpClient> http_;
};

// "https://sqs.eu-west-1.amazonaws.com/123/q" -> {"https://sqs.eu-west-1.amazonaws.com", "eu-west-1"};
// the region is "" when the host does not name one. InvalidArgument when
// the URL has no scheme, host or queue path.
struct QueueUrlParts {
  std::string endpoint;
  std::string region;
};
Result<QueueUrlParts> ParseQueueUrl(std::string_view queue_url);

}  // namespace modelbay
