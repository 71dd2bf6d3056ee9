// Fuzz target: frames a window system with a valid certificate could send,
// through the generated processors of every service with the server's own
// protocol limits (the handlers are the generated null ones: what is fuzzed
// is everything a call passes before a handler sees it). A claimed length
// must never become an allocation (ASan reports one over its limit).
#include <thrift/processor/TMultiplexedProcessor.h>
#include <thrift/protocol/TBinaryProtocol.h>
#include <thrift/transport/TBufferTransports.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>

#include "api/RecordService.h"
#if RENKEI_FUZZ_CRM
#include "api/CrmService.h"
#include "api/ResidentService.h"
#endif
#include "api_limits.h"

using namespace renkei;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto mux = [] {
    auto m = std::make_shared<apache::thrift::TMultiplexedProcessor>();
    m->registerProcessor("RecordService",
                         std::make_shared<api::RecordServiceProcessor>(std::make_shared<api::RecordServiceNull>()));
#if RENKEI_FUZZ_CRM  // the crm plugin's services, when it is built
    m->registerProcessor("ResidentService",
                         std::make_shared<api::ResidentServiceProcessor>(std::make_shared<api::ResidentServiceNull>()));
    m->registerProcessor("CrmService",
                         std::make_shared<api::CrmServiceProcessor>(std::make_shared<api::CrmServiceNull>()));
#endif
    return m;
  }();
  namespace tt = apache::thrift::transport;
  auto in = std::make_shared<tt::TMemoryBuffer>(const_cast<std::uint8_t*>(data), static_cast<std::uint32_t>(size),
                                                tt::TMemoryBuffer::OBSERVE);
  auto out = std::make_shared<tt::TMemoryBuffer>();
  apache::thrift::protocol::TBinaryProtocolFactory factory(api_limits::kMaxStringBytes,
                                                           api_limits::kMaxContainerItems, false, true);
  auto pin = factory.getProtocol(in);
  auto pout = factory.getProtocol(out);
  try {
    for (int calls = 0; calls < 16 && mux->process(pin, pout, nullptr); ++calls) {
    }
  } catch (const std::bad_alloc&) {
    std::abort();  // a length the client claimed became an allocation
  } catch (const std::exception&) {
    // A malformed frame: the server closes that connection.
  }
  return 0;
}
