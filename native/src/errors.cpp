#include "slovo.h"
#include <string>

namespace {
thread_local std::string last_error;
}

namespace slovo {
void set_error(const char* message) { last_error = message ? message : "unknown native error"; }
}  // namespace slovo

// The message of the last failed call on this thread (valid until the next failing call).
SLOVO_API const char* slovo_last_error() { return last_error.c_str(); }
