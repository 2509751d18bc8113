// Named models: one model store (and one results store) holds several models,
// each with its own version numbers, aliases and gate. The unnamed model keeps
// the store's root (today's layout, unchanged); a named model NAME lives under
// the folder models/NAME/ with the same layout inside:
//
//   <N>/..., aliases/...            the unnamed model ("default" where a name is needed)
//   models/<NAME>/<N>/...           model NAME's versions
//   models/<NAME>/aliases/...       model NAME's aliases
//
// and in the results store:
//
//   results_<N>.csv, logs/v<N>/...  the unnamed model's prediction log
//   models/<NAME>/results_<N>.csv   model NAME's, with logs/, leases/ and
//                                   checkpoints under models/<NAME>/ too
//
// "models" is neither a version number nor "aliases", so the unnamed model's
// registry never reads a named model's keys as its own (and vice versa: a
// named model only ever sees keys under its folder).
//
// Names: [a-z0-9][a-z0-9_-]{0,62}, not a number. "default" (and no name)
// means the unnamed model.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "store/store.h"

namespace modelbay {

inline constexpr std::string_view kDefaultModelName = "default";
inline constexpr std::string_view kNamedModelsFolder = "models";

// The one parser of model names (CLI --model, HTTP "model", v2 paths):
// "" and "default" -> "" (the unnamed model); a valid name -> itself;
// InvalidArgument saying what a name looks like for anything else.
Result<std::string> ParseModelName(std::string_view name);
// "default" for the unnamed model (""), else the name.
std::string_view DisplayModelName(std::string_view parsed);
// "" for the unnamed model, else "models/<name>/".
std::string ModelKeyPrefix(std::string_view parsed);
// The part of `store` that belongs to the model: the store itself for the
// unnamed model, else a PrefixedStore on models/<name>/. `parsed` comes from
// ParseModelName.
std::shared_ptr<Store> ModelScope(std::shared_ptr<Store> store, std::string_view parsed);
// Named models with at least one committed version in the model store,
// sorted (the unnamed model is not listed).
Result<std::vector<std::string>> ListNamedModels(Store& models);

}  // namespace modelbay
