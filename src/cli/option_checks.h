// Range checks for numeric command-line options, shared by every command.
//
// Each numeric flag states the values it accepts; NaN, infinities, text and
// out-of-range values are refused before the command runs, with the range in
// the message ("--threads: must be an integer from 0 to 1024 (got 100000)").
// The validators work on the option's text, before CLI11 converts it, so
// they also catch what a conversion would silently accept ("nan", "1e300").
#pragma once

#include <cstdint>

#include <CLI/CLI.hpp>

#include "core/status.h"

namespace modelbay {

// A finite decimal number in [lo, hi] ("0.5", "2", "1e3").
CLI::Validator NumberIn(double lo, double hi);
// A whole number in [lo, hi] (no sign for a non-negative range, no fraction,
// no exponent).
CLI::Validator IntegerIn(int64_t lo, int64_t hi);

// The refusal of --json together with --out - (predict, results export,
// models export): stdout carries the data, so a JSON summary there would
// corrupt it, and stderr carries the log. InvalidArgument (exit 2).
Status JsonWithStdoutRefused();

}  // namespace modelbay
