#include "train/collective.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <xgboost/c_api.h>

namespace modelbay {
namespace {

// xgboost::collective::DataType and Operation in 1.7 (the C API takes ints;
// the same numbers are in the Python package's collective.py).
constexpr int kUInt64 = 5;
constexpr int kDouble = 7;
constexpr int kMax = 0;
constexpr int kSum = 2;

Status CollectiveError(std::string_view what) {
  return Unavailable(fmt::format("distributed training: {} failed ({}); a worker died, hung past the timeout, "
                                 "or the tracker is unreachable",
                                 what, XGBGetLastError()));
}

}  // namespace

std::unique_ptr<Collective> Collective::Single() { return std::unique_ptr<Collective>(new Collective(0, 1, false)); }

Result<std::unique_ptr<Collective>> Collective::Join(const CollectiveConfig& config) {
  nlohmann::json args = {{"xgboost_communicator", "rabit"},
                         {"DMLC_TRACKER_URI", config.tracker_host},
                         {"DMLC_TRACKER_PORT", config.tracker_port},
                         {"DMLC_TASK_ID", config.task_id},
                         {"rabit_world_size", config.world_size}};
  if (XGCommunicatorInit(args.dump().c_str()) != 0) {
    return Unavailable(fmt::format("distributed training: cannot join the tracker at {}:{} ({})",
                                   config.tracker_host, config.tracker_port, XGBGetLastError()));
  }
  int rank = XGCommunicatorGetRank();
  int world = XGCommunicatorGetWorldSize();
  auto c = std::unique_ptr<Collective>(new Collective(rank, world, true));
  if (world != config.world_size) {
    return FailedPrecondition(fmt::format("distributed training: the tracker formed a job of {} workers, "
                                          "this worker expected {}",
                                          world, config.world_size));
  }
  return c;
}

Collective::~Collective() {
  if (joined_) XGCommunicatorFinalize();
}

Status Collective::Reduce(void* data, size_t count, int type, int op) {
  if (!joined_ || count == 0) return Status::Ok();
  if (XGCommunicatorAllreduce(data, count, type, op) != 0) return CollectiveError("allreduce");
  return Status::Ok();
}

Status Collective::Sum(std::span<uint64_t> v) { return Reduce(v.data(), v.size(), kUInt64, kSum); }
Status Collective::Sum(std::span<double> v) { return Reduce(v.data(), v.size(), kDouble, kSum); }
Status Collective::Max(std::span<double> v) { return Reduce(v.data(), v.size(), kDouble, kMax); }

Status Collective::Broadcast(std::string& text, int root) {
  if (!joined_) return Status::Ok();
  uint64_t size = text.size();
  if (XGCommunicatorBroadcast(&size, sizeof(size), root) != 0) return CollectiveError("broadcast");
  text.resize(size);
  if (size > 0 && XGCommunicatorBroadcast(text.data(), size, root) != 0) return CollectiveError("broadcast");
  return Status::Ok();
}

Result<std::vector<std::string>> Collective::AllGather(const std::string& mine) {
  std::vector<std::string> all(world_);
  for (int r = 0; r < world_; ++r) {
    if (r == rank_) all[r] = mine;
    MB_RETURN_IF_ERROR(Broadcast(all[r], r));
  }
  return all;
}

Result<std::vector<nlohmann::json>> Collective::Agree(const Result<nlohmann::json>& mine) {
  nlohmann::json wire = mine.ok() ? nlohmann::json{{"ok", *mine}}
                                  : nlohmann::json{{"code", static_cast<int>(mine.status().code())},
                                                   {"error", mine.status().message()}};
  if (!distributed()) {
    if (!mine.ok()) return mine.status();
    return std::vector<nlohmann::json>{*mine};
  }
  MB_ASSIGN_OR_RETURN(std::vector<std::string> all, AllGather(wire.dump()));
  std::vector<nlohmann::json> out;
  for (int r = 0; r < world_; ++r) {
    nlohmann::json j = nlohmann::json::parse(all[r], nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) return DataLoss(fmt::format("worker {} sent a malformed message", r));
    if (j.contains("error")) {
      std::string prefix = r == rank_ ? "" : fmt::format("worker {}: ", r);
      return Status(static_cast<Code>(j.value("code", static_cast<int>(Code::kInternal))), prefix + j.value("error", std::string()));
    }
    out.push_back(std::move(j["ok"]));
  }
  return out;
}

}  // namespace modelbay
