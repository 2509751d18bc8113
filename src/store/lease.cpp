#include "store/lease.h"

#include <unistd.h>

#include <charconv>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "core/hash.h"
#include "core/strings.h"

namespace modelbay {
namespace {

constexpr std::string_view kLeasePrefix = "leases/";

// Parses "<attempt>.json" strictly: decimal, no leading zeros.
std::optional<int> ParseAttempt(std::string_view rest) {
  constexpr std::string_view kSuffix = ".json";
  if (rest.size() <= kSuffix.size() || rest.substr(rest.size() - kSuffix.size()) != kSuffix) {
    return std::nullopt;
  }
  rest.remove_suffix(kSuffix.size());
  if (rest.empty() || (rest.size() > 1 && rest.front() == '0')) return std::nullopt;
  int value = 0;
  auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), value);
  if (ec != std::errc() || ptr != rest.data() + rest.size() || value < 0) return std::nullopt;
  return value;
}

}  // namespace

std::string DefaultLeaseOwner() {
  return fmt::format("{}:{}:{}", HostName(), ::getpid(), RandomHex(4));
}

LeaseManager::LeaseManager(std::shared_ptr<Store> store, std::string owner, Clock clock,
                           std::chrono::milliseconds ttl)
    : store_(std::move(store)), owner_(std::move(owner)), clock_(std::move(clock)), ttl_(ttl) {}

std::string LeaseManager::KeyFor(const std::string& change_id, int attempt) {
  return fmt::format("{}{}.{}.json", kLeasePrefix, change_id, attempt);
}

std::string LeaseManager::Body(const std::string& change_id, int attempt, int64_t expires_ms) const {
  auto now = clock_();
  nlohmann::json body = {
      {"owner", owner_},
      {"change", change_id},
      {"attempt", attempt},
      {"renewed", FormatIso8601(now)},
      {"expires", FormatIso8601(std::chrono::system_clock::time_point(std::chrono::milliseconds(expires_ms)))},
      {"expires_ms", expires_ms},
  };
  return body.dump(2) + "\n";
}

Result<LeaseManager::Newest> LeaseManager::ReadNewest(const std::string& change_id) {
  const std::string prefix = fmt::format("{}{}.", kLeasePrefix, change_id);
  MB_ASSIGN_OR_RETURN(auto objects, store_->List(prefix));
  Newest newest;
  for (const auto& o : objects) {
    auto attempt = ParseAttempt(std::string_view(o.key).substr(prefix.size()));
    if (attempt && *attempt > newest.attempt) newest.attempt = *attempt;
  }
  if (newest.attempt < 0) return newest;
  auto text = store_->Get(KeyFor(change_id, newest.attempt));
  if (!text.ok()) {
    // Released between the listing and the read: treat as expired.
    if (text.status().code() == Code::kNotFound) return newest;
    return text.status();
  }
  auto doc = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_object() && doc.contains("expires_ms") && doc["expires_ms"].is_number_integer()) {
    newest.expires_ms = doc["expires_ms"].get<int64_t>();
    if (doc.contains("owner") && doc["owner"].is_string()) newest.owner = doc["owner"].get<std::string>();
  } else {
    spdlog::warn("lease {} is not a valid lease document; treating it as expired",
                 KeyFor(change_id, newest.attempt));
  }
  return newest;
}

Result<std::optional<Lease>> LeaseManager::TryAcquire(const std::string& change_id) {
  MB_ASSIGN_OR_RETURN(Newest newest, ReadNewest(change_id));
  const int64_t now_ms = UnixMillis(clock_());
  if (newest.attempt >= 0 && newest.expires_ms > now_ms) {
    if (newest.owner == owner_) {
      return std::optional<Lease>(Lease{change_id, newest.attempt, KeyFor(change_id, newest.attempt),
                                        newest.expires_ms});
    }
    spdlog::debug("change {} is leased by {} until {}", change_id.substr(0, 12), newest.owner,
                  newest.expires_ms);
    return std::optional<Lease>();
  }
  const int attempt = newest.attempt + 1;
  const int64_t expires_ms = now_ms + ttl_.count();
  Status put = store_->PutIfAbsent(KeyFor(change_id, attempt), Body(change_id, attempt, expires_ms));
  if (put.code() == Code::kAlreadyExists) return std::optional<Lease>();
  MB_RETURN_IF_ERROR(put);
  if (newest.attempt >= 0) {
    spdlog::info("took over the expired lease of change {} from {} (attempt {})",
                 change_id.substr(0, 12), newest.owner.empty() ? "?" : newest.owner, attempt);
  }
  return std::optional<Lease>(Lease{change_id, attempt, KeyFor(change_id, attempt), expires_ms});
}

Status LeaseManager::Renew(Lease& lease) {
  MB_ASSIGN_OR_RETURN(Newest newest, ReadNewest(lease.change_id));
  if (newest.attempt != lease.attempt) {
    return FailedPrecondition(fmt::format("lease of change {} was taken over (attempt {} > {})",
                                          lease.change_id.substr(0, 12), newest.attempt, lease.attempt));
  }
  const int64_t expires_ms = UnixMillis(clock_()) + ttl_.count();
  MB_RETURN_IF_ERROR(store_->Put(lease.key, Body(lease.change_id, lease.attempt, expires_ms)));
  lease.expires_ms = expires_ms;
  // A taker may have created attempt + 1 between the check and the write.
  MB_ASSIGN_OR_RETURN(Newest after, ReadNewest(lease.change_id));
  if (after.attempt != lease.attempt) {
    return FailedPrecondition(fmt::format("lease of change {} was taken over (attempt {})",
                                          lease.change_id.substr(0, 12), after.attempt));
  }
  return Status::Ok();
}

Status LeaseManager::Release(const Lease& lease) {
  const std::string prefix = fmt::format("{}{}.", kLeasePrefix, lease.change_id);
  MB_ASSIGN_OR_RETURN(auto objects, store_->List(prefix));
  for (const auto& o : objects) MB_RETURN_IF_ERROR(store_->Delete(o.key));
  return Status::Ok();
}

}  // namespace modelbay
