// The console's page, script and style (console_page.cpp), served by the
// admin listener.
#pragma once

namespace renkei::console {

extern const char* const kPageHtml;
extern const char* const kPageCss;
extern const char* const kPageJs;

}  // namespace renkei::console
