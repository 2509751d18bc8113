#include "monitor/feedback.h"

#include <algorithm>
#include <cfloat>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "core/clock.h"
#include "core/csv.h"
#include "model/values.h"
#include "results/row_format.h"

namespace modelbay::monitor {
namespace {

using nlohmann::json;

constexpr size_t kMaxRequestIdBytes = 256;
constexpr size_t kMaxLabelBytes = 1024;
constexpr size_t kUnknownExamples = 5;

std::string JoinKey(std::string_view request_id, uint64_t row) {
  return fmt::format("{}\n{}", request_id, row);
}

// The one check of a record's fields, for JSON and CSV alike. `where`
// prefixes the field name in the message ("[2]." or "feedback.csv:3: ").
Status CheckRecord(const FeedbackRecord& r, const Schema& schema, std::string_view where) {
  if (r.request_id.empty() || r.request_id.size() > kMaxRequestIdBytes) {
    return InvalidArgument(fmt::format("{}request_id: must be 1-{} characters: the request_id of the answer "
                                       "being labelled",
                                       where, kMaxRequestIdBytes));
  }
  for (unsigned char c : r.request_id) {
    if (c < 0x20 || c == 0x7f) {
      return InvalidArgument(fmt::format("{}request_id: holds a control character; send the request_id the "
                                         "server answered with",
                                         where));
    }
  }
  if (r.label.size() > kMaxLabelBytes) {
    return InvalidArgument(fmt::format("{}label: longer than {} bytes", where, kMaxLabelBytes));
  }
  if (!schema.is_classifier()) {
    if (!ParseNumber(r.label)) {
      return InvalidArgument(fmt::format("{}label: \"{}\" is not a finite number; this model is a regression",
                                         where, r.label));
    }
    return Status::Ok();
  }
  if (std::find(schema.class_labels.begin(), schema.class_labels.end(), r.label) == schema.class_labels.end()) {
    return InvalidArgument(fmt::format("{}label: \"{}\" is not a class of this model; its classes are \"{}\"", where,
                                       r.label, fmt::join(schema.class_labels, "\", \"")));
  }
  return Status::Ok();
}

Result<FeedbackRecord> RecordFromJson(const json& item, const Schema& schema, std::string_view where) {
  if (!item.is_object()) {
    return InvalidArgument(fmt::format("{}: must be an object {{\"request_id\": ..., \"label\": ..., \"row\": ...}}",
                                       where.empty() ? "body" : where.substr(0, where.size() - 1)));
  }
  FeedbackRecord r;
  for (const auto& [name, value] : item.items()) {
    if (name != "request_id" && name != "label" && name != "row") {
      return InvalidArgument(fmt::format("{}{}: unknown field; a feedback record has request_id, label and "
                                         "optionally row",
                                         where, name));
    }
  }
  auto id = item.find("request_id");
  if (id == item.end()) return InvalidArgument(fmt::format("{}request_id: missing", where));
  if (!id->is_string()) return InvalidArgument(fmt::format("{}request_id: must be a string", where));
  r.request_id = id->get<std::string>();
  auto label = item.find("label");
  if (label == item.end()) return InvalidArgument(fmt::format("{}label: missing", where));
  if (label->is_string()) {
    r.label = label->get<std::string>();
  } else if (label->is_number() || label->is_boolean()) {
    // A number is its shortest text ("1" for 1 and 1.0), as classes are written.
    r.label = label->is_boolean() ? label->dump() : FormatNumber(label->get<double>());
  } else {
    return InvalidArgument(fmt::format("{}label: must be a string or a number", where));
  }
  if (auto row = item.find("row"); row != item.end()) {
    if (!row->is_number_unsigned()) {
      return InvalidArgument(fmt::format("{}row: must be a non-negative integer (the row's index in its request)",
                                         where));
    }
    r.row = row->get<uint64_t>();
  }
  MB_RETURN_IF_ERROR(CheckRecord(r, schema, where));
  return r;
}

long Column(const CsvTable& t, std::string_view name) { return t.find_column(name); }

// ranks averaged over ties (Mann-Whitney U), as scikit-learn's roc_auc_score.
std::optional<double> Auc(std::vector<std::pair<double, bool>> scored) {
  uint64_t positives = 0;
  for (const auto& s : scored) positives += s.second ? 1 : 0;
  const uint64_t negatives = scored.size() - positives;
  if (positives == 0 || negatives == 0) return std::nullopt;
  std::sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  double rank_sum = 0;
  for (size_t i = 0; i < scored.size();) {
    size_t j = i;
    while (j < scored.size() && scored[j].first == scored[i].first) ++j;
    const double rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;  // 1-based average
    for (size_t k = i; k < j; ++k) {
      if (scored[k].second) rank_sum += rank;
    }
    i = j;
  }
  const double p = static_cast<double>(positives), n = static_cast<double>(negatives);
  return (rank_sum - p * (p + 1) / 2) / (p * n);
}

}  // namespace

Result<std::unique_ptr<results::RowLog>> OpenFeedbackLog(const results::PredictionLogOptions& base,
                                                         std::shared_ptr<Store> results) {
  results::RowLogOptions o;
  o.spool_dir = base.spool_dir / kFeedbackSpoolFolder;
  o.fsync = base.fsync;
  o.ship_interval = base.ship_interval;
  o.writer_id = base.writer_id.empty() ? std::string() : base.writer_id + "-feedback";
  o.key_prefix = std::string(kFeedbackKeyPrefix);
  o.versioned_keys = false;
  return results::RowLog::Open(std::move(o), std::move(results));
}

std::string FeedbackHeaderLine() { return "timestamp,request_id,row,label\n"; }

std::string FormatFeedback(const std::vector<FeedbackRecord>& records, std::chrono::system_clock::time_point timestamp) {
  const std::string time = FormatIso8601(timestamp);
  std::string out;
  for (const auto& r : records) {
    out += time;
    out.push_back(',');
    results::AppendCsvField(out, r.request_id);
    fmt::format_to(std::back_inserter(out), ",{},", r.row);
    results::AppendCsvField(out, r.label);
    out.push_back('\n');
  }
  return out;
}

Result<std::vector<FeedbackRecord>> ParseFeedbackJson(std::string_view body, const Schema& schema,
                                                      size_t max_records) {
  const json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return InvalidArgument("body: not valid JSON; send {\"request_id\": \"...\", \"label\": ...} or a list of them");
  }
  std::vector<FeedbackRecord> out;
  if (!doc.is_array()) {
    MB_ASSIGN_OR_RETURN(FeedbackRecord r, RecordFromJson(doc, schema, ""));
    out.push_back(std::move(r));
    return out;
  }
  if (doc.empty()) return InvalidArgument("body: an empty list; send at least one feedback record");
  if (doc.size() > max_records) {
    return InvalidArgument(fmt::format("body: {} records, more than {} per request; split the list", doc.size(),
                                       max_records));
  }
  for (size_t i = 0; i < doc.size(); ++i) {
    MB_ASSIGN_OR_RETURN(FeedbackRecord r, RecordFromJson(doc[i], schema, fmt::format("[{}].", i)));
    out.push_back(std::move(r));
  }
  return out;
}

Result<std::vector<FeedbackRecord>> ReadFeedbackCsv(const std::filesystem::path& file, const Schema& schema) {
  MB_ASSIGN_OR_RETURN(CsvTable t, ReadCsvFile(file));
  for (const auto& name : t.header()) {
    if (name != "request_id" && name != "label" && name != "row") {
      return InvalidArgument(fmt::format("{}:1: column \"{}\": unknown; the columns are request_id,label[,row]",
                                         file.string(), name));
    }
  }
  const long id = Column(t, "request_id"), label = Column(t, "label"), row = Column(t, "row");
  if (id < 0 || label < 0) {
    return InvalidArgument(fmt::format("{}:1: needs a header with the columns request_id,label (and optionally row)",
                                       file.string()));
  }
  std::vector<FeedbackRecord> out;
  out.reserve(t.rows());
  for (size_t r = 0; r < t.rows(); ++r) {
    const std::string where = fmt::format("{}:{}: column ", t.source_of(r), t.line_of(r));
    FeedbackRecord rec;
    rec.request_id = std::string(t.cell(r, static_cast<size_t>(id)));
    rec.label = std::string(t.cell(r, static_cast<size_t>(label)));
    if (row >= 0) {
      const std::string_view text = t.cell(r, static_cast<size_t>(row));
      if (!text.empty()) {
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), rec.row);
        if (ec != std::errc() || end != text.data() + text.size()) {
          return InvalidArgument(fmt::format("{}row: \"{}\" is not a non-negative integer", where, text));
        }
      }
    }
    MB_RETURN_IF_ERROR(CheckRecord(rec, schema, where));
    out.push_back(std::move(rec));
  }
  if (out.empty()) return InvalidArgument(fmt::format("{}: holds no feedback rows", file.string()));
  return out;
}

nlohmann::json FeedbackJson(const FeedbackMetrics& m) {
  auto opt = [](const std::optional<double>& v) { return v ? json(*v) : json(nullptr); };
  json j = {{"model", m.model},
            {"version", m.version},
            {"task", m.task},
            {"logged_rows", m.logged_rows},
            {"labelled_rows", m.labelled_rows},
            {"feedback", {{"keys", m.feedback_keys}, {"unknown", m.unknown}, {"unknown_examples", m.unknown_examples}}},
            {"window", {{"max_logged_rows", m.max_logged_rows},
                        {"max_labels", m.max_labels},
                        {"evicted_logged_rows", m.evicted_logged_rows},
                        {"evicted_labels", m.evicted_labels}}},
            {"auc", opt(m.auc)},
            {"accuracy", opt(m.accuracy)},
            {"log_loss", opt(m.log_loss)},
            {"rmse", opt(m.rmse)}};
  if (!m.positive_class.empty()) j["positive_class"] = m.positive_class;
  return j;
}

std::string FeedbackPrometheus(const std::vector<FeedbackMetrics>& metrics) {
  if (metrics.empty()) return {};
  struct Family {
    const char* name;
    const char* help;
    std::optional<double> (*get)(const FeedbackMetrics&);
  };
  static const Family kFamilies[] = {
      {"modelbay_feedback_labelled_rows", "Logged rows of the version that have a true label",
       [](const FeedbackMetrics& m) { return std::optional<double>(static_cast<double>(m.labelled_rows)); }},
      {"modelbay_feedback_auc", "ROC AUC over the labelled rows (binary classifiers)",
       [](const FeedbackMetrics& m) { return m.auc; }},
      {"modelbay_feedback_accuracy", "Accuracy over the labelled rows (classifiers)",
       [](const FeedbackMetrics& m) { return m.accuracy; }},
      {"modelbay_feedback_log_loss", "Log loss over the labelled rows (classifiers)",
       [](const FeedbackMetrics& m) { return m.log_loss; }},
      {"modelbay_feedback_rmse", "RMSE over the labelled rows (regression)",
       [](const FeedbackMetrics& m) { return m.rmse; }},
  };
  std::string out;
  for (const Family& f : kFamilies) {
    std::string samples;
    for (const auto& m : metrics) {
      if (auto v = f.get(m)) {
        fmt::format_to(std::back_inserter(samples), "{}{{model=\"{}\",version=\"{}\"}} {}\n", f.name, m.model,
                       m.version, *v);
      }
    }
    if (!samples.empty()) out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n{}", f.name, f.help, f.name, samples);
  }
  // Per model (every version of a model carries the same figures): the first of each.
  std::map<std::string, const FeedbackMetrics*> models;
  for (const auto& m : metrics) models.try_emplace(m.model, &m);
  out += "# HELP modelbay_feedback_unknown_request_ids Feedback keys (request id, row) matching no shipped prediction\n"
         "# TYPE modelbay_feedback_unknown_request_ids gauge\n";
  for (const auto& [model, m] : models) {
    fmt::format_to(std::back_inserter(out), "modelbay_feedback_unknown_request_ids{{model=\"{}\"}} {}\n", model,
                   m->unknown);
  }
  out += "# HELP modelbay_feedback_evicted_total Logged rows and labels dropped from the feedback join's window "
         "(oldest first)\n"
         "# TYPE modelbay_feedback_evicted_total counter\n";
  for (const auto& [model, m] : models) {
    fmt::format_to(std::back_inserter(out),
                   "modelbay_feedback_evicted_total{{model=\"{}\",kind=\"logged_rows\"}} {}\n"
                   "modelbay_feedback_evicted_total{{model=\"{}\",kind=\"labels\"}} {}\n",
                   model, m->evicted_logged_rows, model, m->evicted_labels);
  }
  return out;
}

Status FeedbackJoin::ReadLogObject(int version, const std::string& key) {
  MB_ASSIGN_OR_RETURN(std::string text, results_->Get(key));
  auto parsed = ParseCsv(std::move(text), key);
  if (!parsed.ok()) return DataLoss(fmt::format("prediction log object {}: {}", key, parsed.status().message()));
  const CsvTable& t = *parsed;
  const long id = Column(t, "request_id"), predicted = Column(t, "prediction");
  if (id < 0 || predicted < 0) {
    return DataLoss(fmt::format("prediction log object {}: no request_id or prediction column", key));
  }
  Version& v = versions_[version];
  std::vector<size_t> prob_cols;
  std::vector<std::string> prob_labels;
  for (size_t c = 0; c < t.cols(); ++c) {
    if (t.header()[c].starts_with("prob_")) {
      prob_cols.push_back(c);
      prob_labels.push_back(t.header()[c].substr(5));
    }
  }
  if (v.prob_labels.empty()) v.prob_labels = prob_labels;
  if (prob_labels != v.prob_labels) {
    return DataLoss(fmt::format("prediction log object {}: its prob_ columns differ from the version's other objects",
                                key));
  }
  std::unordered_map<std::string_view, uint64_t> row_of;  // rows seen per request id in this object
  ObjectRows added{version, {}};
  for (size_t r = 0; r < t.rows(); ++r) {
    const std::string_view rid = t.cell(r, static_cast<size_t>(id));
    const uint64_t row = row_of[rid]++;
    auto [it, fresh] = v.rows.try_emplace(JoinKey(rid, row));
    if (!fresh) continue;  // the first logged row keeps the key
    it->second.predicted = std::string(t.cell(r, static_cast<size_t>(predicted)));
    for (size_t c : prob_cols) it->second.probabilities.push_back(ParseNumber(t.cell(r, c)).value_or(NAN));
    added.keys.push_back(&it->first);  // element pointers survive rehashing
  }
  kept_rows_ += added.keys.size();
  objects_.push_back(std::move(added));
  return Status::Ok();
}

Status FeedbackJoin::ReadFeedbackObject(const std::string& key) {
  MB_ASSIGN_OR_RETURN(std::string text, results_->Get(key));
  auto parsed = ParseCsv(std::move(text), key);
  if (!parsed.ok()) return DataLoss(fmt::format("feedback object {}: {}", key, parsed.status().message()));
  const CsvTable& t = *parsed;
  const long ts = Column(t, "timestamp"), id = Column(t, "request_id"), row = Column(t, "row"),
             label = Column(t, "label");
  if (ts < 0 || id < 0 || row < 0 || label < 0) {
    return DataLoss(fmt::format("feedback object {}: not a feedback log (columns {})", key, FeedbackHeaderLine()));
  }
  for (size_t r = 0; r < t.rows(); ++r) {
    uint64_t n = 0;
    const std::string_view text = t.cell(r, static_cast<size_t>(row));
    std::from_chars(text.data(), text.data() + text.size(), n);
    Label l{std::string(t.cell(r, static_cast<size_t>(ts))), key, std::string(t.cell(r, static_cast<size_t>(label)))};
    auto [it, fresh] = labels_.try_emplace(JoinKey(t.cell(r, static_cast<size_t>(id)), n), l);
    if (fresh) {
      label_order_.push_back(&it->first);
    } else if (std::tie(l.timestamp, l.object) >= std::tie(it->second.timestamp, it->second.object)) {
      it->second = std::move(l);
    }
  }
  return Status::Ok();
}

// Reads every object shipped since the last call: prediction-log objects
// (logs/v<N>/...) and feedback objects (feedback/...), each once.
Status FeedbackJoin::Refresh() {
  const uint64_t seen_before = seen_.size();
  MB_ASSIGN_OR_RETURN(auto logs, results_->List("logs/v"));
  for (const ObjectInfo& o : logs) {
    if (seen_.count(o.key) || !o.key.ends_with(".csv")) continue;
    const std::string_view rest = std::string_view(o.key).substr(6);  // after "logs/v"
    int version = 0;
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), version);
    if (ec != std::errc() || end == rest.data() + rest.size() || *end != '/' || version <= 0) continue;
    MB_RETURN_IF_ERROR(ReadLogObject(version, o.key));
    seen_.insert(o.key);
  }
  MB_ASSIGN_OR_RETURN(auto feedback, results_->List(std::string(kFeedbackKeyPrefix) + "/"));
  std::sort(feedback.begin(), feedback.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  for (const ObjectInfo& o : feedback) {
    if (seen_.count(o.key) || !o.key.ends_with(".csv")) continue;
    MB_RETURN_IF_ERROR(ReadFeedbackObject(o.key));
    seen_.insert(o.key);
  }
  if (seen_.size() != seen_before) {
    Evict();
    ++generation_;  // every cached figure is stale
  }
  return Status::Ok();
}

void FeedbackJoin::Evict() {
  while (kept_rows_ > options_.max_logged_rows && !objects_.empty()) {
    ObjectRows& oldest = objects_.front();
    auto& rows = versions_[oldest.version].rows;
    for (const std::string* key : oldest.keys) {
      if (auto it = rows.find(*key); it != rows.end()) rows.erase(it);
    }
    kept_rows_ -= oldest.keys.size();
    evicted_rows_ += oldest.keys.size();
    objects_.pop_front();
  }
  while (labels_.size() > options_.max_labels && !label_order_.empty()) {
    if (auto it = labels_.find(*label_order_.front()); it != labels_.end()) labels_.erase(it);
    label_order_.pop_front();
    ++evicted_labels_;
  }
}

uint64_t FeedbackJoin::computations() const {
  std::lock_guard lock(mu_);
  return computations_;
}

Result<FeedbackMetrics> FeedbackJoin::Compute(const LoadedModel& model) {
  std::lock_guard lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  if (last_refresh_ == std::chrono::steady_clock::time_point{} || now - last_refresh_ >= options_.min_refresh) {
    MB_RETURN_IF_ERROR(Refresh());
    last_refresh_ = now;
  }
  auto cached = cache_.find(model.version());
  if (cached != cache_.end() && cached->second.first == generation_) return cached->second.second;
  ++computations_;
  FeedbackMetrics m = Join(model);
  cache_[model.version()] = {generation_, m};
  return m;
}

// The figures of `model`'s version over what the join holds now.
FeedbackMetrics FeedbackJoin::Join(const LoadedModel& model) const {
  const Schema& schema = model.schema();
  FeedbackMetrics m;
  m.model = options_.model;
  m.version = model.version();
  m.max_logged_rows = options_.max_logged_rows;
  m.max_labels = options_.max_labels;
  m.evicted_logged_rows = evicted_rows_;
  m.evicted_labels = evicted_labels_;
  m.task = !schema.is_classifier() ? "regression" : schema.class_labels.size() == 2 ? "binary" : "multiclass";
  const Version* mine = nullptr;
  if (auto it = versions_.find(m.version); it != versions_.end()) mine = &it->second;
  m.logged_rows = mine ? mine->rows.size() : 0;
  m.feedback_keys = labels_.size();

  // Step 1: pair each label with this version's row; count the unknown keys.
  std::vector<std::pair<const Logged*, const std::string*>> pairs;
  std::vector<std::string> unknown;
  for (const auto& [key, label] : labels_) {
    if (mine) {
      if (auto it = mine->rows.find(key); it != mine->rows.end()) {
        pairs.emplace_back(&it->second, &label.label);
        continue;
      }
    }
    const bool known = std::any_of(versions_.begin(), versions_.end(),
                                   [&](const auto& v) { return v.second.rows.count(key) > 0; });
    if (!known) {
      ++m.unknown;
      unknown.push_back(key.substr(0, key.find('\n')));
    }
  }
  std::sort(unknown.begin(), unknown.end());
  unknown.erase(std::unique(unknown.begin(), unknown.end()), unknown.end());
  if (unknown.size() > kUnknownExamples) unknown.resize(kUnknownExamples);
  m.unknown_examples = std::move(unknown);
  m.labelled_rows = pairs.size();
  if (pairs.empty()) return m;

  // Step 2: the figures.
  if (!schema.is_classifier()) {
    double sq = 0;
    for (const auto& [logged, label] : pairs) {
      const double d = ParseNumber(logged->predicted).value_or(NAN) - ParseNumber(*label).value_or(NAN);
      sq += d * d;
    }
    m.rmse = std::sqrt(sq / static_cast<double>(pairs.size()));
    return m;
  }
  // Class index in the logged prob_ columns.
  auto index_of = [&](const std::string& label) -> long {
    auto it = std::find(mine->prob_labels.begin(), mine->prob_labels.end(), label);
    return it == mine->prob_labels.end() ? -1 : static_cast<long>(it - mine->prob_labels.begin());
  };
  uint64_t correct = 0;
  double loss = 0;
  bool loss_ok = true;
  const bool binary = schema.class_labels.size() == 2;
  if (binary) m.positive_class = schema.class_labels[1];
  const long positive = binary ? index_of(m.positive_class) : -1;
  std::vector<std::pair<double, bool>> scored;
  for (const auto& [logged, label] : pairs) {
    if (logged->predicted == *label) ++correct;
    const long k = index_of(*label);
    if (k < 0 || logged->probabilities.size() != mine->prob_labels.size()) {
      loss_ok = false;
      continue;
    }
    // Clip, then normalise to sum 1 (scikit-learn's log_loss).
    double sum = 0;
    for (double p : logged->probabilities) sum += std::clamp(p, DBL_EPSILON, 1 - DBL_EPSILON);
    loss -= std::log(std::clamp(logged->probabilities[static_cast<size_t>(k)], DBL_EPSILON, 1 - DBL_EPSILON) / sum);
    if (positive >= 0) scored.emplace_back(logged->probabilities[static_cast<size_t>(positive)], k == positive);
  }
  m.accuracy = static_cast<double>(correct) / static_cast<double>(pairs.size());
  if (loss_ok) m.log_loss = loss / static_cast<double>(pairs.size());
  if (binary && loss_ok) m.auc = Auc(std::move(scored));
  return m;
}

}  // namespace modelbay::monitor
