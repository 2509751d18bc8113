// The training flags shared by `train`, `watch` and `worker`: one
// definition, so the three commands spell and check them the same way.
#pragma once

#include <string>
#include <vector>

#include "cli/commands.h"
#include "train/trainer.h"

namespace modelbay {

struct TrainFlags {
  std::string data = "latest";
  std::string target;
  std::vector<std::string> drop;
  std::vector<std::string> column_types;  // COL=numeric|categorical
  std::string params_file;
  double tolerance = 0.0;
  bool allow_unknown_params = false;

  // Adds --target, --drop, --column-type, --params, --allow-unknown-params,
  // --tolerance, and --data
  // when with_data.
  void Add(CLI::App* cmd, bool with_data);
  // TrainOptions from the flags (reads and checks the --params file).
  Result<TrainOptions> Build() const;
};

}  // namespace modelbay
