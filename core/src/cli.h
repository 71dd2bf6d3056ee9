// The renkei command line.
#pragma once

namespace renkei {

/// Runs `renkei <command> ...`; returns the process exit status
/// (0 done, 1 runtime failure, 2 usage or config error).
int runCli(int argc, char** argv);

}  // namespace renkei
