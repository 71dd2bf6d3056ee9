// The plugin SDK in one include: what a connector or module source file needs.
#pragma once

#include <Poco/ClassLibrary.h>

#include "renkei/admin.h"
#include "renkei/api.h"
#include "renkei/connector.h"
#include "renkei/files.h"
#include "renkei/outcome.h"
#include "renkei/plugin.h"
#include "renkei/record.h"
#include "renkei/settings.h"
#include "renkei/state.h"
