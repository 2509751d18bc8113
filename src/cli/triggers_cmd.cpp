// Placeholder: this command group is being built (see the open issues).
#include "cli/commands.h"

namespace modelbay {

void RegisterTriggerCommands(CLI::App&, CliContext&) {}

}  // namespace modelbay
