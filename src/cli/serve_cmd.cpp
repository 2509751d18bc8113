// Placeholder: this command group is being built (see the open issues).
#include "cli/commands.h"

namespace modelbay {

void RegisterServeCommands(CLI::App&, CliContext&) {}

}  // namespace modelbay
