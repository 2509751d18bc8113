// Placeholder: this command group is being built (see the open issues).
#include "cli/commands.h"

namespace modelbay {

void RegisterDataCommands(CLI::App&, CliContext&) {}

}  // namespace modelbay
