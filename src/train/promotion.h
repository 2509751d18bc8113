// The promotion gate of `--promote auto` (DESIGN §4; docs/training.md): the
// current production model is scored on the NEW version's holdout and the
// new version is promoted only when it scores no worse (within tolerance).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "core/csv.h"
#include "core/status.h"
#include "model/schema.h"
#include "registry/registry.h"
#include "train/trainer.h"

namespace modelbay {

struct GateInput {
  PromoteMode mode = PromoteMode::kAuto;
  double tolerance = 0;
  const CsvTable* table = nullptr;       // the training data (null: not kept, see trainer.cpp)
  std::span<const uint32_t> holdout;     // its holdout rows
  std::span<const float> labels;         // per table row: class index or value
  const Schema* schema = nullptr;        // the new version's schema
  nlohmann::json new_metrics;            // the new version's holdout metrics
};

struct GateDecision {
  bool promote = false;
  std::string reason;     // one sentence for the user
  nlohmann::json record;  // "promotion" in metadata.json
};

// Decides before the version is published (so the decision is part of its
// metadata). Never fails: a production model that cannot be loaded or cannot
// score this data means "not promoted", with the reason.
GateDecision DecidePromotion(Registry& registry, const GateInput& input);

std::string_view PromoteModeName(PromoteMode mode);

}  // namespace modelbay
