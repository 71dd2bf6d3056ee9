// renkei: entry point.
#include "cli.h"

int main(int argc, char** argv) { return renkei::runCli(argc, argv); }
