#include "store/sqs_client.h"

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace modelbay {

using nlohmann::json;

Result<QueueUrlParts> ParseQueueUrl(std::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    return InvalidArgument(fmt::format(
        "queue URL '{}' has no scheme; pass the full URL, e.g. "
        "https://sqs.us-east-1.amazonaws.com/123456789012/modelbay-events", url));
  }
  const size_t path_start = url.find('/', scheme_end + 3);
  if (path_start == std::string_view::npos || path_start == scheme_end + 3 ||
      path_start + 1 >= url.size()) {
    return InvalidArgument(fmt::format("queue URL '{}' has no host or no queue path", url));
  }
  QueueUrlParts parts;
  parts.endpoint = std::string(url.substr(0, path_start));
  std::string_view host = url.substr(scheme_end + 3, path_start - scheme_end - 3);
  // sqs.<region>.amazonaws.com[.cn] or <region>.queue.amazonaws.com
  if (host.rfind("sqs.", 0) == 0) {
    std::string_view rest = host.substr(4);
    if (size_t dot = rest.find('.'); dot != std::string_view::npos && rest.substr(dot).rfind(".amazonaws.com", 0) == 0) {
      parts.region = std::string(rest.substr(0, dot));
    }
  } else if (size_t q = host.find(".queue.amazonaws.com"); q != std::string_view::npos) {
    parts.region = std::string(host.substr(0, q));
  }
  return parts;
}

Result<std::unique_ptr<SqsClient>> SqsClient::Open(const std::string& queue_url, const AwsConfig& aws) {
  MB_ASSIGN_OR_RETURN(QueueUrlParts parts, ParseQueueUrl(queue_url));
  std::string endpoint = aws.endpoint_url.empty() ? parts.endpoint : aws.endpoint_url;
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  // An AWS queue URL names its region; it wins over the configured default.
  std::string region = (!parts.region.empty() && aws.endpoint_url.empty()) ? parts.region : aws.region;
  HttpOptions options = HttpOptionsFromEnv(ProcessEnv());
  auto http = std::make_shared<AwsHttpClient>(SharedCredentialsChain(aws), options);
  return std::make_unique<SqsClient>(queue_url, std::move(endpoint), std::move(region), std::move(http));
}

SqsClient::SqsClient(std::string queue_url, std::string endpoint, std::string region,
                     std::shared_ptr<AwsHttpClient> http)
    : queue_url_(std::move(queue_url)),
      endpoint_(std::move(endpoint)),
      region_(std::move(region)),
      http_(std::move(http)) {}

Result<json> SqsClient::Call(const std::string& action, const json& body) {
  const std::string payload = body.dump();
  AwsRequest request;
  request.method = "POST";
  request.service = "sqs";
  request.region = region_;
  request.endpoint = endpoint_;
  request.path = "/";
  request.headers = {{"content-type", "application/x-amz-json-1.0"},
                     {"x-amz-target", "AmazonSQS." + action}};
  request.body = payload;
  request.operation = fmt::format("{} {}", action, queue_url_);
  MB_ASSIGN_OR_RETURN(AwsResponse response, http_->Call(request));
  if (response.body.empty()) return json::object();
  json doc = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Unavailable(fmt::format("{}: the response is not a JSON object (is {} an SQS endpoint?)",
                                   request.operation, endpoint_));
  }
  return doc;
}

Result<std::vector<SqsMessage>> SqsClient::Receive(const ReceiveOptions& options) {
  json body = {
      {"QueueUrl", queue_url_},
      {"MaxNumberOfMessages", std::clamp(options.max_messages, 1, 10)},
      {"WaitTimeSeconds", std::clamp(options.wait_seconds, 0, 20)},
      {"VisibilityTimeout", std::max(options.visibility_seconds, 0)},
      {"AttributeNames", json::array({"ApproximateReceiveCount"})},
      {"MessageSystemAttributeNames", json::array({"ApproximateReceiveCount"})},
  };
  MB_ASSIGN_OR_RETURN(json doc, Call("ReceiveMessage", body));
  std::vector<SqsMessage> out;
  auto messages = doc.find("Messages");
  if (messages == doc.end() || !messages->is_array()) return out;
  for (const auto& m : *messages) {
    if (!m.is_object() || !m.contains("ReceiptHandle") || !m["ReceiptHandle"].is_string()) {
      spdlog::warn("SQS returned a message without a receipt handle; skipped");
      continue;
    }
    SqsMessage msg;
    msg.receipt_handle = m["ReceiptHandle"].get<std::string>();
    if (m.contains("MessageId") && m["MessageId"].is_string()) msg.message_id = m["MessageId"].get<std::string>();
    if (m.contains("Body") && m["Body"].is_string()) msg.body = m["Body"].get<std::string>();
    if (auto a = m.find("Attributes"); a != m.end() && a->is_object()) {
      if (auto c = a->find("ApproximateReceiveCount"); c != a->end() && c->is_string()) {
        try {
          msg.receive_count = std::stoi(c->get<std::string>());
        } catch (const std::exception&) {
          msg.receive_count = 0;
        }
      }
    }
    out.push_back(std::move(msg));
  }
  return out;
}

Status SqsClient::Delete(const std::string& receipt_handle) {
  auto r = Call("DeleteMessage", {{"QueueUrl", queue_url_}, {"ReceiptHandle", receipt_handle}});
  return r.ok() ? Status::Ok() : r.status();
}

Status SqsClient::ChangeVisibility(const std::string& receipt_handle, int visibility_seconds) {
  auto r = Call("ChangeMessageVisibility", {{"QueueUrl", queue_url_},
                                            {"ReceiptHandle", receipt_handle},
                                            {"VisibilityTimeout", visibility_seconds}});
  return r.ok() ? Status::Ok() : r.status();
}

Result<std::map<std::string, std::string>> SqsClient::Attributes() {
  MB_ASSIGN_OR_RETURN(json doc, Call("GetQueueAttributes", {{"QueueUrl", queue_url_},
                                                            {"AttributeNames", json::array({"All"})}}));
  std::map<std::string, std::string> out;
  if (auto a = doc.find("Attributes"); a != doc.end() && a->is_object()) {
    for (const auto& [k, v] : a->items()) out[k] = v.is_string() ? v.get<std::string>() : v.dump();
  }
  return out;
}

}  // namespace modelbay
