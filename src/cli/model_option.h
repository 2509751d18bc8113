// `--model NAME`, shared by every command that works on one model of the
// model store (train, models, predict, results, watch, worker).
// registry/model_name.h has the layout and the name rule.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "core/config.h"
#include "core/status.h"
#include "store/store.h"

namespace modelbay {

// Adds --model NAME, stored in `name` ("" when not given).
CLI::Option* AddModelOption(CLI::App* cmd, std::string& name);

// The stores of the model `name` (as given on the command line; "" and
// "default" are the unnamed model): the whole store for the unnamed model,
// else its models/<name>/ folder. InvalidArgument (exit 2) for a bad name.
Result<std::shared_ptr<Store>> OpenModelStore(const Config& cfg, std::string_view name);
Result<std::shared_ptr<Store>> OpenResultsStore(const Config& cfg, std::string_view name);

}  // namespace modelbay
