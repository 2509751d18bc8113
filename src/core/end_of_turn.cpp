#include "core/end_of_turn.h"

namespace modelbay {
namespace {
thread_local EndOfTurn* t_turn = nullptr;
}  // namespace

EndOfTurn* EndOfTurn::Current() { return t_turn; }
void EndOfTurn::Install(EndOfTurn* turn) { t_turn = turn; }

}  // namespace modelbay
