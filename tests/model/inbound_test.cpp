// The messaging edge's inbound form (Twilio's incoming-message webhook) and
// the character count SMS limits use.

#include "model/conversations.hpp"

#include <catch2/catch.hpp>

using namespace sb::model;
using namespace sb::model::cv;

namespace {

form parse(const std::string& text) {
  auto f = form::parse(text);
  REQUIRE(f);
  return *f;
}

} // namespace

TEST_CASE("parse_inbound reads Twilio's incoming-message form", "[model][cv][edge]") {
  auto m = parse_inbound(parse("MessageSid=SM0123&AccountSid=AC1&From=%2B15551230001&To=%2B15550001111"
                               "&Body=Hello+there&NumMedia=0&NumSegments=1&SmsStatus=received&ApiVersion=2010-04-01"));
  REQUIRE(m);
  CHECK(m->type == "sms");
  CHECK(m->from == "+15551230001");
  CHECK(m->to == "+15550001111");
  CHECK(m->body == "Hello there");
  CHECK(m->carrier_sid == "SM0123");
  CHECK(m->media.empty());

  auto wa = parse_inbound(parse("From=whatsapp%3A%2B15551230001&To=whatsapp%3A%2B15550001111&Body="
                                "&NumMedia=2&MediaUrl0=https%3A%2F%2Fm.example%2F1&MediaContentType0=image%2Fjpeg"
                                "&MediaUrl1=http%3A%2F%2Fm.example%2F2&ProfileName=Ann&WaId=15551230001"));
  REQUIRE(wa);
  CHECK(wa->type == "whatsapp");
  REQUIRE(wa->media.size() == 2);
  CHECK(wa->media[0].url == "https://m.example/1");
  CHECK(wa->media[0].content_type == "image/jpeg");
  CHECK(wa->media[1].content_type == "application/octet-stream");
}

TEST_CASE("parse_inbound refuses what cannot be a message", "[model][cv][edge]") {
  auto code = [](const std::string& text) {
    auto m = parse_inbound(parse(text));
    REQUIRE_FALSE(m);
    return m.err().code;
  };
  CHECK(code("To=%2B15550001111&Body=x") == 21212);                           // no From
  CHECK(code("From=hello&To=%2B15550001111&Body=x") == 21212);                // not an address
  CHECK(code("From=%2B15551230001&Body=x") == 21211);                         // no To
  CHECK(code("From=whatsapp%3A%2B15551230001&To=%2B15550001111&Body=x") == 21211); // mixed channels
  CHECK(code("From=%2B15551230001&To=%2B15550001111") == 50511);              // nothing to say
  CHECK(code("From=%2B15551230001&To=%2B15550001111&NumMedia=11&Body=x") == 20001);
  CHECK(code("From=%2B15551230001&To=%2B15550001111&NumMedia=1&Body=x") == 20001); // MediaUrl0 missing
  CHECK(code("From=%2B15551230001&To=%2B15550001111&NumMedia=1&MediaUrl0=ftp%3A%2F%2Fx") == 20001);
  std::string big(limits::body + 1, 'a');
  CHECK(code("From=%2B15551230001&To=%2B15550001111&Body=" + big) == 50511);
}

TEST_CASE("code_points counts characters, not bytes", "[model][cv][edge]") {
  CHECK(code_points("") == 0);
  CHECK(code_points("hello") == 5);
  CHECK(code_points("h\xC3\xA9llo") == 5);          // é is two bytes
  CHECK(code_points("\xF0\x9F\x98\x80!") == 2);     // an emoji is four
}
