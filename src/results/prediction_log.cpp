#include "results/prediction_log.h"

#include <future>
#include <vector>

#include "core/end_of_turn.h"
#include "results/row_format.h"
#include "results/row_log.h"

namespace modelbay::results {
namespace {

class PredictionLogImpl final : public PredictionLog {
 public:
  explicit PredictionLogImpl(std::unique_ptr<results::RowLog> log) : log_(std::move(log)) {}

  void AppendAsync(const LoadedModel& model, std::string_view request_id, const CellMatrix& inputs,
                   const Predictions& predictions, std::chrono::system_clock::time_point timestamp,
                   Done done, std::optional<uint64_t> first_row) override {
    const Schema& schema = model.schema();
    std::vector<std::string> labels;
    labels.reserve(predictions.rows);
    for (size_t r = 0; r < predictions.rows; ++r) labels.push_back(model.LabelText(predictions, r));
    std::string rows = results::FormatRows(schema, model.version(), request_id, inputs, labels,
                                           predictions, timestamp, first_row);
    log_->AppendAsync(model.version(), results::HeaderLine(schema), rows, inputs.rows, std::move(done));
  }
  Status Flush() override { return log_->Flush(); }
  Status Close() override { return log_->Close(); }
  Stats stats() const override { return log_->stats(); }

 private:
  std::unique_ptr<results::RowLog> log_;
};

}  // namespace

Status PredictionLog::Append(const LoadedModel& model, std::string_view request_id, const CellMatrix& inputs,
                             const Predictions& predictions, std::chrono::system_clock::time_point timestamp,
                             std::optional<uint64_t> first_row) {
  std::promise<Status> result;
  auto done = result.get_future();
  const EndOfTurn::Suspended waiting_here;  // the append must not wait for this thread's turn to end
  AppendAsync(model, request_id, inputs, predictions, timestamp,
              [&result](const Status& s) { result.set_value(s); }, first_row);
  return done.get();
}

Result<std::unique_ptr<PredictionLog>> PredictionLog::Open(PredictionLogOptions options,
                                                           std::shared_ptr<Store> results) {
  results::RowLogOptions o;
  o.spool_dir = std::move(options.spool_dir);
  o.fsync = options.fsync;
  o.ship_interval = options.ship_interval;
  o.writer_id = std::move(options.writer_id);
  MB_ASSIGN_OR_RETURN(auto log, results::RowLog::Open(std::move(o), std::move(results)));
  return std::unique_ptr<PredictionLog>(std::make_unique<PredictionLogImpl>(std::move(log)));
}

}  // namespace modelbay::results
